/**
 * What the bench scripts share: the embedded backend in a temporary data
 * directory, kiosks registered and driven as a real kiosk would (signed
 * requests), the same kiosk-events handler module called in-process, DynamoDB
 * request counts, latency percentiles and plain-text tables.
 */
import { randomUUID } from 'node:crypto';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { sign } from '../../functions/core/kiosk/signing.js';
import { type LambdaHandler, lambdaContext } from '../../lib/embedded/http/gateway.js';
import { type Backend, startBackend } from '../../lib/embedded/runtime.js';
import { type FunctionName, functions } from '../../lib/manifest.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const ADMIN_TOKEN = 'bench-admin-token';
export const OUTREACH_TOKEN = 'bench-outreach-token';

// ---------------------------------------------------------------------------
// Command line

/** "1000000", "1_000_000", "100k", "1m", "1e6" → a non-negative integer. */
export function parseCount(text: string, flag: string): number {
  const cleaned = text.trim().toLowerCase().replace(/_/g, '');
  const match = /^(\d+(?:\.\d+)?(?:e\d+)?)([km]?)$/.exec(cleaned);
  const value = match ? Number(match[1]) * (match[2] === 'k' ? 1e3 : match[2] === 'm' ? 1e6 : 1) : Number.NaN;
  if (!Number.isInteger(value) || value < 0)
    throw new Error(`--${flag} must be a whole number, got "${text}"`);
  return value;
}

export function parseFraction(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value >= 1) {
    throw new Error(`--${flag} must be a fraction in [0, 1), got "${text}"`);
  }
  return value;
}

// ---------------------------------------------------------------------------
// The backend

export interface BenchBackend {
  readonly backend: Backend;
  readonly dataDir: string;
  /** Stops the backend and removes its data directory; safe to call twice. */
  stop(): Promise<void>;
}

/** tmpfs when the machine has one (RAM-backed: fsync costs nothing), else the temp directory. */
export function memoryBackedDir(): string {
  try {
    accessSync('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return tmpdir();
  }
}

/**
 * startBackend in a fresh data directory under `base`, on a free port. The
 * outbox relay's timer is pushed out of the way: the outbox table's stream
 * delivers the notices, and a scheduled relay run in the middle of a
 * measurement would be counted as a request of that measurement.
 */
export async function startBenchBackend(
  options: { base?: string; env?: Record<string, string> } = {},
): Promise<BenchBackend> {
  const dataDir = mkdtempSync(join(options.base ?? tmpdir(), 'bridgeway-bench-'));
  const backend = await startBackend({
    dataDir,
    port: 0,
    env: { ADMIN_TOKEN, OUTREACH_TOKEN, ...options.env },
    relayIntervalMs: 24 * 60 * 60 * 1000,
    log: () => undefined,
  });
  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      try {
        await backend.stop();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    })();
    return stopping;
  };
  // Ctrl-C during a long run still stops dynalite and removes the data directory.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping the backend and removing ${dataDir}\n`);
      void stop().finally(() => process.exit(130));
    });
  }
  return { backend, dataDir, stop };
}

// ---------------------------------------------------------------------------
// Kiosks

export interface Kiosk {
  readonly kioskId: string;
  readonly siteId: string;
  readonly secret: string;
}

