/**
 * `npm run bench:events`: kiosk event ingestion on the embedded backend, over HTTP.
 *
 * Starts the embedded backend (a temporary data directory on disk, a free port),
 * registers kiosks, and sends signed kiosk events through the local API gateway:
 *
 * 1. DynamoDB round trips per event, from `backend.dynamo.stats()` deltas, one kind at a
 *    time (sent one by one, so nothing else is counted): a new dispense, the same batch
 *    again as duplicates, a dispense with a contact request, a dispense that raises a
 *    low-stock alert, a fault. Notifications add the outbox delete after the publish.
 * 2. Throughput and latency sequentially (concurrency 1, new events only).
 * 3. Throughput and latency at --concurrency, with --duplicates of the events being
 *    retries of events already recorded.
 *
 *   npm run bench:events -- [--events 2000] [--concurrency 32] [--duplicates 0.3] [--kiosks 20]
 *                    [--sequential 200] [--batch 50] [--json]
 *
 * The tables go to stdout; with --json they go to stderr and stdout gets one JSON document.
 */
import './bench/env.js';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import {
  countRequests,
  type DynamoCount,
  decimal,
  directSender,
  type EventAnswer,
  httpSender,
  inPool,
  integer,
  type Kiosk,
  type LatencySummary,
  memoryBackedDir,
  parseCount,
  parseFraction,
  perEventOperations,
  registerKiosk,
  requestsBetween,
  type SendEvent,
  seeded,
  startBenchBackend,
  summarize,
  table,
  timedIngest,
  warmUpOf,
} from './bench/common.js';
import type { KioskLoad, KioskLoadResult } from './bench/kiosk-load.js';

export interface IngestFigure {
  readonly via: 'http' | 'direct';
  readonly inFlight: number;
  readonly events: number;
  readonly perSecond: number;
  readonly p50Ms: number;
  /** Transactions cancelled because another one held an item (a counter, the kiosk), per event sent. */
  readonly conflictsPerEvent: number;
}

/**
 * New kiosk events per second (no duplicates, stock far above the threshold: nothing waits for
 * anything but the machine) at each number in flight: over HTTP through the embedded gateway from
 * kiosks in a process of their own (scripts/bench/kiosk-load.ts), and handed to the handler
 * in-process (`direct`: the same code minus the socket and the client). A warm-up of
 * `events / 4` precedes each figure.
 */
export async function measureIngest(
  options: {
    events?: number;
    concurrencies?: readonly number[];
    kiosks?: number;
    via?: readonly ('http' | 'direct')[];
  } = {},
): Promise<IngestFigure[]> {
  const events = Math.max(1, options.events ?? 2000);
  const bench = await startBenchBackend({ base: memoryBackedDir() });
  try {
    const kiosks = await Promise.all(
      Array.from({ length: Math.max(1, options.kiosks ?? 20) }, (_, i) =>
        registerKiosk(bench.backend.url, {
          kioskId: `BENCH-IN${String(i + 1).padStart(3, '0')}`,
          siteId: `site-${(i % 5) + 1}`,
          lowStockThreshold: 5,
          inventory: { 'naloxone-nasal-4mg': 100_000 }, // the contract's maximum; far above what a run takes
        }),
      ),
    );
    const figures: IngestFigure[] = [];
    for (const via of options.via ?? ['http', 'direct']) {
      for (const inFlight of options.concurrencies ?? [1, 8, 32]) {
        const conflictsBefore = bench.backend.dynamo.stats().transactionConflicts;
        const run =
          via === 'http'
            ? await kioskLoad({ url: bench.backend.url, kiosks, events, inFlight })
            : await timedIngest(await direct(), kiosks, events, inFlight);
        const conflicts = bench.backend.dynamo.stats().transactionConflicts - conflictsBefore;
        figures.push({
          via,
          inFlight,
          events,
          perSecond: events / run.seconds,
          p50Ms: run.p50Ms,
          conflictsPerEvent: conflicts / (events + warmUpOf(events, inFlight)),
        });
      }
    }
    return figures;
  } finally {
    await bench.stop();
  }
}

let directSend: SendEvent | undefined;
const direct = async () => {
  directSend ??= await directSender();
  return directSend;
};

