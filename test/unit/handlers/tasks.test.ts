import { InternalServerError, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { TASK_SHARDS, taskIndexKeys } from '../../../functions/core/staff/tasks.js';
import { handler } from '../../../functions/tasks/handler.js';
import type { Role } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import {
  addedCounters,
  fakeSealed,
  installFakeKms,
  silenceLogger,
  spelled,
  stubEnvironment,
  TABLE,
} from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const PHONE = '+15555550123';

type Item = Record<string, unknown>;

const task = (overrides: Item = {}): Item => ({
  taskId: 'T-1',
  kind: 'kiosk-contact',
  siteId: 'site-7',
  kioskId: 'K-0001',
  eventId: '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60',
  dueAt: '2026-11-20T14:03:05.000Z',
  escalateAt: '2026-11-21T14:03:05.000Z',
  createdAt: '2026-11-20T14:03:05.000Z',
  status: 'open',
  source: 'kiosk',
  contactId: 'C-1',
  countedOn: '2026-11-20',
  ...overrides,
});

function list(query?: Record<string, string>, role: Role | null = 'outreach') {
  return invoke(
    handler,
    apiEvent({ method: 'GET', resource: '/v1/outreach/tasks', query, role: role ?? undefined }),
  );
}

function show(taskId: string) {
  return invoke(
    handler,
    apiEvent({
      method: 'GET',
      resource: '/v1/outreach/tasks/{taskId}',
      pathParameters: { taskId },
      role: 'outreach',
      username: 'outreach-7',
    }),
  );
}

function complete(taskId: string, body: unknown) {
  return invoke(
    handler,
    apiEvent({
      method: 'POST',
      resource: '/v1/outreach/tasks/{taskId}/complete',
      pathParameters: { taskId },
      body: body as object,
      role: 'outreach',
      username: 'outreach-7',
    }),
  );
}

/** The order in which DynamoDB and KMS were called. */
let calls: string[];

beforeEach(() => {
  ddb.reset();
  kms.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  calls = [];
  installFakeKms(kms, (command) => calls.push(command));
  silenceLogger();
  ddb.on(GetCommand).resolves({});
  ddb.on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: 'T-1' } }).resolves({ Item: task() });
  ddb.on(GetCommand, { TableName: TABLE.contacts, Key: { contactId: 'C-1' } }).resolves({
    Item: {
      contactId: 'C-1',
      sealed: fakeSealed(JSON.stringify({ phone: PHONE, topic: 'treatment' }), 'contact:C-1'),
      createdAt: '2026-11-20T14:03:05.000Z',
    },
  });
  ddb.on(PutCommand).callsFake(() => {
    calls.push('put');
    return {};
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

/**
 * The task index as DynamoDB would serve it: items by `statusShard`, in `dueAt` order (ties by taskId),
 * honouring Limit and ExclusiveStartKey.
 */
function serveIndex(items: Item[]): void {
  ddb.on(QueryCommand).callsFake((input) => {
    const partition = input.ExpressionAttributeValues[':partition'];
    const sorted = items
      .map(
        (item): Item => ({
          ...item,
          ...taskIndexKeys(String(item.taskId), item.status as 'open' | 'completed'),
        }),
      )
      .filter((item) => item.statusShard === partition)
      .sort(
        (a, b) =>
          String(a.dueAt).localeCompare(String(b.dueAt)) || String(a.taskId).localeCompare(String(b.taskId)),
      );
    const start = input.ExclusiveStartKey
      ? sorted.findIndex((item) => item.taskId === input.ExclusiveStartKey.taskId) + 1
      : 0;
    const page = sorted.slice(start, start + (input.Limit ?? sorted.length));
    const more = start + page.length < sorted.length;
    const last = page.at(-1);
    return {
      Items: page,
      ...(more && last
        ? { LastEvaluatedKey: { taskId: last.taskId, statusShard: partition, dueAt: last.dueAt } }
        : {}),
    };
  });
}

const manyTasks = (count: number, status: 'open' | 'completed' = 'open') =>
  Array.from({ length: count }, (_, i) =>
    task({
      taskId: `T-${status}-${String(i).padStart(3, '0')}`,
      status,
      // Two tasks share each due time: ties must not lose or repeat one.
      dueAt: new Date(Date.parse('2026-11-01T00:00:00Z') + Math.floor(i / 2) * 3_600_000).toISOString(),
    }),
  );

describe('listing tasks', () => {
  it('reads the shards of the open status and answers the tasks in due order without contact details', async () => {
    serveIndex([
      task({ phone: PHONE, contact: { phone: PHONE }, note: 'call after 5pm, ask for Sam' }),
      task({ taskId: 'T-2', dueAt: '2026-11-19T10:00:00.000Z', contactId: 'C-2' }),
      task({ taskId: 'T-9', status: 'completed' }),
    ]);

    const response = await list({ status: 'open' });

    expect(response.status).toBe(200);
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(TASK_SHARDS);
    expect(queries[0]).toMatchObject({ TableName: TABLE.tasks, IndexName: 'byStatusShard' });
    expect(new Set(queries.map((query) => spelled(query.KeyConditionExpression, query)))).toEqual(
      new Set(Array.from({ length: TASK_SHARDS }, (_, shard) => `statusShard = "open#${shard}"`)),
    );
    expect(response.body.tasks.map((t: Item) => t.taskId)).toEqual(['T-2', 'T-1']);
    expect(response.body.tasks[1]).toMatchObject({
      taskId: 'T-1',
      kind: 'kiosk-contact',
      siteId: 'site-7',
      dueAt: '2026-11-20T14:03:05.000Z',
      status: 'open',
    });
    expect(response.body.next).toBeUndefined();
    expect(response.text).not.toContain(PHONE.slice(2));
    expect(response.text).not.toContain('Sam');
    expect(response.text).not.toContain('C-1');
    expect(response.text).not.toContain('statusShard');
  });

  it('lists open and completed tasks when no status is given', async () => {
    serveIndex([task(), task({ taskId: 'T-0', status: 'completed', outcome: 'reached' })]);

    const response = await list();

    expect(response.status).toBe(200);
    expect(response.body.tasks.map((t: Item) => [t.taskId, t.status]).sort()).toEqual([
      ['T-0', 'completed'],
      ['T-1', 'open'],
    ]);
  });

  it('pages through every task once, in due order, by following next', async () => {
    const all = manyTasks(40);
    serveIndex(all);
    const seen: Item[] = [];
    const pages: number[] = [];

    let next: string | undefined;
    do {
      const response = await list({ status: 'open', limit: '7', ...(next ? { next } : {}) });
      expect(response.status).toBe(200);
      pages.push(response.body.tasks.length);
      seen.push(...response.body.tasks);
      next = response.body.next;
    } while (next);

    expect(seen.map((t) => t.taskId).sort()).toEqual(all.map((t) => t.taskId).sort());
    expect(seen.map((t) => t.dueAt)).toEqual([...seen.map((t) => String(t.dueAt))].sort());
    expect(pages).toEqual([7, 7, 7, 7, 7, 5]);
  });

  it('answers a first page of 100 tasks with a next cursor when no limit is given', async () => {
    serveIndex(manyTasks(130));

    const response = await list({ status: 'open' });

    expect(response.body.tasks).toHaveLength(100);
    expect(typeof response.body.next).toBe('string');
  });

  it.each([
    ['a cursor that is not one', { next: 'not-a-cursor' }, 'next'],
    ['a cursor of another listing', { status: 'completed', next: 'OPEN' }, 'next'],
    ['a limit of 0', { limit: '0' }, 'limit'],
    ['a limit of 501', { limit: '501' }, 'limit'],
    ['a fractional limit', { limit: '2.5' }, 'limit'],
  ])('answers 400 invalid_request naming the field for %s', async (_name, query, path) => {
    serveIndex(manyTasks(5));
    const first = await list({ status: 'open', limit: '2' });
    const resolved = {
      ...query,
      ...((query as { next?: string }).next === 'OPEN' ? { next: first.body.next } : {}),
    };
    ddb.resetHistory();

    const response = await list(resolved as Record<string, string>);

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues.map((issue: { path: string }) => issue.path)).toEqual([path]);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('says doNotContact on each task of an enrollment without outreach consent now, and on no other', async () => {
    serveIndex([
      task({ taskId: 'T-k' }),
      task({ taskId: 'T-yes', source: 'moud', kioskId: undefined, enrollmentId: 'E-yes' }),
      task({ taskId: 'T-no', source: 'moud', kioskId: undefined, enrollmentId: 'E-no' }),
    ]);
    ddb.on(BatchGetCommand).resolves({
      Responses: {
        [TABLE.enrollments]: [
          { enrollmentId: 'E-yes', consentOutreach: true },
          { enrollmentId: 'E-no', consentOutreach: true, consentNow: { outreach: false, part2: true } },
        ],
      },
      UnprocessedKeys: {},
    });

    const response = await list({ status: 'open' });

    const flags = Object.fromEntries(
      response.body.tasks.map((t: { taskId: string; doNotContact: boolean }) => [t.taskId, t.doNotContact]),
    );
    expect(flags).toEqual({ 'T-k': false, 'T-yes': false, 'T-no': true });
    expect(
      ddb.commandCalls(BatchGetCommand)[0].args[0].input.RequestItems?.[TABLE.enrollments]?.Keys,
    ).toHaveLength(2);
  });

  it('answers 400 invalid_request for an unknown status', async () => {
    const response = await list({ status: 'closed' });

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues).toEqual([{ path: 'status', message: expect.any(String) }]);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('answers 401 without claims', async () => {
    const response = await list({ status: 'open' }, null);

    expect(response.status).toBe(401);
    expect(ddb.calls()).toHaveLength(0);
  });
});

describe('showing a task', () => {
  it('opens the contact details and records who read them before answering', async () => {
    const response = await show('T-1');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ taskId: 'T-1', kind: 'kiosk-contact', status: 'open' });
    expect(response.body.contact).toEqual({ phone: PHONE, topic: 'treatment' });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    const audit = ddb.commandCalls(PutCommand)[0].args[0].input;
    expect(audit.TableName).toBe(TABLE.audit);
    expect(audit.Item).toMatchObject({ subject: 'task:T-1', actor: 'outreach-7', action: 'read-contact' });
    expect(audit.Item?.at).toBe(NOW.toISOString());
    expect(calls).toEqual(['put', 'decrypt']);
    expect(kms).toHaveReceivedCommandWith(DecryptCommand, { EncryptionContext: { purpose: 'contact:C-1' } });
  });

  it('keeps the phone number out of the audit entry', async () => {
    await show('T-1');

    expect(JSON.stringify(ddb.commandCalls(PutCommand)[0].args[0].input)).not.toContain(PHONE.slice(2));
  });

  it('answers 503 without the phone number when the audit entry cannot be written', async () => {
    ddb.on(PutCommand).rejects(new InternalServerError({ message: 'Internal server error', $metadata: {} }));

    const response = await show('T-1');

    expect(response.status).toBe(503);
    expect(response.body.error.code).toBe('service_unavailable');
    expect(response.text).not.toContain(PHONE.slice(2));
    expect(kms).not.toHaveReceivedCommand(DecryptCommand);
  });

  describe('of an enrollment', () => {
    const followUp = task({
      taskId: 'T-2',
      kind: 'supply-gap',
      source: 'moud',
      kioskId: undefined,
      enrollmentId: 'E-1',
      contactId: 'C-1',
    });
    const enrollmentConsent = (item: Item) =>
      ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE.enrollments]: [item] }, UnprocessedKeys: {} });

    beforeEach(() => {
      ddb.on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: 'T-2' } }).resolves({ Item: followUp });
    });

    it('answers doNotContact with no contact details, opening and recording nothing, when outreach consent was withdrawn', async () => {
      enrollmentConsent({
        enrollmentId: 'E-1',
        consentOutreach: true,
        consentNow: { outreach: false, part2: true },
      });

      const response = await show('T-2');

      expect(response.status).toBe(200);
      expect(response.body).toMatchObject({
        taskId: 'T-2',
        doNotContact: true,
        contact: null,
        consent: { outreach: false, part2: true },
      });
      expect(response.text).not.toContain(PHONE.slice(2));
      expect(ddb).not.toHaveReceivedCommand(PutCommand);
      expect(kms).not.toHaveReceivedCommand(DecryptCommand);
    });

    it('answers doNotContact for an enrollment that never gave outreach consent', async () => {
      enrollmentConsent({ enrollmentId: 'E-1', consentOutreach: false });

      const response = await show('T-2');

      expect(response.body).toMatchObject({ doNotContact: true, contact: null });
    });

    it('records the read in the enrollment’s access log, naming the task, before showing the contact', async () => {
      enrollmentConsent({
        enrollmentId: 'E-1',
        consentOutreach: false,
        consentNow: { outreach: true, part2: true },
      });

      const response = await show('T-2');

      expect(response.body).toMatchObject({ doNotContact: false, contact: { phone: PHONE } });
      const audit = ddb.commandCalls(PutCommand)[0].args[0].input;
      expect(audit.Item).toMatchObject({
        subject: 'enrollment:E-1',
        actor: 'outreach-7',
        action: 'read-contact',
        taskId: 'T-2',
      });
      expect(calls).toEqual(['put', 'decrypt']);
    });
  });

  it('answers 404 not_found for an unknown task', async () => {
    const response = await show('T-404');

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });
});