export async function registerKiosk(
  url: string,
  registration: {
    kioskId: string;
    siteId: string;
    lowStockThreshold: number;
    inventory?: Record<string, number>;
  },
): Promise<Kiosk> {
  const res = await fetch(`${url}/v1/kiosks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(registration),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`kiosk registration failed: ${res.status} ${text}`);
  return {
    kioskId: registration.kioskId,
    siteId: registration.siteId,
    secret: (JSON.parse(text) as { secret: string }).secret,
  };
}

/** The contract's signature headers: HMAC over "<unix seconds>.<raw body>". */
export function signedHeaders(kiosk: Kiosk, raw: string): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  return {
    'content-type': 'application/json',
    'x-kiosk-id': kiosk.kioskId,
    'x-kiosk-timestamp': timestamp,
    'x-kiosk-signature': sign(kiosk.secret, timestamp, raw),
  };
}

export interface EventAnswer {
  readonly status: number;
  readonly body: string;
}

/** Sends one event; `headers` are its signed headers when the caller signed it ahead (else signed here). */
export type SendEvent = (kiosk: Kiosk, raw: string, headers?: Record<string, string>) => Promise<EventAnswer>;

/** POST /v1/kiosk/events over HTTP, through the embedded API gateway. */
export function httpSender(url: string): SendEvent {
  return async (kiosk, raw, headers = signedHeaders(kiosk, raw)) => {
    const res = await fetch(`${url}/v1/kiosk/events`, {
      method: 'POST',
      headers,
      body: raw,
    });
    return { status: res.status, body: await res.text() };
  };
}

/**
 * The kioskEvents Lambda handler called in-process with the REST proxy event the
 * gateway would build: the same code path minus the socket. The module is imported
 * by the URL runtime.ts uses, so it is the very instance startBackend loaded (with its
 * adapters set). Call after startBackend.
 */
export async function directSender(): Promise<SendEvent> {
  const handler = await loadHandler('kioskEvents');
  const path = '/v1/kiosk/events';
  return async (kiosk, raw, headers = signedHeaders(kiosk, raw)) => {
    const event: APIGatewayProxyEvent = {
      resource: path,
      path,
      httpMethod: 'POST',
      headers,
      multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: null,
      stageVariables: null,
      body: raw,
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'bench',
        authorizer: null,
        protocol: 'HTTP/1.1',
        httpMethod: 'POST',
        identity: { sourceIp: '127.0.0.1' } as APIGatewayProxyEvent['requestContext']['identity'],
        path,
        stage: 'local',
        requestId: randomUUID(),
        requestTimeEpoch: Date.now(),
        resourceId: 'bench',
        resourcePath: path,
      },
    };
    const result = await handler(event, lambdaContext('kioskEvents'));
    return { status: result.statusCode, body: result.body };
  };
}

async function loadHandler(name: FunctionName): Promise<LambdaHandler> {
  const module = (await import(pathToFileURL(resolve(ROOT, functions[name].entry)).href)) as {
    handler: LambdaHandler;
  };
  return module.handler;
}

/** A staff GET as the administrator; the body parsed as JSON. */
export async function adminGet<T>(url: string, path: string): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${text}`);
  return { status: res.status, body: JSON.parse(text) as T };
}

// ---------------------------------------------------------------------------
// Measuring

export interface DynamoCount {
  readonly requests: number;
  readonly byOperation: Record<string, number>;
}

/** What DynamoDB was asked between two `backend.dynamo.stats()` readings. */
export function requestsBetween(before: DynamoCount, after: DynamoCount): DynamoCount {
  const byOperation: Record<string, number> = {};
  for (const [operation, count] of Object.entries(after.byOperation)) {
    const delta = count - (before.byOperation[operation] ?? 0);
    if (delta !== 0) byOperation[operation] = delta;
  }
  return { requests: after.requests - before.requests, byOperation };
}

/**
 * Counts the DynamoDB requests that `task` causes on the request path (nothing else may run meanwhile),
 * the table streams held so that their deliveries are not counted with it; then releases them and counts
 * what the stream consumers (the outbox relay) asked to deliver what `task` wrote, apart.
 */
export async function countRequests<T>(
  backend: Backend,
  task: () => Promise<T>,
): Promise<{ result: T; requests: DynamoCount; delivery: DynamoCount }> {
  backend.streams.pause();
  let result: T;
  const before = backend.dynamo.stats();
  let after: DynamoCount;
  try {
    result = await task();
    after = backend.dynamo.stats();
  } finally {
    backend.streams.resume();
  }
  await backend.streams.drained();
  return {
    result,
    requests: requestsBetween(before, after),
    delivery: requestsBetween(after, backend.dynamo.stats()),
  };
}

