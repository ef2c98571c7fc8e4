/**
 * One section of `npm run bench`, in a process of its own: the handlers keep module-scope AWS
 * clients bound to the first embedded backend of a process, and one section's leftovers (timers,
 * JIT state, heap) must not weigh on the next one's figures.
 *
 *   node --import tsx scripts/bench/section.ts <section> '<options JSON>' <result file>
 *
 * The result is written to the file as JSON (stdout may carry handler log lines).
 */
import './env.js';
import { writeFileSync } from 'node:fs';
import { measureIngest } from '../bench-events.js';
import { measureReports } from '../bench-reports.js';
import { measureStore } from '../bench-store.js';
import { measureBundles } from './bundles.js';
import { measureRequestTypes } from './requests.js';
import { measureTransitions } from './transitions.js';

const [section, json, outFile] = process.argv.slice(2);
if (!section || !outFile) throw new Error('usage: section.ts <section> <options JSON> <result file>');
const options = JSON.parse(json ?? '{}') as Record<string, unknown>;
const progress = (line: string) => process.stderr.write(`[bench ${section}] ${line}\n`);

async function run(): Promise<unknown> {
  switch (section) {
    case 'requests':
      return measureRequestTypes({ samples: options.samples as number, progress });
    case 'bundles':
      return measureBundles(options.runs as number);
    case 'ingest':
      return measureIngest({
        events: options.events as number,
        concurrencies: options.concurrencies as number[],
      });
    case 'store':
      return measureStore({
        ops: options.ops as number,
        rounds: options.rounds as number,
        concurrencies: options.concurrencies as number[],
        inProcess: true,
      });
    case 'reports':
      return measureReports({
        events: options.events as number,
        checkpoints: options.checkpoints as number[],
        progress,
        print: (text = '') => {
          if (text.startsWith('checkpoint')) progress(text);
        },
      });
    case 'transitions':
      return measureTransitions();
    default:
      throw new Error(`unknown section ${section}`);
  }
}

writeFileSync(outFile, JSON.stringify((await run()) ?? null));
// Handler modules keep timers and sockets of a stopped backend: the result is written, leave.
process.exit(0);
