/**
 * `npm run bench:store`: the embedded DynamoDB alone, through the AWS SDK over HTTP as the
 * handlers reach it. Measures conditional PutItem/s and four-item TransactWriteItems/s at 1 and
 * at --concurrency in flight.
 *
 *   npm run bench:store -- [--ops 2000] [--concurrency 32] [--memory] [--in-process] [--json]
 *
 * --in-process: the client reaches the store as `npm start` wires the handlers', without HTTP.
 *
 * The store runs on a data directory (tmpfs when the machine has one, as the other benches do),
 * like `npm start`; --memory runs it without one (no journal). Each in-flight worker writes
 * its own items, so nothing conflicts and every figure is the store's cost, not retries.
 * A figure is the median of --rounds rounds; rounds of PutItem and of transactions alternate.
 * CPU µs/op is this process's CPU time (SDK client and store together) per operation, which a
 * busy machine disturbs less than the rate. Not a test: the numbers depend on the machine.
 */
import './bench/env.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { decimal, integer, memoryBackedDir, parseCount, table } from './bench/common.js';

export interface StoreFigure {
  readonly operation: 'conditional PutItem' | '4-item TransactWriteItems';
  readonly inFlight: number;
  readonly perSecond: number;
  /** CPU time of this process (client and store together) per operation, µs. */
  readonly cpuMicros: number;
}

export interface StoreOptions {
  readonly ops?: number;
  readonly concurrencies?: readonly number[];
  readonly rounds?: number;
  /** No data directory (no journal on disk). */
  readonly memory?: boolean;
  /** The client reaches the store as `npm start` wires the handlers', without HTTP. */
  readonly inProcess?: boolean;
}

