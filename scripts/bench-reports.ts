/**
 * `npm run bench:reports`: what a report reads does not grow with the number of events.
 *
 * The embedded backend (startBackend; its data directory on tmpfs when the machine has
 * /dev/shm, so the store's journal lives in RAM) gets a fixed
 * shape: --sites sites × --days days, --kiosks-per-site kiosks each. The first
 * sites × days events cover every (day, site) once; after that events land on random
 * days and sites of the same shape, up to --events. At each checkpoint the naloxone
 * report for the whole range is asked for over HTTP (GET /v1/reports/naloxone?raw=true)
 * and the bench prints its `itemsRead`, the DynamoDB requests it cost (stats delta),
 * its latency, and the event counts it returns (proof that the events are there).
 *
 * Events are signed kiosk events handed to the kioskEvents Lambda handler in-process
 * (--via direct: the gateway's REST proxy event, minus the socket), or POSTed over
 * HTTP (--via http). The backend clock is manual and stands still (CLOCK_START), so the
 * 30 days are always 2025-01-02..2025-01-31. Progress (events/s, ETA) goes to stderr.
 *
 *   npm run bench:reports -- [--events 1000000] [--checkpoints 10000,100000,1000000]
 *       [--sites 10] [--days 30] [--kiosks-per-site 3] [--concurrency 8]
 *       [--via direct|http] [--dir /dev/shm] [--report-runs 3] [--json]
 */
import './bench/env.js';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { AGGREGATE_SHARDS, aggregatePartitions } from '../functions/core/aggregates.js';
import {
  adminGet,
  type DynamoCount,
  decimal,
  directSender,
  duration,
  httpSender,
  inPool,
  integer,
  type Kiosk,
  memoryBackedDir,
  parseCount,
  perEventOperations,
  registerKiosk,
  requestsBetween,
  seeded,
  startBenchBackend,
  table,
} from './bench/common.js';

interface NaloxoneReport {
  itemsRead: number;
  dispenseEvents: number;
  restockEvents: number;
  faultEvents: number;
  contactRequests: number;
  naloxoneKitsDispensed: number;
  bySite: unknown[];
  byDay: unknown[];
}

