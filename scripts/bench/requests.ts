/**
 * DynamoDB round trips and capacity units per request type, counted at the SDK (capacity.ts) on the
 * embedded backend with a manual clock: each request is sent alone over HTTP, as a kiosk or a member
 * of staff would send it, and whatever it causes (a follow-up workflow it starts or wakes included)
 * is allowed to finish before the next one.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { dynamoClient } from '../../functions/adapters/dynamo.js';
import { logger } from '../../functions/adapters/logger.js';
import { countCapacity } from './capacity.js';
import {
  ADMIN_TOKEN,
  type Kiosk,
  memoryBackedDir,
  OUTREACH_TOKEN,
  registerKiosk,
  signedHeaders,
  startBenchBackend,
} from './common.js';

export interface RequestTypeFigures {
  readonly request: string;
  readonly samples: number;
  /** DynamoDB calls per request (round trips), and by operation. */
  readonly roundTrips: number;
  readonly byOperation: Record<string, number>;
  readonly writeUnits: number;
  readonly readUnits: number;
  /** SNS messages published per request (outbox file lines). */
  readonly notices: number;
  /** DynamoDB calls the outbox relay makes per notice it publishes, off the request path. */
  readonly relayRoundTripsPerNotice?: number;
  /** Median wall time of the request on the embedded backend, ms (a proxy for Lambda duration). */
  readonly medianMs: number;
  /**
   * Log lines the functions wrote per request (what CloudWatch would ingest from them), the relay's
   * for its notices included, and their bytes with the line ends.
   */
  readonly logLines: number;
  readonly logBytes: number;
  /** Of those lines, the ones that carry the Lambda context (Powertools Logger's; not the metrics' EMF lines). */
  readonly logContextLines: number;
  readonly note?: string;
}

const SKU = 'naloxone-nasal-4mg';
const THRESHOLD = 5;

/**
 * Counts what the process writes to stdout and stderr: the functions' log lines (Powertools Logger
 * and Metrics each write one JSON line). Nothing else writes there while a request is measured: the
 * backend's own log is silenced, and progress is reported before the counting starts.
 */
function countLogOutput() {
  let lines = 0;
  let bytes = 0;
  let contextLines = 0;
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((stream) => stream.write);
  streams.forEach((stream, index) => {
    const original = originals[index] as typeof stream.write;
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
      bytes += Buffer.byteLength(text);
      lines += text.split('\n').length - 1;
      contextLines += text.split('"function_arn":').length - 1;
      return (original as (...args: unknown[]) => boolean).call(stream, chunk, ...rest);
    }) as typeof stream.write;
  });
  return {
    snapshot: () => ({ lines, bytes, contextLines }),
    remove: () => {
      streams.forEach((stream, index) => {
        stream.write = originals[index] as typeof stream.write;
      });
    },
  };
}