/** The embedded store's own rate: conditional PutItem and four-item transactions per second. */
export async function measureStore(options: StoreOptions = {}): Promise<StoreFigure[]> {
  const ops = Math.max(1, options.ops ?? 2000);
  const rounds = Math.max(1, options.rounds ?? 3);
  // BENCH_STORE_MODULE points the bench at another copy of the store (an older version, to compare).
  const { ensureTables, startEmbeddedDynamo } = (await import(
    process.env.BENCH_STORE_MODULE ?? '../lib/embedded/dynamo/dynamo.js'
  )) as typeof import('../lib/embedded/dynamo/dynamo.js');

  const dataDir = options.memory ? undefined : mkdtempSync(join(memoryBackedDir(), 'bench-store-'));
  const db = await startEmbeddedDynamo({ dataDir });
  const client = new DynamoDBClient({
    endpoint: db.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  // As `npm start` wires the handlers' client: the store as its HTTP handler, no loopback socket.
  if (options.inProcess) (client.config as { requestHandler: unknown }).requestHandler = db.requestHandler;
  const doc = DynamoDBDocumentClient.from(client);
  await ensureTables(client);

  let sequence = 0;
  const nextId = () => {
    sequence += 1;
    return `b-${sequence}`;
  };

  /** What the handlers do most: an idempotency guard on a new event. */
  async function conditionalPut(): Promise<void> {
    await doc.send(
      new PutCommand({
        TableName: 'kioskEvents',
        Item: { kioskId: 'bench', eventId: nextId(), kind: 'dispense', quantity: 1 },
        ConditionExpression: 'attribute_not_exists(eventId)',
      }),
    );
  }

  /** The shape of a new kiosk event: guard, stock, counter, outbox row. */
  async function fourItemTransaction(worker: number): Promise<void> {
    const eventId = nextId();
    await doc.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Put: {
              TableName: 'kioskEvents',
              Item: { kioskId: `bench-${worker}`, eventId, kind: 'dispense', quantity: 1 },
              ConditionExpression: 'attribute_not_exists(eventId)',
            },
          },
          {
            Update: {
              TableName: 'kiosks',
              Key: { kioskId: `bench-${worker}` },
              UpdateExpression: 'ADD stock :n',
              ExpressionAttributeValues: { ':n': -1 },
            },
          },
          {
            Update: {
              TableName: 'aggregates',
              Key: { pk: `bench#${worker}`, sk: 'total' },
              UpdateExpression: 'ADD #n :one',
              ExpressionAttributeNames: { '#n': 'count' },
              ExpressionAttributeValues: { ':one': 1 },
            },
          },
          {
            Put: {
              TableName: 'outbox',
              Item: { messageId: eventId, topic: 'bench', body: 'x'.repeat(200) },
            },
          },
        ],
      }),
    );
  }

  interface Round {
    perSecond: number;
    /** CPU time of this process (client and store together) per operation. */
    cpuMicros: number;
  }

  async function round(inFlight: number, work: (worker: number) => Promise<void>): Promise<Round> {
    let remaining = ops;
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async (_, worker) => {
        while (remaining > 0) {
          remaining -= 1;
          await work(worker);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    return { perSecond: ops / seconds, cpuMicros: (used.user + used.system) / ops };
  }

  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

  /** Rounds of the two operations alternate, so that a change in the machine's load hits both. */
  async function compare(inFlight: number) {
    await round(inFlight, conditionalPut); // warm-up: JIT, sockets, the store
    await round(inFlight, fourItemTransaction);
    const puts: Round[] = [];
    const transactions: Round[] = [];
    for (let index = 0; index < rounds; index += 1) {
      puts.push(await round(inFlight, conditionalPut));
      transactions.push(await round(inFlight, fourItemTransaction));
    }
    const summary = (operation: StoreFigure['operation'], results: Round[]): StoreFigure => ({
      operation,
      inFlight,
      perSecond: median(results.map((result) => result.perSecond)),
      cpuMicros: median(results.map((result) => result.cpuMicros)),
    });
    return [summary('conditional PutItem', puts), summary('4-item TransactWriteItems', transactions)];
  }

  const results: StoreFigure[] = [];
  try {
    for (const inFlight of options.concurrencies ?? [1, 32]) results.push(...(await compare(inFlight)));
  } finally {
    client.destroy();
    await db.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values: flags } = parseArgs({
    options: {
      ops: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '32' },
      rounds: { type: 'string', default: '3' },
      memory: { type: 'boolean', default: false },
      'in-process': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });

  if (flags.help) {
    console.log(
      'npm run bench:store -- [--ops 2000] [--concurrency 32|1,8,32] [--rounds 3] [--memory] [--in-process] [--json]',
    );
    process.exit(0);
  }

  const ops = Math.max(1, parseCount(flags.ops, 'ops'));
  // A list ("1,8,32") measures each; one number N means 1 and N.
  const listed = flags.concurrency.split(',').map((text) => Math.max(1, parseCount(text, 'concurrency')));
  const concurrencies = listed.length === 1 ? [...new Set([1, ...listed])] : listed;
  const rounds = Math.max(1, parseCount(flags.rounds, 'rounds'));
  const print = (text = '') => (flags.json ? process.stderr : process.stdout).write(`${text}\n`);
  const results = await measureStore({
    ops,
    concurrencies,
    rounds,
    memory: flags.memory,
    inProcess: flags['in-process'],
  });
  const dataDir = !flags.memory;
  print(`Embedded DynamoDB, ${dataDir ? 'on a data directory' : 'in memory'}, ${ops} operations a round`);
  print(
    table(
      ['operation', 'in flight', 'per second', 'vs PutItem', 'CPU µs/op'],
      results.map((row) => {
        const put = results.find(
          (other) => other.operation === 'conditional PutItem' && other.inFlight === row.inFlight,
        );
        return [
          row.operation,
          String(row.inFlight),
          integer(row.perSecond),
          `${decimal((row.perSecond / put!.perSecond) * 100, 0)} %`,
          integer(row.cpuMicros),
        ];
      }),
    ),
  );
  if (flags.json) console.log(JSON.stringify({ dataDir, ops, results }));
}