interface Latency {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

interface Checkpoint {
  readonly events: number;
  /** dispense + restock + fault events in the report: every event sent, if all were recorded. */
  readonly recordedInReport: number;
  readonly dispenseEvents: number;
  readonly itemsRead: number;
  readonly sitesInReport: number;
  readonly daysInReport: number;
  readonly reportRequests: DynamoCount;
  readonly reportOperations: string;
  readonly reportLatencyMs: Latency;
  /**
   * The report's DynamoDB query alone, sent straight to the embedded endpoint after the
   * report runs: tells the store's share of the latency from the handler's and HTTP's.
   */
  readonly queryLatencyMs: Latency;
  /** Counters per aggregate item (the item's width: bounded by SKUs, zips, survey answers). */
  readonly countersPerItem: number;
  readonly populationSeconds: number;
  readonly populationEventsPerSecond: number;
}

export interface ReportsOptions {
  /** Events sent in all; each checkpoint (≤ events) measures the report. */
  readonly events: number;
  readonly checkpoints?: readonly number[];
  readonly sites?: number;
  readonly days?: number;
  readonly kiosksPerSite?: number;
  readonly concurrency?: number;
  readonly via?: 'direct' | 'http';
  readonly dir?: string;
  readonly reportRuns?: number;
  readonly seed?: number;
  /** Result lines (stdout for the CLI); progress goes to `progress` (stderr). */
  readonly print?: (text?: string) => void;
  readonly progress?: (text: string) => void;
}

export interface ReportsResult {
  readonly config: Record<string, unknown>;
  readonly checkpoints: Checkpoint[];
  readonly itemsReadConstant: boolean;
  readonly allRecorded: boolean;
  /** Sends again after a 503 (too many concurrent changes to one kiosk), as a kiosk would. */
  readonly retriedAfter503: number;
  /** Events answered neither 201 nor (after resending) 503, and the first answers of them. */
  readonly refused: number;
  readonly refusals: readonly string[];
}

/**
 * Populates the embedded backend through the kiosk-events handler (manual clock, standing still)
 * and measures the naloxone report at each checkpoint.
 */
export async function measureReports(options: ReportsOptions): Promise<ReportsResult> {
  const events = options.events;
  const sites = Math.max(1, options.sites ?? 10);
  const days = options.days ?? 30;
  if (days < 1 || days > 30)
    throw new Error('--days must be 1..30 (kiosk events may be at most 30 days old)');
  const shape = sites * days;
  // Counters are sharded by writer (functions/core/aggregates.ts): one item per (day, site, shard
  // of a kiosk that wrote that day), so at most this many, however many events.
  const bound = shape * Math.min(Math.max(1, options.kiosksPerSite ?? 3), AGGREGATE_SHARDS);
  const checkpoints = [
    ...new Set(
      [...(options.checkpoints ?? [10_000, 100_000, 1_000_000]), events].filter(
        (count) => count > 0 && count <= events,
      ),
    ),
  ].sort((a, b) => a - b);
  if (checkpoints[0] !== undefined && checkpoints[0] < shape) {
    throw new Error(
      `the first checkpoint (${checkpoints[0]}) must cover the shape: ${sites} sites × ${days} days`,
    );
  }
  const config = {
    events,
    checkpoints,
    sites,
    days,
    kiosksPerSite: Math.max(1, options.kiosksPerSite ?? 3),
    concurrency: Math.max(1, options.concurrency ?? 8),
    via: options.via ?? 'direct',
    dir: options.dir ?? memoryBackedDir(),
    reportRuns: Math.max(1, options.reportRuns ?? 3),
    seed: options.seed ?? 42,
  };
  const print = options.print ?? (() => undefined);
  const progress = options.progress ?? (() => undefined);

  // The backend clock stands at noon on the last day.
  const CLOCK_START = '2025-01-31T12:00:00.000Z';
  const LAST_DAY_MS = Date.parse('2025-01-31T00:00:00.000Z');
  const DAY_MS = 86_400_000;
  const dayList = Array.from({ length: days }, (_, i) =>
    new Date(LAST_DAY_MS - (days - 1 - i) * DAY_MS).toISOString().slice(0, 10),
  );
  const from = dayList[0];
  const to = dayList[dayList.length - 1];

  const SKUS = ['naloxone-nasal-4mg', 'naloxone-nasal-8mg', 'naloxone-im-0.4mg', 'fentanyl-test-strips'];
  const ZIPS = ['02118', '02119', '02120', '02121', '02124', '02125', '02126', '02127'];
  const FOR_WHOM = ['self', 'other', 'both', 'unspecified'];
  const random = seeded(config.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];

  /**
   * Event `index`: the first sites × days events cover each (day, site) once, the rest
   * fall on random days and sites. 97% dispenses (half with a survey, 1% with a contact
   * request), 2% restocks (they keep the stock up), 1% faults. Stock stays far above the
   * threshold, so dispenses never wait for one another.
   */
  function eventAt(index: number, kioskSets: readonly (readonly Kiosk[])[]): { kiosk: Kiosk; raw: string } {
    const site = index < shape ? index % sites : Math.floor(random() * sites);
    const day = index < shape ? Math.floor(index / sites) : Math.floor(random() * days);
    const kiosk = pick(kioskSets[site]);
    const occurredAt = new Date(
      Date.parse(`${dayList[day]}T00:00:00.000Z`) + Math.floor(random() * 12 * 3600) * 1000,
    ).toISOString();
    const base = { eventId: randomUUID(), occurredAt };
    const kind = random();
    if (kind < 0.02) {
      return {
        kiosk,
        raw: JSON.stringify({ ...base, type: 'restock', items: SKUS.map((sku) => ({ sku, quantity: 200 })) }),
      };
    }
    if (kind < 0.03) return { kiosk, raw: JSON.stringify({ ...base, type: 'fault', code: 'door_open' }) };
    const items = [{ sku: pick(SKUS), quantity: 1 + Math.floor(random() * 2) }];
    const body: Record<string, unknown> = { ...base, type: 'dispense', items };
    if (random() < 0.5) body.survey = { zip: pick(ZIPS), firstTime: random() < 0.3, forWhom: pick(FOR_WHOM) };
    if (random() < 0.01) body.contactRequest = { phone: '+15555550123', topic: 'treatment' };
    return { kiosk, raw: JSON.stringify(body) };
  }

  function latency(samples: readonly number[]): Latency {
    const sorted = [...samples].sort((a, b) => a - b);
    const round = (ms: number) => Math.round(ms * 100) / 100;
    return {
      median: round(sorted[Math.floor((sorted.length - 1) / 2)]),
      min: round(sorted[0]),
      max: round(sorted[sorted.length - 1]),
    };
  }

  // The manual clock: the backend's time stands still (nothing scheduled runs in the middle of a
  // population), and every day of the range stays within the 30 days a kiosk event may be late.
  const bench = await startBenchBackend({ base: config.dir, env: { CLOCK_START, TIME_SCALE: 'manual' } });
  const { backend } = bench;

  const dynamo = new DynamoDBClient({ endpoint: backend.dynamo.endpoint });

  /** The queries functions/adapters/aggregates-store.ts sends for [from, to]: every shard of the month. */
  async function queryAggregates(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for (const partition of aggregatePartitions('naloxone', from.slice(0, 7))) {
      let startKey: QueryCommand['input']['ExclusiveStartKey'];
      do {
        const page = await dynamo.send(
          new QueryCommand({
            TableName: process.env.TABLE_AGGREGATES,
            KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
            ExpressionAttributeValues: {
              ':pk': { S: partition },
              ':from': { S: `${from}#` },
              ':to': { S: `${to}$` },
            },
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...(page.Items ?? []));
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return items;
  }

  async function measureReport(events: number, populationSeconds: number): Promise<Checkpoint> {
    const path = `/v1/reports/naloxone?from=${from}&to=${to}&raw=true`;
    const latencies: number[] = [];
    let report: NaloxoneReport | undefined;
    let requests: DynamoCount | undefined;
    for (let run = 0; run < config.reportRuns; run += 1) {
      // The outbox relay publishes the population's notices from the stream: done before the report is counted.
      await backend.streams.drained();
      const before = backend.dynamo.stats();
      const started = performance.now();
      const answer = await adminGet<NaloxoneReport>(backend.url, path);
      latencies.push(performance.now() - started);
      const cost = requestsBetween(before, backend.dynamo.stats());
      if (requests && cost.requests !== requests.requests) {
        throw new Error(
          `report cost ${cost.requests} requests, earlier ${requests.requests}: something else ran`,
        );
      }
      requests = cost;
      report = answer.body;
    }
    if (!report || !requests) throw new Error('no report');
    const queries: number[] = [];
    let counters = 0;
    for (let run = 0; run < config.reportRuns; run += 1) {
      const started = performance.now();
      const items = await queryAggregates();
      queries.push(performance.now() - started);
      if (items.length !== report.itemsRead) {
        throw new Error(`the query found ${items.length} items, the report read ${report.itemsRead}`);
      }
      counters = items.reduce((sum, item) => sum + Object.keys(item).length - 2, 0);
    }
    return {
      events,
      recordedInReport: report.dispenseEvents + report.restockEvents + report.faultEvents,
      dispenseEvents: report.dispenseEvents,
      itemsRead: report.itemsRead,
      sitesInReport: report.bySite.length,
      daysInReport: report.byDay.length,
      reportRequests: requests,
      reportOperations: perEventOperations(requests, 1),
      reportLatencyMs: latency(latencies),
      queryLatencyMs: latency(queries),
      countersPerItem: Math.round((counters / Math.max(1, report.itemsRead)) * 10) / 10,
      populationSeconds: Math.round(populationSeconds * 10) / 10,
      populationEventsPerSecond: Math.round(events / populationSeconds),
    };
  }

  const checkpointRow = (c: Checkpoint) => [
    integer(c.events),
    integer(c.recordedInReport),
    integer(c.dispenseEvents),
    integer(c.itemsRead),
    `${c.sitesInReport}×${c.daysInReport}`,
    String(c.reportRequests.requests),
    decimal(c.reportLatencyMs.median),
    `${decimal(c.reportLatencyMs.min)}-${decimal(c.reportLatencyMs.max)}`,
    decimal(c.queryLatencyMs.median),
    decimal(c.countersPerItem, 1),
    integer(c.populationEventsPerSecond),
  ];
  const CHECKPOINT_HEADER = [
    'events sent',
    'in report',
    'dispenseEvents',
    'itemsRead',
    'sites×days',
    'report requests',
    'report ms (median)',
    'min-max ms',
    'query ms',
    'counters/item',
    'population ev/s',
  ];

  try {
    print(
      `Bridgeway report bench: ${integer(events)} events on ${sites} sites × ${days} days (${from}..${to}), ` +
        `${config.kiosksPerSite} kiosks per site, via ${config.via}, concurrency ${config.concurrency}`,
    );
    print(
      `Embedded backend at ${backend.url}, data in ${bench.dataDir}; checkpoints ${checkpoints.map(integer).join(', ')}`,
    );
    print(
      `A report reads aggregate items, one per (day, site, writer shard): at most ${sites} × ${days} × ${bound / shape} = ${bound}`,
    );

    const inventory = Object.fromEntries(SKUS.map((sku) => [sku, 100_000]));
    const kioskSets = await Promise.all(
      Array.from({ length: sites }, (_, site) =>
        Promise.all(
          Array.from({ length: config.kiosksPerSite }, (_, k) =>
            registerKiosk(backend.url, {
              kioskId: `BENCH-S${String(site + 1).padStart(2, '0')}-K${k + 1}`,
              siteId: `site-${String(site + 1).padStart(2, '0')}`,
              lowStockThreshold: 10,
              inventory,
            }),
          ),
        ),
      ),
    );
    const send = config.via === 'direct' ? await directSender() : httpSender(backend.url);

    let done = 0;
    let failed = 0;
    let retried = 0;
    const failures: string[] = [];
    let populationMs = 0;
    let segmentStart = performance.now();
    let windowStart = { at: segmentStart, done: 0 };
    const ticker = setInterval(() => {
      const now = performance.now();
      const recent = ((done - windowStart.done) / (now - windowStart.at)) * 1000;
      windowStart = { at: now, done };
      const overall = done / ((populationMs + (now - segmentStart)) / 1000);
      const rate = recent > 0 ? recent : overall;
      progress(
        `[bench-reports] ${integer(done)} / ${integer(events)} events (${decimal((done / events) * 100, 1)}%), ` +
          `${integer(recent)} ev/s now, ${integer(overall)} ev/s overall, ETA ${duration((events - done) / rate)}, ` +
          `rss ${integer(process.memoryUsage().rss / 1e6)} MB${failed ? `, ${integer(failed)} refused` : ''}`,
      );
    }, 10_000);
    ticker.unref();

    const results: Checkpoint[] = [];
    for (const target of checkpoints) {
      const first = done;
      segmentStart = performance.now();
      await inPool(target - first, config.concurrency, async (offset) => {
        const { kiosk, raw } = eventAt(first + offset, kioskSets);
        // A kiosk sends the same body again after a 503 (contention on one kiosk's item), as the contract says.
        let answer = await send(kiosk, raw);
        for (let attempt = 1; answer.status === 503 && attempt < 10; attempt += 1) {
          retried += 1;
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * 2 ** attempt));
          answer = await send(kiosk, raw);
        }
        done += 1;
        if (answer.status !== 201) {
          failed += 1;
          if (failures.length < 5) {
            failures.push(`${answer.status} ${answer.body}`);
            progress(`[bench-reports] event ${integer(done)} refused: ${answer.status} ${answer.body}`);
          }
          if (failed > Math.max(10, done / 100))
            throw new Error(`too many events refused: ${failures.join('; ')}`);
        }
      });
      populationMs += performance.now() - segmentStart;
      // The pool is drained: the report's requests are the only ones DynamoDB sees now.
      const checkpoint = await measureReport(target, populationMs / 1000);
      results.push(checkpoint);
      print(
        `checkpoint ${integer(target)} events: itemsRead ${checkpoint.itemsRead}, ` +
          `${checkpoint.reportRequests.requests} DynamoDB requests (${checkpoint.reportOperations}), ` +
          `${decimal(checkpoint.reportLatencyMs.median)} ms (its query alone ${decimal(checkpoint.queryLatencyMs.median)} ms), dispenseEvents ${integer(checkpoint.dispenseEvents)}, ` +
          `population ${duration(populationMs / 1000)} at ${integer(checkpoint.populationEventsPerSecond)} ev/s`,
      );
    }
    clearInterval(ticker);

    const itemsRead = new Set(results.map((c) => c.itemsRead));
    const constant = itemsRead.size === 1 && (results[0]?.itemsRead ?? 0) <= bound;
    const allRecorded = failed === 0 && results.every((c) => c.recordedInReport === c.events);
    print();
    print(table(CHECKPOINT_HEADER, results.map(checkpointRow)));
    print();
    print(
      constant
        ? `itemsRead is ${results[0]?.itemsRead} (≤ ${bound} = ${sites} sites × ${days} days × shards written) at every checkpoint, from ${integer(results[0].events)} ` +
            `to ${integer(results[results.length - 1].events)} events: a report reads days × sites items, never events.`
        : `itemsRead differs between checkpoints or exceeds ${bound}: ${[...itemsRead].join(', ')}`,
    );
    print(
      allRecorded
        ? `Every event sent was recorded and is counted by the report (dispense + restock + fault = events sent); ${retried} sent again after a 503, as a kiosk would.`
        : `Not every event was recorded: ${failed} refused ${failures.join('; ')}`,
    );

    return {
      config: { ...config, from, to, clockStart: CLOCK_START, itemsReadBound: bound },
      checkpoints: results,
      itemsReadConstant: constant,
      allRecorded,
      retriedAfter503: retried,
      refused: failed,
      refusals: failures,
    };
  } finally {
    dynamo.destroy();
    await bench.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: flags } = parseArgs({
    options: {
      events: { type: 'string', default: '1000000' },
      checkpoints: { type: 'string' },
      sites: { type: 'string', default: '10' },
      days: { type: 'string', default: '30' },
      'kiosks-per-site': { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '8' },
      via: { type: 'string', default: 'direct' },
      dir: { type: 'string' },
      'report-runs': { type: 'string', default: '3' },
      seed: { type: 'string', default: '42' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

  if (flags.help) {
    console.log(
      'npm run bench:reports -- [--events 1000000] [--checkpoints 10000,100000,1000000] [--sites 10] [--days 30] ' +
        '[--kiosks-per-site 3] [--concurrency 8] [--via direct|http] [--dir DIR] [--report-runs 3] [--seed 42] [--json]',
    );
    process.exit(0);
  }
  if (flags.via !== 'direct' && flags.via !== 'http') throw new Error('--via must be direct or http');
  const print = (text = '') => (flags.json ? process.stderr : process.stdout).write(`${text}\n`);
  const result = await measureReports({
    events: parseCount(flags.events, 'events'),
    checkpoints: (flags.checkpoints ?? '10000,100000,1000000')
      .split(',')
      .filter((text) => text.trim() !== '')
      .map((text) => parseCount(text, 'checkpoints')),
    sites: parseCount(flags.sites, 'sites'),
    days: parseCount(flags.days, 'days'),
    kiosksPerSite: parseCount(flags['kiosks-per-site'], 'kiosks-per-site'),
    concurrency: parseCount(flags.concurrency, 'concurrency'),
    via: flags.via,
    dir: flags.dir,
    reportRuns: parseCount(flags['report-runs'], 'report-runs'),
    seed: parseCount(flags.seed, 'seed'),
    print,
    progress: (text) => process.stderr.write(`${text}\n`),
  });
  if (flags.json) {
    process.stdout.write(
      `${JSON.stringify({ benchmark: 'reports', node: process.version, ...result }, null, 2)}\n`,
    );
  }
  if (!result.itemsReadConstant || !result.allRecorded) process.exitCode = 1;
}