export async function measureRequestTypes(
  options: { samples?: number; progress?: (line: string) => void } = {},
): Promise<RequestTypeFigures[]> {
  const samples = Math.max(1, options.samples ?? 20);
  const progress = options.progress ?? (() => undefined);
  // The manual clock starts at the real time: kiosk signatures are checked against the wall clock,
  // event times against the backend's.
  const start = new Date(Math.floor(Date.now() / 60_000) * 60_000);
  // The log lines are counted as CloudWatch would ingest them in AWS: at the deployed level (the stack
  // sets none: Powertools' default, INFO) and with the business metrics' EMF lines, which the embedded
  // runtime and the other benches leave out. scripts/bench.ts starts this section so.
  if (logger.getLevelName() !== 'INFO' || process.env.POWERTOOLS_METRICS_DISABLED !== 'false')
    throw new Error(
      'request types are measured with POWERTOOLS_LOG_LEVEL=INFO and POWERTOOLS_METRICS_DISABLED=false',
    );
  const bench = await startBenchBackend({
    base: memoryBackedDir(),
    env: { TIME_SCALE: 'manual', CLOCK_START: start.toISOString() },
  });
  const { backend } = bench;
  const probe = new DynamoDBClient({
    endpoint: backend.dynamo.endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  (probe.config as { requestHandler: unknown }).requestHandler = backend.dynamo.requestHandler;
  const counter = countCapacity(dynamoClient, probe);
  const logs = countLogOutput();
  const today = start.toISOString().slice(0, 10);
  const outboxLines = () => {
    try {
      return readFileSync(backend.outboxFile, 'utf8').split('\n').filter(Boolean).length;
    } catch {
      return 0;
    }
  };

  const call = async (
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body?: string,
  ): Promise<{ status: number; text: string }> => {
    const res = await fetch(`${backend.url}${path}`, { method, headers, body });
    return { status: res.status, text: await res.text() };
  };
  const staff = (token: string) => ({ authorization: `Bearer ${token}`, 'content-type': 'application/json' });
  const kioskSend = (kiosk: Kiosk, raw: string) =>
    call('POST', '/v1/kiosk/events', signedHeaders(kiosk, raw), raw);
  const dispense = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      eventId: randomUUID(),
      type: 'dispense',
      occurredAt: new Date(start.getTime() - 60_000).toISOString(),
      items: [{ sku: SKU, quantity: 1 }],
      ...extra,
    });

  const heartbeat = () =>
    JSON.stringify({
      eventId: randomUUID(),
      type: 'heartbeat',
      occurredAt: new Date(start.getTime() - 30_000).toISOString(),
      temperatureC: 21,
    });

  /** Sends `count` requests one at a time, each settled, and divides what they cost. */
  const measure = async (
    request: string,
    status: number,
    count: number,
    send: (index: number) => Promise<{ status: number; text: string }>,
    note?: string,
  ): Promise<RequestTypeFigures> => {
    progress(`  ${request}…`);
    // Workflows, not backend.settle(): settling runs the scheduled jobs too (sweeps, relay), whose
    // reads would be charged to the request. They are measured on their own below.
    await backend.workflows.idle();
    await backend.streams.drained();
    await counter.idle();
    counter.reset();
    const published = outboxLines();
    const logsBefore = logs.snapshot();
    const times: number[] = [];
    // The outbox stream is held while the requests run: its relay publishes their notices after the
    // answers, off the request path, and is counted apart (relay round trips per notice).
    backend.streams.pause();
    let total: ReturnType<typeof counter.snapshot>;
    try {
      for (let i = 0; i < count; i += 1) {
        const started = performance.now();
        const answer = await send(i);
        times.push(performance.now() - started);
        if (answer.status !== status)
          throw new Error(`${request}: expected ${status}, got ${answer.status} ${answer.text}`);
        await backend.workflows.idle();
        await counter.idle();
      }
      total = counter.snapshot();
    } finally {
      backend.streams.resume();
    }
    await backend.streams.drained();
    await counter.idle();
    const relay = counter.snapshot().calls - total.calls;
    const logsAfter = logs.snapshot();
    if (total.pricingFailures > 0)
      throw new Error(`${request}: ${total.pricingFailures} calls could not be priced`);
    times.sort((a, b) => a - b);
    const per = (value: number) => Math.round((value / count) * 100) / 100;
    return {
      request,
      samples: count,
      roundTrips: per(total.calls),
      byOperation: Object.fromEntries(Object.entries(total.byOperation).map(([op, n]) => [op, per(n)])),
      writeUnits: per(total.writeUnits),
      readUnits: per(total.readUnits),
      notices: per(outboxLines() - published),
      relayRoundTripsPerNotice:
        outboxLines() > published ? Math.round((relay / (outboxLines() - published)) * 100) / 100 : 0,
      medianMs: Math.round((times[Math.floor((times.length - 1) / 2)] ?? 0) * 10) / 10,
      logLines: per(logsAfter.lines - logsBefore.lines),
      logBytes: Math.round((logsAfter.bytes - logsBefore.bytes) / count),
      logContextLines: per(logsAfter.contextLines - logsBefore.contextLines),
      note,
    };
  };

  try {
    const register = (id: string, stock: number) =>
      registerKiosk(backend.url, {
        kioskId: id,
        siteId: 'site-1',
        lowStockThreshold: THRESHOLD,
        inventory: { [SKU]: stock },
      });
    const kiosk = await register('BENCH-RT-1', 100_000);
    const nearlyEmpty: Kiosk[] = [];
    for (let i = 0; i < samples; i += 1) nearlyEmpty.push(await register(`BENCH-RT-LOW-${i}`, THRESHOLD + 1));
    // Warm-up: the kiosks' records in the container, module code paths. Not counted. The nearly empty
    // kiosks send a heartbeat (their stock stays): without it, their measured event would be the first
    // the kiosk-events function sees of them, and its read of the record would be charged to the notice.
    for (let i = 0; i < 5; i += 1) await kioskSend(kiosk, dispense());
    for (const lowKiosk of nearlyEmpty) await kioskSend(lowKiosk, heartbeat());

    const rows: RequestTypeFigures[] = [];
    const recorded: string[] = [];
    rows.push(
      await measure('new kiosk event (dispense)', 201, samples, async () => {
        const raw = dispense();
        recorded.push(raw);
        return kioskSend(kiosk, raw);
      }),
    );
    rows.push(
      await measure('duplicate kiosk event', 200, samples, (i) =>
        kioskSend(kiosk, recorded[i % recorded.length] as string),
      ),
    );
    rows.push(
      await measure('kiosk event with a notice (low stock)', 201, samples, (i) =>
        kioskSend(nearlyEmpty[i] as Kiosk, dispense()),
      ),
    );
    rows.push(
      await measure('kiosk event with a contact request (task + notice)', 201, samples, () =>
        kioskSend(kiosk, dispense({ contactRequest: { phone: '+15555550123', topic: 'treatment' } })),
      ),
    );
    rows.push(await measure('heartbeat', 201, samples, () => kioskSend(kiosk, heartbeat())));
    rows.push(
      await measure('use report', 201, samples, () =>
        call(
          'POST',
          '/v1/naloxone/use-reports',
          staff(OUTREACH_TOKEN),
          JSON.stringify({
            reportId: randomUUID(),
            usedOn: today,
            siteId: 'site-1',
            outcome: 'survived',
            emsCalled: true,
            dosesUsed: 2,
          }),
        ),
      ),
    );
    const enrollments: string[] = [];
    rows.push(
      await measure(
        'enrollment',
        201,
        samples,
        async (i) => {
          const answer = await call(
            'POST',
            '/v1/moud/enrollments',
            staff(OUTREACH_TOKEN),
            JSON.stringify({
              participantRef: `P-BENCH-${i}`,
              siteId: 'site-1',
              enrolledOn: today,
              medication: 'buprenorphine-er-monthly',
              overdosesPrior12m: 1,
              consent: { outreach: true, part2: true },
              contact: { phone: '+15555550123' },
            }),
          );
          if (answer.status === 201)
            enrollments.push((JSON.parse(answer.text) as { enrollmentId: string }).enrollmentId);
          return answer;
        },
        'with the follow-up workflow it starts, until parked',
      ),
    );
    rows.push(
      await measure(
        'MOUD event (dose)',
        201,
        samples,
        (i) =>
          call(
            'POST',
            `/v1/moud/enrollments/${enrollments[i % enrollments.length]}/events`,
            staff(OUTREACH_TOKEN),
            JSON.stringify({ eventId: randomUUID(), type: 'dose', occurredOn: today, daysSupply: 14 }),
          ),
        'with any workflow wake it causes',
      ),
    );
    rows.push(
      await measure('task list page (open, 100)', 200, samples, () =>
        call('GET', '/v1/outreach/tasks?status=open&limit=100', staff(OUTREACH_TOKEN)),
      ),
    );
    const listed = await call(
      'GET',
      '/v1/outreach/tasks?status=open&kind=kiosk-contact&limit=500',
      staff(ADMIN_TOKEN),
    );
    const contactTasks = (JSON.parse(listed.text) as { tasks: { taskId: string }[] }).tasks.map(
      (task) => task.taskId,
    );
    const completions = Math.min(samples, contactTasks.length);
    if (completions > 0) {
      rows.push(
        await measure('task completion (kiosk contact)', 200, completions, (i) =>
          call(
            'POST',
            `/v1/outreach/tasks/${contactTasks[i]}/complete`,
            staff(OUTREACH_TOKEN),
            JSON.stringify({ outcome: 'reached' }),
          ),
        ),
      );
    }
    const month = today.slice(0, 7);
    rows.push(
      await measure('naloxone report (one month)', 200, samples, () =>
        call('GET', `/v1/reports/naloxone?from=${month}-01&to=${today}`, staff(ADMIN_TOKEN)),
      ),
    );
    rows.push(
      await measure('MOUD report (one month)', 200, samples, () =>
        call('GET', `/v1/reports/moud?from=${month}-01&to=${today}`, staff(ADMIN_TOKEN)),
      ),
    );
    rows.push(
      await measure(
        'outbox relay run (nothing to publish)',
        200,
        samples,
        async () => {
          await backend.relayOutbox();
          return { status: 200, text: '' };
        },
        'scheduled every 5 minutes in AWS',
      ),
    );
    return rows;
  } finally {
    counter.remove();
    logs.remove();
    probe.destroy();
    await bench.stop();
  }
}