/** POST /v1/kiosk/events over keep-alive node:http connections: the lightest client Node has. */
export function nodeHttpSender(url: string, sockets: number): SendEvent {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets });
  const target = new URL('/v1/kiosk/events', url);
  return (kiosk, raw, headers = signedHeaders(kiosk, raw)) =>
    new Promise((resolvePromise, reject) => {
      const sent = httpRequest(target, { method: 'POST', agent, headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('end', () =>
          resolvePromise({ status: answer.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
      });
      sent.on('error', reject);
      sent.end(raw);
    });
}

/** A new dispense of one unit, a minute old: what the ingest figures send. */
export const newDispense = () =>
  JSON.stringify({
    eventId: randomUUID(),
    type: 'dispense',
    occurredAt: new Date(Date.now() - 60_000).toISOString(),
    items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 }],
  });

/** The events sent before an ingest figure is measured. */
export const warmUpOf = (events: number, inFlight: number) => Math.max(inFlight, Math.floor(events / 4));

/**
 * New dispenses through `send`, `inFlight` at a time, each kiosk taking its turn: a warm-up of
 * `warmUpOf(events)`, then `events` measured. Every one must be recorded (201). The bodies are built
 * and signed before the clock starts: that is the kiosks' work, not the backend's, and in `direct` runs
 * it would otherwise be billed to the backend's process (signatures stay valid 300 s: far longer than
 * any run here).
 */
export async function timedIngest(
  send: SendEvent,
  kiosks: readonly Kiosk[],
  events: number,
  inFlight: number,
): Promise<{ seconds: number; p50Ms: number }> {
  const run = async (count: number) => {
    const latencies: number[] = [];
    const signed = Array.from({ length: count }, (_, index) => {
      const kiosk = kiosks[index % kiosks.length] as Kiosk;
      const raw = newDispense();
      return { kiosk, raw, headers: signedHeaders(kiosk, raw) };
    });
    const started = performance.now();
    await inPool(count, inFlight, async (index) => {
      const { kiosk, raw, headers } = signed[index] as (typeof signed)[number];
      const t0 = performance.now();
      const answer = await send(kiosk, raw, headers);
      latencies.push(performance.now() - t0);
      if (answer.status !== 201) throw new Error(`ingest: ${answer.status} ${answer.body}`);
    });
    return { seconds: (performance.now() - started) / 1000, p50Ms: summarize(latencies).p50 };
  };
  await run(warmUpOf(events, inFlight));
  return run(events);
}

/** Runs task(0..count-1) with at most `concurrency` in flight. */
export async function inPool(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, worker));
}

/** A small seeded generator: the same run, event for event, every time. */
export { mulberry32 as seeded } from '../sim/random.js';

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
}

/** Nearest-rank percentiles, in milliseconds. */
export function summarize(latenciesMs: readonly number[]): LatencySummary {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
  const round = (ms: number | undefined) => Math.round((ms ?? Number.NaN) * 100) / 100;
  return {
    count: sorted.length,
    p50: round(rank(0.5)),
    p95: round(rank(0.95)),
    p99: round(rank(0.99)),
    max: round(sorted.at(-1)),
  };
}

// ---------------------------------------------------------------------------
// Printing

export const integer = (value: number) => Math.round(value).toLocaleString('en-US');

export const decimal = (value: number, digits = 2) =>
  value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

/** Columns padded to width; numbers (and anything starting with a digit) right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length)),
  );
  const numeric = header.map((_, column) =>
    rows.every((row) => row[column] === '' || /^[\d<~-]/.test(row[column])),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (numeric[column] ? cell.padStart(widths[column]) : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(line)].join('\n');
}

/** "BatchGetItem 1 + TransactWriteItems 1" per event, from a count over `events` events. */
export function perEventOperations(requests: DynamoCount, events: number): string {
  return Object.entries(requests.byOperation)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([operation, count]) =>
        `${operation} ${decimal(count / events, Number.isInteger(count / events) ? 0 : 2)}`,
    )
    .join(' + ');
}
