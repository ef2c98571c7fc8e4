/**
 * The kiosks of the ingest benchmark, in a process of their own: real kiosks are not in the
 * backend's process, and a load generator sharing it would bill its own HTTP client (fetch is
 * about 0.3 ms of CPU a request here) to the backend's figure.
 *
 *   node --import tsx scripts/bench/kiosk-load.ts '<KioskLoad JSON>'
 *
 * Runs `timedIngest` (scripts/bench/common.ts) over node:http and prints one JSON line: the
 * measured run's seconds and p50 latency.
 */
import { type Kiosk, nodeHttpSender, timedIngest } from './common.js';

export interface KioskLoad {
  readonly url: string;
  readonly kiosks: readonly Kiosk[];
  readonly events: number;
  readonly inFlight: number;
}

export type KioskLoadResult = Awaited<ReturnType<typeof timedIngest>>;

if (process.argv[2]) {
  const load = JSON.parse(process.argv[2]) as KioskLoad;
  const result = await timedIngest(
    nodeHttpSender(load.url, load.inFlight),
    load.kiosks,
    load.events,
    load.inFlight,
  );
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}
