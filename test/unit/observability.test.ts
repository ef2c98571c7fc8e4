import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../functions/adapters/clock.js';
import { logger } from '../../functions/adapters/logger.js';
import { sfnClient } from '../../functions/adapters/moud/workflows.js';
import {
  correlationIdOf,
  metrics,
  tracingEnabled,
  useTracerLoader,
} from '../../functions/adapters/observability.js';
import { sign } from '../../functions/core/kiosk/signing.js';
import { handler as followUpSteps } from '../../functions/follow-up/handler.js';
import { forgetKiosks, handler as kioskEvents } from '../../functions/kiosk-events/handler.js';
import { handler as relay } from '../../functions/outbox-relay/handler.js';
import { metrics as declared } from '../../lib/manifest.js';
import { apiEvent, invoke, lambdaContext } from '../support/events.js';
import { fakeSealed, installFakeKms, stubEnvironment, TABLE } from './handlers/fakes.js';

/**
 * What operators get from the functions (logs with the Lambda context and a correlation id,
 * business metrics, traced SDK clients) and that none of it carries a phone number: a canary
 * phone rides in a contact request, and every log line and metric is searched for it.
 */
// Info lines are what this file reads. Set before the logger exists: Powertools restores the initial level
// at every warm invocation (its sampling), so a setLogLevel in a test would not last.
vi.hoisted(() => {
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const kms = mockClient(KMSClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const SECRET = 'secret-of-K-0001-3b9f0c1d2e';
const CANARY = '+15555550199';
const CANARY_DIGITS = '5555550199';
const EVENT_ID = '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60';

type Item = Record<string, unknown>;
let storedEvents: Record<string, Item>;
let logLines: string[];
let published: Record<string, unknown>[];

function signedDispense(headers: Record<string, string> = {}) {
  const raw = JSON.stringify({
    eventId: EVENT_ID,
    type: 'dispense',
    occurredAt: '2026-11-20T14:03:00Z',
    items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 }],
    contactRequest: { phone: CANARY, topic: 'treatment' },
  });
  const timestamp = String(Math.floor(Date.now() / 1000));
  return apiEvent({
    method: 'POST',
    resource: '/v1/kiosk/events',
    body: raw,
    headers: {
      'content-type': 'application/json',
      'x-kiosk-id': 'K-0001',
      'x-kiosk-timestamp': timestamp,
      'x-kiosk-signature': sign(SECRET, timestamp, raw),
      ...headers,
    },
  });
}

/** The metric values of every flush, by name (what CloudWatch would read from the EMF lines). */
function publishedMetrics(): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const emf of published) {
    const definitions = (emf._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] })
      .CloudWatchMetrics;
    for (const { Name } of definitions[0]!.Metrics) totals[Name] = (totals[Name] ?? 0) + Number(emf[Name]);
  }
  return totals;
}