/** The same over HTTP, from kiosks in a child process: the backend's process serves, and only serves. */
function kioskLoad(load: KioskLoad): Promise<KioskLoadResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--import',
        'tsx',
        fileURLToPath(new URL('./bench/kiosk-load.ts', import.meta.url)),
        JSON.stringify(load),
      ],
      { maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`kiosk load failed: ${stderr || error.message}`));
        else resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as KioskLoadResult);
      },
    );
  });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: flags } = parseArgs({
    options: {
      events: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '32' },
      duplicates: { type: 'string', default: '0.3' },
      kiosks: { type: 'string', default: '20' },
      sequential: { type: 'string', default: '200' },
      batch: { type: 'string', default: '50' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

  if (flags.help) {
    console.log(
      'npm run bench:events -- [--events 2000] [--concurrency 32] [--duplicates 0.3] [--kiosks 20] [--sequential 200] [--batch 50] [--json]',
    );
    process.exit(0);
  }

  const config = {
    events: parseCount(flags.events, 'events'),
    concurrency: Math.max(1, parseCount(flags.concurrency, 'concurrency')),
    duplicates: parseFraction(flags.duplicates, 'duplicates'),
    kiosks: Math.max(1, parseCount(flags.kiosks, 'kiosks')),
    sequential: parseCount(flags.sequential, 'sequential'),
    batch: Math.max(1, parseCount(flags.batch, 'batch')),
  };
  const print = (text = '') => (flags.json ? process.stderr : process.stdout).write(`${text}\n`);

  const SKU = 'naloxone-nasal-4mg';
  const LOW_STOCK_THRESHOLD = 5;
  const random = seeded(20_240_601);

  interface Send {
    readonly kiosk: Kiosk;
    readonly raw: string;
  }

  function dispense(extra: Record<string, unknown> = {}): string {
    return JSON.stringify({
      eventId: randomUUID(),
      type: 'dispense',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      items: [{ sku: SKU, quantity: 1 }],
      ...extra,
    });
  }

  function fault(): string {
    return JSON.stringify({
      eventId: randomUUID(),
      type: 'fault',
      occurredAt: new Date(Date.now() - 60_000).toISOString(),
      code: 'vend_failure',
    });
  }

  const bench = await startBenchBackend();
  const { backend } = bench;
  const send = httpSender(backend.url);

  function expect(answer: EventAnswer, status: number, what: string) {
    if (answer.status !== status) {
      throw new Error(`${what}: expected ${status}, got ${answer.status} ${answer.body}`);
    }
  }

  function outboxLines(): number {
    try {
      return readFileSync(backend.outboxFile, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  }

  interface RoundTrips {
    readonly kind: string;
    readonly events: number;
    readonly perEvent: number;
    readonly operationsPerEvent: string;
    readonly notificationsPublished: number;
    readonly requests: DynamoCount;
  }

  /** Sends the batch one event at a time and counts what DynamoDB was asked. */
  async function roundTrips(kind: string, batch: readonly Send[], status: number): Promise<RoundTrips> {
    const published = outboxLines();
    const { requests } = await countRequests(backend, async () => {
      for (const { kiosk, raw } of batch) expect(await send(kiosk, raw), status, kind);
    });
    return {
      kind,
      events: batch.length,
      perEvent: requests.requests / batch.length,
      operationsPerEvent: perEventOperations(requests, batch.length),
      notificationsPublished: outboxLines() - published,
      requests,
    };
  }

  interface Throughput {
    readonly run: string;
    readonly events: number;
    readonly concurrency: number;
    readonly seconds: number;
    readonly eventsPerSecond: number;
    readonly latencyMs: LatencySummary;
    readonly newEvents: LatencySummary;
    readonly duplicateEvents: LatencySummary;
    readonly requests: DynamoCount;
    readonly requestsPerEvent: number;
  }

  /**
   * `count` events at `concurrency`; a `duplicateShare` of them re-send (re-signed, same
   * body) an event already answered, so every duplicate is a real retry of a recorded event.
   */
  async function throughput(
    run: string,
    count: number,
    concurrency: number,
    duplicateShare: number,
  ): Promise<Throughput> {
    const recorded: Send[] = [];
    const all: number[] = [];
    const fresh: number[] = [];
    const retried: number[] = [];
    const before = backend.dynamo.stats();
    const started = performance.now();
    await inPool(count, concurrency, async (index) => {
      const duplicate =
        recorded.length > 0 && Math.floor((index + 1) * duplicateShare) > Math.floor(index * duplicateShare);
      const item = duplicate
        ? recorded[Math.floor(random() * recorded.length)]
        : { kiosk: kiosks[Math.floor(random() * kiosks.length)], raw: dispense() };
      const t0 = performance.now();
      const answer = await send(item.kiosk, item.raw);
      const ms = performance.now() - t0;
      expect(answer, duplicate ? 200 : 201, run);
      all.push(ms);
      (duplicate ? retried : fresh).push(ms);
      if (!duplicate) recorded.push(item);
    });
    const seconds = (performance.now() - started) / 1000;
    const requests = requestsBetween(before, backend.dynamo.stats());
    return {
      run,
      events: count,
      concurrency,
      seconds,
      eventsPerSecond: count / seconds,
      latencyMs: summarize(all),
      newEvents: summarize(fresh),
      duplicateEvents: summarize(retried),
      requests,
      requestsPerEvent: requests.requests / count,
    };
  }

  let kiosks: Kiosk[] = [];
  try {
    print(`Bridgeway kiosk-event bench: embedded backend at ${backend.url}, data in ${bench.dataDir}`);
    kiosks = await Promise.all(
      Array.from({ length: config.kiosks }, (_, i) =>
        registerKiosk(backend.url, {
          kioskId: `BENCH-K${String(i + 1).padStart(3, '0')}`,
          siteId: `site-${(i % 5) + 1}`,
          lowStockThreshold: LOW_STOCK_THRESHOLD,
          inventory: { [SKU]: 100_000 },
        }),
      ),
    );
    // One unit above the threshold: the next dispense is the one that raises the alert.
    const nearlyEmpty = await Promise.all(
      Array.from({ length: 2 * config.batch }, (_, i) =>
        registerKiosk(backend.url, {
          kioskId: `BENCH-LOW${String(i + 1).padStart(3, '0')}`,
          siteId: 'site-1',
          lowStockThreshold: LOW_STOCK_THRESHOLD,
          inventory: { [SKU]: LOW_STOCK_THRESHOLD + 1 },
        }),
      ),
    );
    const kioskAt = (i: number) => kiosks[i % kiosks.length];

    // Warm-up (module code paths, JIT, the kiosks' secrets cache); not measured.
    for (let i = 0; i < Math.min(2 * config.kiosks, 100); i += 1) {
      expect(await send(kioskAt(i), dispense()), 201, 'warm-up');
    }

    const newBatch = Array.from({ length: config.batch }, (_, i) => ({ kiosk: kioskAt(i), raw: dispense() }));
    const perKind: RoundTrips[] = [
      await roundTrips('new dispense', newBatch, 201),
      await roundTrips('duplicate (same batch again)', newBatch, 200),
      await roundTrips(
        'dispense + contact request',
        Array.from({ length: config.batch }, (_, i) => ({
          kiosk: kioskAt(i),
          raw: dispense({ contactRequest: { phone: '+15555550123', topic: 'treatment' } }),
        })),
        201,
      ),
      await roundTrips(
        'dispense + low-stock alert',
        nearlyEmpty.slice(0, config.batch).map((kiosk) => ({ kiosk, raw: dispense() })),
        201,
      ),
      await roundTrips(
        'dispense + contact + low-stock',
        nearlyEmpty.slice(config.batch).map((kiosk) => ({
          kiosk,
          raw: dispense({ contactRequest: { phone: '+15555550123', topic: 'naloxone-training' } }),
        })),
        201,
      ),
      await roundTrips(
        'fault (kiosk-ops notice)',
        Array.from({ length: config.batch }, (_, i) => ({ kiosk: kioskAt(i), raw: fault() })),
        201,
      ),
    ];

    const runs: Throughput[] = [];
    if (config.sequential > 0) runs.push(await throughput('sequential, new only', config.sequential, 1, 0));
    if (config.events > 0) {
      runs.push(
        await throughput(
          `concurrent, ${Math.round(config.duplicates * 100)}% duplicates`,
          config.events,
          config.concurrency,
          config.duplicates,
        ),
      );
    }

    print();
    print(
      `DynamoDB round trips per event (backend.dynamo.stats() deltas, ${config.batch} events per kind, sent one at a time)`,
    );
    print(
      table(
        ['event', 'events', 'round trips/event', 'notices/event', 'operations per event'],
        perKind.map((row) => [
          row.kind,
          integer(row.events),
          decimal(row.perEvent),
          decimal(row.notificationsPublished / row.events),
          row.operationsPerEvent,
        ]),
      ),
    );
    print();
    print(`Throughput over HTTP (${config.kiosks} kiosks, signed requests, fetch keep-alive)`);
    const latencyCells = (summary: LatencySummary) =>
      summary.count === 0
        ? ['-', '-', '-']
        : [decimal(summary.p50), decimal(summary.p95), decimal(summary.p99)];
    print(
      table(
        ['run', 'events', 'concurrency', 'events/s', 'p50 ms', 'p95 ms', 'p99 ms', 'round trips/event'],
        runs.flatMap((run) => [
          [
            run.run,
            integer(run.events),
            String(run.concurrency),
            decimal(run.eventsPerSecond, 0),
            ...latencyCells(run.latencyMs),
            decimal(run.requestsPerEvent),
          ],
          ...(run.duplicateEvents.count > 0
            ? [
                [
                  '  new events only',
                  integer(run.newEvents.count),
                  '',
                  '',
                  ...latencyCells(run.newEvents),
                  '',
                ],
                [
                  '  duplicates only',
                  integer(run.duplicateEvents.count),
                  '',
                  '',
                  ...latencyCells(run.duplicateEvents),
                  '',
                ],
              ]
            : []),
        ]),
      ),
    );

    if (flags.json) {
      process.stdout.write(
        `${JSON.stringify(
          {
            benchmark: 'kiosk-events',
            config,
            node: process.version,
            roundTrips: perKind,
            throughput: runs,
          },
          null,
          2,
        )}\n`,
      );
    }
  } finally {
    await bench.stop();
  }
}
