import { InternalServerError, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { aggregateKey } from '../../../functions/core/aggregates.js';
import { handler } from '../../../functions/use-reports/handler.js';
import type { Role } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import { addedCounters, silenceLogger, stubEnvironment, TABLE } from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const REPORT_ID = '0b7e3c1a-4d2f-4e8a-9b6c-5d4e3f2a1b0c';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

const report = (overrides: Item = {}): Item => ({
  reportId: REPORT_ID,
  usedOn: '2026-11-18',
  siteId: 'site-7',
  outcome: 'survived',
  emsCalled: true,
  dosesUsed: 2,
  ...overrides,
});

function post(body: unknown, role: Role | null = 'outreach') {
  return invoke(
    handler,
    apiEvent({
      method: 'POST',
      resource: '/v1/naloxone/use-reports',
      body: body as object,
      role: role ?? undefined,
      username: role ? `${role}-7` : undefined,
    }),
  );
}

function transactItems(n = 0): TransactItem[] {
  return ddb.commandCalls(TransactWriteCommand)[n].args[0].input.TransactItems ?? [];
}
const reportPut = (n = 0) => transactItems(n).find((item) => item.Put?.TableName === TABLE.useReports)?.Put;
const aggregateUpdate = (n = 0) =>
  transactItems(n).find((item) => item.Update?.TableName === TABLE.aggregates)?.Update;

/** The transaction is cancelled because the report already exists, as DynamoDB says it. */
function alreadyStored(stored: Item) {
  return (input: TransactWriteCommandInput) => {
    throw new TransactionCanceledException({
      message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
      $metadata: {},
      CancellationReasons: (input.TransactItems ?? []).map((_, i) =>
        i === 0
          ? { Code: 'ConditionalCheckFailed', Item: marshall(stored, { removeUndefinedValues: true }) }
          : { Code: 'None' },
      ),
    });
  };
}

/** Records a report once and hands back the item as it was written. */
async function recordedItem(body: Item): Promise<Item> {
  expect((await post(body)).status).toBe(201);
  const item = reportPut()?.Item as Item;
  ddb.reset();
  return item;
}

beforeEach(() => {
  ddb.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  ddb.on(TransactWriteCommand).resolves({});
  silenceLogger();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('recording a naloxone use report', () => {
  it('answers 201 and writes the report, guarded against a second copy, with its counters in one transaction', async () => {
    const response = await post(report());

    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ reportId: REPORT_ID });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const put = reportPut();
    expect(put?.Item).toMatchObject({
      reportId: REPORT_ID,
      usedOn: '2026-11-18',
      siteId: 'site-7',
      outcome: 'survived',
      recordedBy: 'outreach-7',
    });
    expect(put?.ConditionExpression?.replace('#key', String(put?.ExpressionAttributeNames?.['#key']))).toBe(
      'attribute_not_exists(reportId)',
    );
    const update = aggregateUpdate();
    expect(update?.Key).toEqual(aggregateKey('naloxone', '2026-11-18', 'site-7', REPORT_ID));
    expect(addedCounters(update ?? {})).toEqual({
      useReports: 1,
      survived: 1,
      emsCalled: 1,
      dosesUsed: 2,
      dosesUsedReports: 1,
    });
  });

  it.each([
    ['died', { useReports: 1, died: 1 }],
    ['unknown', { useReports: 1, unknownOutcome: 1 }],
  ])('counts an outcome of %s under its own counter', async (outcome, counters) => {
    const response = await post({ reportId: REPORT_ID, usedOn: '2026-11-18', outcome });

    expect(response.status).toBe(201);
    expect(addedCounters(aggregateUpdate() ?? {})).toEqual(counters);
  });

  it('counts a report without a site on its day, apart from every real site', async () => {
    await post({ reportId: REPORT_ID, usedOn: '2026-10-31', outcome: 'survived' });

    const key = aggregateUpdate()?.Key as { pk: string; sk: string };
    expect(key.pk).toMatch(/^naloxone#2026-10#\d$/);
    expect(key.sk).toMatch(/^2026-10-31#.+/);
    expect(key.sk).not.toBe('2026-10-31#site-7');
  });

  it('accepts a report used today by the backend clock', async () => {
    const response = await post(report({ usedOn: '2026-11-20' }));

    expect(response.status).toBe(201);
  });

  it('lets administrators record reports too', async () => {
    const response = await post(report(), 'admin');

    expect(response.status).toBe(201);
  });
});

describe('the same report again', () => {
  it('answers 200 duplicate for the same reportId and body, whatever the key order', async () => {
    const stored = await recordedItem(report());
    ddb.on(TransactWriteCommand).callsFake(alreadyStored(stored));
    const reordered = JSON.stringify(Object.fromEntries(Object.entries(report()).reverse()), null, 2);

    const response = await post(reordered);

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ reportId: REPORT_ID, status: 'duplicate' });
  });

  it('answers 409 report_id_conflict for the same reportId with another body', async () => {
    const stored = await recordedItem(report());
    ddb.on(TransactWriteCommand).callsFake(alreadyStored(stored));

    const response = await post(report({ outcome: 'died' }));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('report_id_conflict');
  });
});

describe('rejecting a report', () => {
  it.each<[string, unknown, string]>([
    ['usedOn after today', report({ usedOn: '2026-11-21' }), 'usedOn'],
    ['an outcome outside the list', report({ outcome: 'recovered' }), 'outcome'],
    ['a reportId that is not a UUID', report({ reportId: 'R-1' }), 'reportId'],
    ['a usedOn that is not a date', report({ usedOn: '18/11/2026' }), 'usedOn'],
    ['zero doses', report({ dosesUsed: 0 }), 'dosesUsed'],
    ['an unknown field', report({ name: 'Jordan' }), 'name'],
  ])('answers 400 invalid_request for %s and writes nothing', async (_, body, path) => {
    const response = await post(body);

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues).toEqual(
      expect.arrayContaining([{ path, message: expect.any(String) }]),
    );
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400 invalid_json for a body that is not JSON', async () => {
    const response = await post('outcome=survived');

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_json');
  });

  it('answers 401 without claims and writes nothing', async () => {
    const response = await post(report(), null);

    expect(response.status).toBe(401);
    expect(response.body.error.code).toBe('unauthorized');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 403 forbidden to a signed-in user in neither staff group', async () => {
    const event = apiEvent({
      method: 'POST',
      resource: '/v1/naloxone/use-reports',
      body: report(),
      role: 'outreach',
    });
    (event.requestContext.authorizer as { claims: Record<string, string> }).claims['cognito:groups'] =
      'volunteers';

    const response = await invoke(handler, event);

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 503 when DynamoDB fails', async () => {
    ddb.on(TransactWriteCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));

    const response = await post(report());

    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('service_unavailable');
  });
});