beforeEach(() => {
  ddb.reset();
  sns.reset();
  kms.reset();
  stubEnvironment();
  // The suite turns metrics off (vitest.config.ts); here they are what is asserted.
  vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  forgetKiosks();
  storedEvents = {};
  ddb.on(GetCommand).callsFake((input) => {
    const key = input.Key as Record<string, string>;
    return {
      Item:
        input.TableName === TABLE.kiosks
          ? {
              kioskId: 'K-0001',
              siteId: 'site-7',
              lowStockThreshold: 5,
              stock: { 'naloxone-nasal-4mg': 40 },
              alerted: {},
              mismatchUnits: 0,
              secretSealed: fakeSealed(SECRET, 'kiosk-secret:K-0001'),
            }
          : storedEvents[`${key.kioskId}/${key.eventId}`],
    };
  });
  ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
    const items = input.TransactItems ?? [];
    const guard = items.find((item) => item.Put?.TableName === TABLE.kioskEvents)?.Put;
    const stored = guard && storedEvents[`${guard.Item?.kioskId}/${guard.Item?.eventId}`];
    if (stored) {
      // As DynamoDB does: the event's guard finds it there and hands it back.
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: items.map((item) =>
          item.Put === guard
            ? { Code: 'ConditionalCheckFailed', Item: marshall(stored, { removeUndefinedValues: true }) }
            : { Code: 'None' },
        ),
      });
    }
    for (const item of items) {
      if (item.Put?.TableName === TABLE.kioskEvents) {
        storedEvents[`${item.Put.Item?.kioskId}/${item.Put.Item?.eventId}`] = item.Put.Item as Item;
      }
    }
    return {};
  });
  ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });

  logLines = [];
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      logLines.push(String(chunk));
      return true;
    });
  }
  published = [];
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(function (this: typeof metrics) {
    published.push(metrics.serializeMetrics() as unknown as Record<string, unknown>);
    metrics.clearMetrics();
    return metrics;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

const parsedLogs = () => logLines.map((line) => JSON.parse(line) as Record<string, unknown>);

describe('logs', () => {
  it('carry the Lambda context and the request’s correlation id, and never the phone number', async () => {
    // Act
    const response = await invoke(kioskEvents, signedDispense({ 'x-correlation-id': 'kiosk-vendor-42' }));

    // Assert
    expect(response.status).toBe(201);
    const recorded = parsedLogs().find((line) => line.message === 'kiosk event recorded');
    expect(recorded).toMatchObject({
      function_name: lambdaContext.functionName,
      function_request_id: lambdaContext.awsRequestId,
      correlation_id: 'kiosk-vendor-42',
      kioskId: 'K-0001',
      eventId: EVENT_ID,
    });
    expect(response.headers['x-correlation-id']).toBe('kiosk-vendor-42');
    const everything = logLines.join('\n');
    expect(everything).not.toContain(CANARY_DIGITS);
  });

  it('fall back to API Gateway’s request id when the caller sends no usable correlation id', async () => {
    // Act
    const response = await invoke(kioskEvents, signedDispense({ 'x-correlation-id': 'not a plain id\n{}' }));

    // Assert
    expect(response.headers['x-correlation-id']).toBe('req-1');
    expect(parsedLogs().every((line) => line.correlation_id === 'req-1')).toBe(true);
  });

  it('of a follow-up step carry the correlation id its execution was started with', async () => {
    // Arrange: a line logged while the step writes to DynamoDB
    ddb.on(UpdateCommand).callsFake(() => {
      logger.info('probe during the step');
      return {};
    });

    // Act
    await followUpSteps(
      {
        step: 'markNotified',
        enrollmentId: 'E-1',
        taskId: 'T-1',
        notice: 'outreach',
        execution: { enrollmentId: 'E-1', correlationId: 'enroll-request-7' },
      } as never,
      lambdaContext,
    );
    logger.info('probe after the step');

    // Assert: the id is the execution's during the step, and gone after it (the next invocation starts clean)
    const during = parsedLogs().find((line) => line.message === 'probe during the step');
    const after = parsedLogs().find((line) => line.message === 'probe after the step');
    expect(during).toMatchObject({ message: 'probe during the step', correlation_id: 'enroll-request-7' });
    expect(after?.message).toBe('probe after the step');
    expect(after?.correlation_id).toBeUndefined();
  });
});

describe('business metrics', () => {
  it('count a recorded event and the task it opened (its notice is counted where it is published), under the service dimension', async () => {
    // Act
    await invoke(kioskEvents, signedDispense());

    // Assert
    expect(publishedMetrics()).toEqual({
      [declared.names.kioskEventsRecorded]: 1,
      [declared.names.tasksOpened]: 1,
    });
    const [emf] = published;
    expect(
      (emf!._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] })
        .CloudWatchMetrics[0],
    ).toMatchObject({ Namespace: 'Bridgeway', Dimensions: [['service']] });
    expect(JSON.stringify(published)).not.toContain(CANARY_DIGITS);
  });

  it('count a duplicate as a duplicate, and nothing else', async () => {
    // Arrange
    await invoke(kioskEvents, signedDispense());
    published = [];

    // Act
    const again = await invoke(kioskEvents, signedDispense());

    // Assert
    expect(again.body.status).toBe('duplicate');
    expect(publishedMetrics()).toEqual({ [declared.names.kioskEventDuplicates]: 1 });
  });

  it('publish nothing where metrics are turned off (the embedded backend), and keep nothing for later', async () => {
    // Arrange
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'true');

    // Act
    await invoke(kioskEvents, signedDispense());

    // Assert
    expect(published).toEqual([]);
    expect(metrics.hasStoredMetrics()).toBe(false);
  });

  it('publish nothing for an invocation that counted nothing', async () => {
    // Act
    const response = await invoke(kioskEvents, signedDispense({ 'x-kiosk-signature': '00' }));

    // Assert
    expect(response.status).toBe(401);
    expect(published).toEqual([]);
  });

  it('report the age of the oldest notification no publish confirmed, and 0 once there is none', async () => {
    // Arrange: a row written 20 minutes ago, still unpublished, whose publish keeps failing
    const createdAt = new Date(NOW.getTime() - 20 * 60_000).toISOString();
    const row = { messageId: 'm-1', topic: 'restock', message: '{}', attributes: {}, createdAt };
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(QueryCommand, { IndexName: 'byUnpublished' }).resolves({ Items: [row] });
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE.outbox]: [row] } });
    sns.on(PublishCommand).rejects(new Error('SNS is down'));

    // Act
    await relay({}, lambdaContext);
    const stuck = publishedMetrics();
    published = [];
    ddb.on(QueryCommand, { IndexName: 'byUnpublished' }).resolves({ Items: [] });
    await relay({}, lambdaContext);
    const empty = publishedMetrics();

    // Assert
    expect(stuck).toMatchObject({
      [declared.names.outboxOldestAgeSeconds]: 1200,
      [declared.names.outboxPending]: 1,
    });
    expect(empty).toMatchObject({
      [declared.names.outboxOldestAgeSeconds]: 0,
      [declared.names.outboxPending]: 0,
    });
  });
});

