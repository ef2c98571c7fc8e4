/**
 * npm run bench:fleet [-- --fleets 100,10000 --silent 0.01]
 *
 * What the kiosk fleet costs, measured on the embedded backend (not timed: counts).
 *
 * For each fleet size N, on a fresh backend with a manual clock: N kiosks register at 0 h (each watched
 * for silence from then on, offlineAfterMinutes 1440); at 12 h and again at 30 h every kiosk but a share
 * `--silent` sends a heartbeat; the fleet sweep runs at four moments, called in-process as the
 * scheduler calls it, and says how many items it read (DynamoDB's own ScannedCount of every query):
 *
 *   quiet        23 h: nothing is due
 *   silence      25 h: the silent share is past its deadline (24 h) and is marked offline
 *   after        26 h: nothing new is due (the offline kiosks are out of the silence index)
 *   next day     48 h, the next UTC midnight: a day of each outage is counted
 *
 * Also: DynamoDB round trips per heartbeat (the embedded store counts requests per operation).
 */
import './bench/env.js';
import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ScheduledRun } from '../functions/core/schedule.js';
import { isManual } from '../lib/embedded/clock.js';
import { functions } from '../lib/manifest.js';
import {
  countRequests,
  decimal,
  directSender,
  inPool,
  integer,
  memoryBackedDir,
  perEventOperations,
  registerKiosk,
  startBenchBackend,
  table,
} from './bench/common.js';

const { values } = parseArgs({
  options: {
    fleets: { type: 'string', default: '100,10000' },
    silent: { type: 'string', default: '0.01' },
    concurrency: { type: 'string', default: '16' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log('npm run bench:fleet -- [--fleets 100,10000] [--silent 0.01] [--concurrency 16]');
  process.exit(0);
}
const fleets = values.fleets.split(',').map((n) => Number(n.replace(/_/g, '')));
const silentShare = Number(values.silent);
const concurrency = Number(values.concurrency);

const START = Date.parse('2026-06-01T00:00:00.000Z');
const HOUR = 3_600_000;

type Sweep = (event: unknown, context: unknown) => Promise<ScheduledRun & { itemsRead: number }>;

async function measure(size: number) {
  const bench = await startBenchBackend({
    base: memoryBackedDir(),
    env: { TIME_SCALE: 'manual', CLOCK_START: new Date(START).toISOString() },
  });
  const { backend } = bench;
  try {
    const clock = backend.clock;
    if (!isManual(clock)) throw new Error('the bench needs a manual clock');
    const sweep = (
      (await import(pathToFileURL(`${process.cwd()}/${functions.fleetSweep.entry}`).href)) as {
        handler: Sweep;
      }
    ).handler;
    const run = async (at: number) => {
      clock.manual.set(new Date(at));
      const result = await sweep({}, { functionName: 'fleetSweep', getRemainingTimeInMillis: () => 60_000 });
      return result;
    };

    // N kiosks, registered at START.
    const kiosks: Awaited<ReturnType<typeof registerKiosk>>[] = new Array(size);
    await inPool(size, concurrency, async (i) => {
      kiosks[i] = await registerKiosk(backend.url, {
        kioskId: `K-BENCH-${String(i).padStart(6, '0')}`,
        siteId: `site-${i % 50}`,
        lowStockThreshold: 5,
        inventory: { 'naloxone-nasal-4mg': 40 },
      });
    });

    // Every kiosk but the silent share says it is alive, at `at`.
    const silentEvery = silentShare > 0 ? Math.round(1 / silentShare) : Number.POSITIVE_INFINITY;
    const alive = kiosks.filter((_, i) => i % silentEvery !== 0);
    const send = await directSender();
    const heartbeatRound = (at: number) => {
      clock.manual.set(new Date(at));
      return countRequests(backend, () =>
        inPool(alive.length, concurrency, async (i) => {
          const kiosk = alive[i]!;
          const raw = JSON.stringify({
            eventId: crypto.randomUUID(),
            type: 'heartbeat',
            occurredAt: new Date(at).toISOString(),
            temperatureC: 21,
          });
          const answer = await send(kiosk, raw);
          if (answer.status !== 201) throw new Error(`heartbeat answered ${answer.status} ${answer.body}`);
        }),
      );
    };

    const heartbeats = await heartbeatRound(START + 12 * HOUR);
    const quiet = await run(START + 23 * HOUR);
    const silence = await run(START + 25 * HOUR);
    const after = await run(START + 26 * HOUR);
    await heartbeatRound(START + 30 * HOUR);
    const nextDay = await run(START + 48 * HOUR);
    return { size, alive: alive.length, heartbeats: heartbeats.requests, quiet, silence, after, nextDay };
  } finally {
    await bench.stop();
  }
}

type Result = Awaited<ReturnType<typeof measure>>;
if (values.json) {
  // One fleet in this process (the handlers' DynamoDB client is made once per process, for one backend).
  console.log(JSON.stringify(await measure(fleets[0]!)));
  process.exit(0);
}
const results: Result[] = [];
for (const size of fleets) {
  process.stderr.write(`fleet of ${integer(size)} kiosks…\n`);
  const output = execFileSync(
    process.execPath,
    [
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--json',
      '--fleets',
      String(size),
      '--silent',
      String(silentShare),
      '--concurrency',
      String(concurrency),
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 },
  );
  results.push(JSON.parse(output.trim().split('\n').at(-1)!) as Result);
}

console.log(
  `\nFleet sweep: items read per run (DynamoDB ScannedCount of every query), ${decimal(silentShare * 100, 0)} % of kiosks silent\n`,
);
console.log(
  table(
    ['kiosks', 'quiet run', 'marking silent', 'marked', 'next run', 'next midnight', 'outage days counted'],
    results.map((r) => [
      integer(r.size),
      integer(r.quiet.itemsRead),
      integer(r.silence.itemsRead),
      integer(r.silence.done.silent ?? 0),
      integer(r.after.itemsRead),
      integer(r.nextDay.itemsRead),
      integer(r.nextDay.done.counted ?? 0),
    ]),
  ),
);
console.log('\nHeartbeats: DynamoDB round trips per heartbeat\n');
console.log(
  table(
    ['kiosks', 'heartbeats', 'round trips', 'per heartbeat'],
    results.map((r) => [
      integer(r.size),
      integer(r.alive),
      integer(r.heartbeats.requests),
      perEventOperations(r.heartbeats, r.alive),
    ]),
  ),
);
process.exit(0);
