/**
 * `npm run chaos -- [--seed 3] [--kiosks 8] [--days 60] [--enrollments 80] [--fault-rate 0.05] [--kills 4]`
 *
 * A seeded program played through the public API against an embedded backend that fails as AWS
 * does (FAULT_RATE) and is killed with SIGKILL at random moments, the client retrying every 5xx;
 * then the invariants that must hold whatever happened. Exit 0 when every one holds, 1 when one
 * is broken, 2 when the run could not complete.
 */
import '../lib/embedded/polyfills.js';
import { parseArgs } from 'node:util';
import { formatChaosReport, runChaos } from './sim/chaos.js';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '3' },
    kiosks: { type: 'string', default: '8' },
    days: { type: 'string', default: '60' },
    enrollments: { type: 'string', default: '80' },
    'fault-rate': { type: 'string', default: '0.05' },
    kills: { type: 'string', default: '4' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(
    'usage: npm run chaos -- [--seed 3] [--kiosks 8] [--days 60] [--enrollments 80] [--fault-rate 0.05] [--kills 4]',
  );
  process.exit(0);
}
const number = (name: keyof typeof values) => Number(values[name]);
try {
  const report = await runChaos({
    seed: number('seed'),
    kiosks: number('kiosks'),
    days: number('days'),
    enrollments: number('enrollments'),
    faultRate: number('fault-rate'),
    kills: number('kills'),
    progress: true,
    log: (line) => console.log(line),
  });
  console.log(formatChaosReport(report));
  process.exit(report.holds ? 0 : 1);
} catch (error) {
  console.error(`chaos run failed: ${(error as Error).stack ?? error}`);
  process.exit(2);
}