describe('completing a task', () => {
  const transaction = () => ddb.commandCalls(TransactWriteCommand)[0].args[0].input.TransactItems ?? [];

  it('closes an open task with its outcome in one transaction with the report counters, and answers 200', async () => {
    ddb.on(TransactWriteCommand).resolves({});

    const response = await complete('T-1', { outcome: 'reached' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ taskId: 'T-1', status: 'completed', outcome: 'reached' });
    const [close, counters] = transaction();
    const update = close.Update!;
    expect(update.Key).toEqual({ taskId: 'T-1' });
    expect(spelled(update.ConditionExpression, update)).toContain('status = "open"');
    expect(spelled(update.UpdateExpression, update)).toContain('status = "completed"');
    expect(spelled(update.UpdateExpression, update)).toContain('outcome = "reached"');
    // A kiosk contact task: the naloxone report's outreach figures, on its day and site; 0 whole hours.
    expect(counters.Update?.TableName).toBe(TABLE.aggregates);
    expect(counters.Update?.Key).toMatchObject({ sk: '2026-11-20#site-7' });
    expect(String(counters.Update?.Key?.pk)).toMatch(/^naloxone#2026-11#/);
    expect(addedCounters(counters.Update!)).toEqual({ 'outreach:outcome:reached': 1, 'outreach:hours:0': 1 });
  });

  it('counts nothing for a task opened before the reports counted tasks (it has no countedOn)', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: 'T-1' } })
      .resolves({ Item: task({ countedOn: undefined }) });
    ddb.on(TransactWriteCommand).resolves({});

    const response = await complete('T-1', { outcome: 'reached' });

    expect(response.status).toBe(200);
    expect(transaction()).toHaveLength(1);
  });

  it('answers 200 when the task is completed again with the same outcome, and counts nothing again', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: 'T-1' } })
      .resolves({ Item: task({ status: 'completed', outcome: 'no-answer', completedBy: 'outreach-2' }) });

    const response = await complete('T-1', { outcome: 'no-answer' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ taskId: 'T-1', status: 'completed', outcome: 'no-answer' });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 409 task_already_completed when it was completed with another outcome', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: 'T-1' } })
      .resolves({ Item: task({ status: 'completed', outcome: 'declined' }) });

    const response = await complete('T-1', { outcome: 'reached' });

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('task_already_completed');
  });

  it('answers from the task as it is when someone completed it between the read and the write', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: 'T-1' } })
      .resolvesOnce({ Item: task() })
      .resolves({ Item: task({ status: 'completed', outcome: 'declined' }) });
    ddb.on(TransactWriteCommand).rejects(
      new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }],
      }),
    );

    const response = await complete('T-1', { outcome: 'reached' });

    expect(response.status).toBe(409);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('answers 404 not_found when completing a task that does not exist', async () => {
    const response = await complete('T-404', { outcome: 'reached' });

    expect(response.status).toBe(404);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it.each([{ outcome: 'maybe' }, {}, { outcome: 'reached', note: 'left a voicemail' }])(
    'answers 400 invalid_request for %j and changes nothing',
    async (body) => {
      const response = await complete('T-1', body);

      expect(response.status).toBe(400);
      expect(response.body.error.code).toBe('invalid_request');
      expect(response.body.error.issues.length).toBeGreaterThan(0);
      expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    },
  );
});