describe('tracing', () => {
  it('is on only where Lambda runs the function, and can be turned off', () => {
    expect(tracingEnabled({})).toBe(false);
    expect(
      tracingEnabled({ AWS_LAMBDA_FUNCTION_NAME: 'f', AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x' }),
    ).toBe(true);
    expect(
      tracingEnabled({
        AWS_LAMBDA_FUNCTION_NAME: 'f',
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
        POWERTOOLS_TRACE_ENABLED: 'false',
      }),
    ).toBe(false);
  });

  it('loads the tracer once, on the first traced invocation, and captures every SDK client, one built later at once', async () => {
    // Arrange
    const captured: string[] = [];
    const loader = vi.fn(async () => ({
      captureAWSv3Client<T>(client: T): T {
        captured.push((client as { constructor: { name: string } }).constructor.name);
        return client;
      },
    }));
    useTracerLoader(loader);
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'kioskEvents');
    vi.stubEnv('AWS_EXECUTION_ENV', 'AWS_Lambda_nodejs24.x');

    // Act
    await invoke(kioskEvents, signedDispense());
    await invoke(kioskEvents, signedDispense());

    // Assert: a kiosk event never starts a workflow, so the Step Functions client is not built yet.
    expect(loader).toHaveBeenCalledTimes(1);
    expect(captured.sort()).toEqual(['DynamoDBClient', 'KMSClient', 'SNSClient']);
    sfnClient();
    sfnClient();
    expect(captured.sort()).toEqual(['DynamoDBClient', 'KMSClient', 'SFNClient', 'SNSClient']);
  });

  it('never loads the tracer locally', async () => {
    // Arrange
    const loader = vi.fn();
    useTracerLoader(loader);

    // Act
    await invoke(kioskEvents, signedDispense());

    // Assert
    expect(loader).not.toHaveBeenCalled();
  });
});

describe('correlation ids', () => {
  it.each([
    [{ headers: { 'X-Correlation-Id': 'abc-123' }, requestContext: { requestId: 'r' } }, 'abc-123'],
    [{ headers: { 'x-correlation-id': 'a'.repeat(101) }, requestContext: { requestId: 'r' } }, 'r'],
    [{ step: 'plan', execution: { correlationId: 'c-9' } }, 'c-9'],
    [{ step: 'plan', execution: { enrollmentId: 'E-1' } }, undefined],
  ])('of %j is %s', (event, expected) => {
    expect(correlationIdOf(event)).toBe(expected);
  });
});
