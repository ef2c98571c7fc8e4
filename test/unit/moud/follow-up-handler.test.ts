import {
  ConditionalCheckFailedException,
  InternalServerError,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { taskIndexKeys } from '../../../functions/core/staff/tasks.js';
import { handler, noticeMessageId, type PlanOutput } from '../../../functions/follow-up/handler.js';
import { addedCounters, silenceLogger, spelled, stubEnvironment, TABLE } from '../handlers/fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENROLLMENT_ID = 'E-0123456789abcdef01234567';
const TASK_72H = `T-${ENROLLMENT_ID}-checkpoint-72h`;

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** An enrollment recorded `daysAgo` days before NOW, at 09:00 UTC. */
function enrollment(daysAgo: number, overrides: Item = {}): Item {
  const enrolledOn = new Date(NOW.getTime() - daysAgo * DAY).toISOString().slice(0, 10);
  return {
    enrollmentId: ENROLLMENT_ID,
    participantRef: 'P-1042',
    siteId: 'site-7',
    enrolledOn,
    enrolledAt: `${enrolledOn}T09:00:00.000Z`,
    medication: 'methadone',
    overdosesPrior12m: 2,
    consentOutreach: true,
    consentPart2: true,
    contactId: ENROLLMENT_ID,
    fingerprint: 'f'.repeat(64),
    changeSeq: 4,
    history: [],
    contribution: {},
    ...overrides,
  };
}

function openTask(overrides: Item = {}): Item {
  return {
    taskId: TASK_72H,
    kind: 'checkpoint-72h',
    status: 'open',
    source: 'moud',
    enrollmentId: ENROLLMENT_ID,
    siteId: 'site-7',
    contactId: ENROLLMENT_ID,
    dueAt: '2026-11-19T09:00:00.000Z',
    createdAt: '2026-11-19T09:00:00.000Z',
    countedOn: '2026-11-19',
    escalateAt: '2026-11-20T09:00:00.000Z',
    ...overrides,
  };
}

function stored(item: Item, tasks: Item[] = []) {
  ddb
    .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
    .resolves({ Item: item });
  ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE.tasks]: tasks }, UnprocessedKeys: {} });
}

const plan = () => handler({ step: 'plan', enrollmentId: ENROLLMENT_ID }) as Promise<PlanOutput>;

function transactItems(n = 0): TransactItem[] {
  return ddb.commandCalls(TransactWriteCommand)[n].args[0].input.TransactItems ?? [];
}
const putsInto = (items: TransactItem[], table: string) =>
  items.filter((item) => item.Put?.TableName === table).map((item) => item.Put!);
const updatesOf = (items: TransactItem[], table: string) =>
  items.filter((item) => item.Update?.TableName === table).map((item) => item.Update!);
const setValue = (value: unknown) => [...(value as Set<string>)].sort();

const cancelled = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
    $metadata: {},
    CancellationReasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
  });
const conditionFailed = () =>
  new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  silenceLogger();
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the plan step', () => {
  it('parks until the 72-hour checkpoint when nothing is due, and writes nothing', async () => {
    // Written at enrollment: the supply sweep's due time of the first supply check (day 7, methadone).
    stored(enrollment(1, { supplyDueAt: '2026-11-26T09:00:00.000Z' }));

    const output = await plan();

    // Enrolled 2026-11-19 at 09:00: the 72-hour checkpoint falls due 2026-11-22 at 09:00.
    expect(output).toEqual({
      action: 'park',
      seq: 4,
      until: '2026-11-22T09:00:00.000Z',
      waitSeconds: (Date.parse('2026-11-22T09:00:00.000Z') - NOW.getTime()) / 1000,
    });
    expect(output.waitSeconds).toBeGreaterThanOrEqual(1);
    expect(ddb).toHaveReceivedCommandWith(GetCommand, { ConsistentRead: true });
    expect(ddb).not.toHaveReceivedCommand(BatchGetCommand);
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('keeps the supply sweep’s due time: writes it, guarded, when the stored one is missing or stale', async () => {
    stored(enrollment(1));
    ddb.on(TransactWriteCommand).resolves({});

    const output = await plan();

    expect(output).toMatchObject({ action: 'park', until: '2026-11-22T09:00:00.000Z' });
    const [write] = ddb.commandCalls(TransactWriteCommand);
    const guard = write.args[0].input.TransactItems?.[0]?.Update;
    expect(guard?.UpdateExpression).toBe('SET supplyDueAt = :supplyDueAt');
    expect(guard?.ExpressionAttributeValues?.[':supplyDueAt']).toBe('2026-11-26T09:00:00.000Z');
    expect(guard?.ConditionExpression).toContain('changeSeq = :changeSeq');
  });

  it('takes the supply check out of the sweep’s index while a follow-up task is open (it would only be folded)', async () => {
    stored(
      enrollment(4, {
        supplyDueAt: '2026-11-23T09:00:00.000Z',
        judged: new Set(['checkpoint-72h']),
        openTasks: new Set([TASK_72H]),
      }),
      [openTask({ escalatedAt: '2026-11-20T09:00:00.000Z' })],
    );
    ddb.on(TransactWriteCommand).resolves({});

    await plan();

    const [write] = ddb.commandCalls(TransactWriteCommand);
    expect(write.args[0].input.TransactItems?.[0]?.Update?.UpdateExpression).toBe('REMOVE supplyDueAt');
  });

  it('rounds the wait up to whole seconds, so that the park never ends before the due time', async () => {
    useClock(() => new Date('2026-11-22T08:59:58.100Z'));
    stored(enrollment(1));

    const output = await plan();

    expect(output).toMatchObject({ action: 'park', until: '2026-11-22T09:00:00.000Z', waitSeconds: 2 });
  });

  it('opens a task for a due 72-hour check in one transaction and hands back an outreach notice with ids only', async () => {
    stored(enrollment(3));

    const output = await plan();

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const items = transactItems();
    const [task] = putsInto(items, TABLE.tasks);
    expect(task.ConditionExpression).toBe('attribute_not_exists(taskId)');
    expect(task.Item).toEqual({
      taskId: TASK_72H,
      kind: 'checkpoint-72h',
      status: 'open',
      statusShard: taskIndexKeys(TASK_72H, 'open').statusShard,
      source: 'moud',
      enrollmentId: ENROLLMENT_ID,
      siteId: 'site-7',
      contactId: ENROLLMENT_ID,
      dueAt: '2026-11-20T09:00:00.000Z',
      createdAt: NOW.toISOString(),
      escalateAt: new Date(NOW.getTime() + DAY).toISOString(),
      countedOn: '2026-11-20',
      pendingNotice: 'outreach',
    });
    // The task counts in the MOUD report's outreach figures, on the day it opened, in the same transaction.
    const [counters] = updatesOf(items, TABLE.aggregates);
    expect(counters.Key).toMatchObject({ sk: '2026-11-20#site-7' });
    expect(addedCounters(counters)).toEqual({ 'outreach:opened:checkpoint-72h': 1 });
    const [update] = updatesOf(items, TABLE.enrollments);
    expect(update.Key).toEqual({ enrollmentId: ENROLLMENT_ID });
    expect(update.UpdateExpression).toBe('ADD judged :judged, openTasks :opened');
    expect(spelled(update.ConditionExpression, update)).toBe(
      'attribute_not_exists(eventSeq) AND changeSeq = 4',
    );
    expect(setValue(update.ExpressionAttributeValues?.[':judged'])).toEqual(['checkpoint-72h']);
    expect(setValue(update.ExpressionAttributeValues?.[':opened'])).toEqual([TASK_72H]);

    expect(output).toMatchObject({
      action: 'notify',
      seq: 4,
      notice: 'outreach',
      taskId: TASK_72H,
      kind: 'follow-up',
    });
    expect(output.messageId).toBe(noticeMessageId(TASK_72H, 'outreach'));
    // The message's kind is neutral: the reason (the task's kind) is for the authenticated API.
    expect(JSON.parse(String(output.message))).toEqual({
      kind: 'follow-up',
      taskId: TASK_72H,
      enrollmentId: ENROLLMENT_ID,
      siteId: 'site-7',
      dueAt: '2026-11-20T09:00:00.000Z',
      messageId: output.messageId,
    });
    expect(JSON.stringify(output)).not.toMatch(/P-1042|methadone|contact|phone|\+1555/);
  });

  it('opens the task without a notice and parks until its escalation time without outreach consent', async () => {
    stored(enrollment(3, { consentOutreach: false }));

    const output = await plan();

    const [task] = putsInto(transactItems(), TABLE.tasks);
    expect(task.Item).not.toHaveProperty('pendingNotice');
    expect(output).toMatchObject({ action: 'park', until: new Date(NOW.getTime() + DAY).toISOString() });
    expect(output.message).toBeUndefined();
  });

  it('plans again from what is stored when the transaction is cancelled, and succeeds the second time', async () => {
    stored(enrollment(3));
    ddb.on(TransactWriteCommand).rejectsOnce(cancelled()).resolves({});

    const output = await plan();

    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 2);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    expect(output).toMatchObject({ action: 'notify', taskId: TASK_72H, notice: 'outreach' });
  });

  it('gives up after six cancelled attempts so that Step Functions retries the step', async () => {
    stored(enrollment(3));
    ddb.on(TransactWriteCommand).rejects(cancelled());

    await expect(plan()).rejects.toMatchObject({ name: 'PlanConflict' });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 6);
  });

  it('opens no task when the enrollment ended between its read and its write (the write is guarded)', async () => {
    // Arrange: the first read sees a person with nothing recorded; a disenrollment lands before the write.
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolvesOnce({ Item: enrollment(3) })
      .resolves({ Item: enrollment(3, { eventSeq: 1, history: ['2026-11-19 disenrolled'] }) });
    ddb.on(BatchGetCommand).resolves({ Responses: { [TABLE.tasks]: [] } });
    ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      const guard = input.TransactItems?.find((item) => item.Update?.TableName === TABLE.enrollments)?.Update;
      // As DynamoDB would: the enrollment now has eventSeq 1, so a write guarded on "no events" fails.
      if (guard?.ConditionExpression?.includes('attribute_not_exists(eventSeq)')) throw cancelled();
      return {};
    });

    // Act
    const output = await plan();

    // Assert
    const calls = ddb.commandCalls(TransactWriteCommand);
    expect(calls).toHaveLength(2);
    // The cancelled first write would have opened a task; the one that landed opens none.
    expect(putsInto(transactItems(0), TABLE.tasks)).toHaveLength(1);
    expect(putsInto(transactItems(1), TABLE.tasks)).toHaveLength(0);
    expect(output.action).toBe('end');
  });

  it('reads more than 100 open tasks in batches, asking again for keys DynamoDB left unprocessed', async () => {
    // Arrange: 101 urgent tasks (101 non-fatal overdoses nobody has completed yet).
    const ids = Array.from({ length: 101 }, (_, i) => `T-${ENROLLMENT_ID}-overdose-${i}`);
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: enrollment(1, { openTasks: new Set(ids), eventSeq: 101 }) });
    const task = (taskId: string) =>
      openTask({ taskId, kind: 'overdose-urgent', urgent: true, escalateAt: '2026-11-21T09:00:00.000Z' });
    ddb.on(BatchGetCommand).callsFake((input) => {
      const keys = input.RequestItems[TABLE.tasks].Keys as { taskId: string }[];
      if (keys.length > 100) throw new Error('Too many items requested for the BatchGetItem call');
      // The first answer leaves its last key unprocessed.
      const [served, left] = keys.length > 1 ? [keys.slice(0, -1), keys.slice(-1)] : [keys, []];
      return {
        Responses: { [TABLE.tasks]: served.map((key) => task(key.taskId)) },
        UnprocessedKeys: left.length ? { [TABLE.tasks]: { Keys: left } } : {},
      };
    });

    // Act
    const output = await plan();

    // Assert: every task was read (none escalated yet), so the plan parks until the first escalation.
    const asked = ddb
      .commandCalls(BatchGetCommand)
      .flatMap((call) => call.args[0].input.RequestItems![TABLE.tasks].Keys);
    expect(new Set(asked.map((key) => (key as { taskId: string }).taskId))).toEqual(new Set(ids));
    expect(output).toMatchObject({ action: 'park', until: '2026-11-21T09:00:00.000Z' });
  });

  it('does not plan again after another DynamoDB failure', async () => {
    stored(enrollment(3));
    ddb
      .on(TransactWriteCommand)
      .rejects(new InternalServerError({ message: 'Internal error', $metadata: {} }));

    await expect(plan()).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
  });

  it('fails for an enrollment that does not exist', async () => {
    ddb.on(GetCommand).resolves({});

    await expect(plan()).rejects.toThrow(ENROLLMENT_ID);
  });

  it('reads the open tasks consistently and folds a due check into the open follow-up task', async () => {
    // Enrolled 7 days ago at 09:00: the 7-day checkpoint (and the daily supply check) are due.
    stored(enrollment(7, { judged: new Set(['checkpoint-72h']), openTasks: new Set([TASK_72H]) }), [
      openTask({ escalatedAt: '2026-11-18T09:00:00.000Z' }),
    ]);

    const output = await plan();

    expect(ddb).toHaveReceivedCommandWith(BatchGetCommand, {
      RequestItems: { [TABLE.tasks]: { Keys: [{ taskId: TASK_72H }], ConsistentRead: true } },
    });
    const items = transactItems();
    expect(putsInto(items, TABLE.tasks)).toHaveLength(0);
    const [update] = updatesOf(items, TABLE.enrollments);
    expect(update.UpdateExpression).toBe('ADD judged :judged');
    expect(setValue(update.ExpressionAttributeValues?.[':judged'])).toEqual(['checkpoint-7d', 'supply-none']);
    expect(output.action).toBe('park');
  });

  it('escalates an open task past its escalation time once, under a condition, and hands back an escalation notice', async () => {
    // Enrolled 4 days ago at 09:00; the 72-hour task opened yesterday at 09:00 and escalates today at 09:00.
    stored(enrollment(4, { judged: new Set(['checkpoint-72h']), openTasks: new Set([TASK_72H]) }), [
      openTask(),
    ]);

    const output = await plan();

    const items = transactItems();
    expect(items).toHaveLength(3);
    // Counted as escalated on the day the task opened.
    expect(addedCounters(updatesOf(items, TABLE.aggregates)[0])).toEqual({ 'outreach:escalated': 1 });
    expect(updatesOf(items, TABLE.aggregates)[0].Key).toMatchObject({ sk: '2026-11-19#site-7' });
    expect(spelled(items[0].ConditionCheck?.ConditionExpression, items[0].ConditionCheck!)).toBe(
      'attribute_not_exists(eventSeq) AND changeSeq = 4',
    );
    const [escalation] = updatesOf(items, TABLE.tasks);
    expect(escalation.Key).toEqual({ taskId: TASK_72H });
    expect(escalation.ConditionExpression).toContain('attribute_not_exists(escalatedAt)');
    expect(spelled(escalation.ConditionExpression, escalation)).toContain('status = "open"');
    expect(spelled(escalation.UpdateExpression, escalation)).toBe(
      `SET escalatedAt = "${NOW.toISOString()}", pendingNotice = "escalation"`,
    );
    expect(output).toMatchObject({ action: 'notify', notice: 'escalation', taskId: TASK_72H });
    expect(JSON.parse(String(output.message))).toEqual({
      kind: 'escalation',
      taskKind: 'follow-up',
      taskId: TASK_72H,
      enrollmentId: ENROLLMENT_ID,
      siteId: 'site-7',
      dueAt: '2026-11-19T09:00:00.000Z',
      escalatedAt: NOW.toISOString(),
      messageId: noticeMessageId(TASK_72H, 'escalation'),
    });
  });

  it('escalates without leaving a notice when there is no outreach consent', async () => {
    stored(
      enrollment(4, {
        consentOutreach: false,
        judged: new Set(['checkpoint-72h']),
        openTasks: new Set([TASK_72H]),
      }),
      [openTask()],
    );

    const output = await plan();

    const [escalation] = updatesOf(transactItems(), TABLE.tasks);
    expect(spelled(escalation.UpdateExpression, escalation)).toBe(`SET escalatedAt = "${NOW.toISOString()}"`);
    expect(output.action).toBe('park');
  });

  it('does not escalate a task again once it is escalated', async () => {
    stored(enrollment(4, { judged: new Set(['checkpoint-72h']), openTasks: new Set([TASK_72H]) }), [
      openTask({ escalatedAt: '2026-11-20T09:00:00.000Z' }),
    ]);

    const output = await plan();

    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    // Enrolled 2026-11-16: the checkpoints before day 180 would only be folded into the open task.
    expect(output).toMatchObject({ action: 'park', until: '2027-05-15T09:00:00.000Z' });
  });

  it('ends and marks the follow-up ended once the enrollment has ended', async () => {
    stored(enrollment(10, { history: ['2026-11-15 disenrolled'] }));

    const output = await plan();

    expect(output).toEqual({ action: 'end', seq: 4 });
    const [update] = updatesOf(transactItems(), TABLE.enrollments);
    // The follow-up leaves the sweep's index: nothing is expected of it any more.
    expect(spelled(update.UpdateExpression, update)).toBe(
      `SET followUpEndedAt = "${NOW.toISOString()}" REMOVE followUpActive`,
    );
    expect(putsInto(transactItems(), TABLE.tasks)).toHaveLength(0);
  });

  it('writes nothing when it ends again after the end was marked', async () => {
    stored(
      enrollment(10, { history: ['2026-11-15 disenrolled'], followUpEndedAt: '2026-11-15T10:00:00.000Z' }),
    );

    const output = await plan();

    expect(output).toEqual({ action: 'end', seq: 4 });
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });
});

describe('the markNotified step', () => {
  it('removes the pending notice under the condition that it is still pending', async () => {
    const output = await handler({
      step: 'markNotified',
      enrollmentId: ENROLLMENT_ID,
      taskId: TASK_72H,
      notice: 'outreach',
    });

    expect(output).toEqual({});
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.TableName).toBe(TABLE.tasks);
    expect(update.Key).toEqual({ taskId: TASK_72H });
    expect(spelled(update.UpdateExpression, update)).toBe(
      `REMOVE pendingNotice SET notifiedAt = "${NOW.toISOString()}"`,
    );
    expect(spelled(update.ConditionExpression, update)).toBe('pendingNotice = "outreach"');
  });

  it('records an escalation notice under its own name', async () => {
    await handler({
      step: 'markNotified',
      enrollmentId: ENROLLMENT_ID,
      taskId: TASK_72H,
      notice: 'escalation',
    });

    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(spelled(update.UpdateExpression, update)).toContain('escalationNotifiedAt');
    expect(spelled(update.ConditionExpression, update)).toBe('pendingNotice = "escalation"');
  });

  it('treats a failed condition as already marked (a re-run)', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());

    await expect(
      handler({ step: 'markNotified', enrollmentId: ENROLLMENT_ID, taskId: TASK_72H, notice: 'outreach' }),
    ).resolves.toEqual({});
  });

  it('lets another failure through for Step Functions to retry', async () => {
    ddb.on(UpdateCommand).rejects(new InternalServerError({ message: 'Internal error', $metadata: {} }));

    await expect(
      handler({ step: 'markNotified', enrollmentId: ENROLLMENT_ID, taskId: TASK_72H, notice: 'outreach' }),
    ).rejects.toMatchObject({ name: 'InternalServerError' });
  });
});

describe('the park step', () => {
  const park = () =>
    handler({
      step: 'park',
      enrollmentId: ENROLLMENT_ID,
      token: 'park-token-9',
      seq: 4,
      until: '2026-11-22T09:00:00.000Z',
    });

  it('stores its token when nothing changed since the plan, and does not wake itself', async () => {
    await expect(park()).resolves.toEqual({});

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    const update = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(update.TableName).toBe(TABLE.enrollments);
    expect(update.Key).toEqual({ enrollmentId: ENROLLMENT_ID });
    expect(spelled(update.UpdateExpression, update)).toBe(
      'SET parkToken = "park-token-9", parkedUntil = "2026-11-22T09:00:00.000Z"',
    );
    expect(spelled(update.ConditionExpression, update)).toBe('changeSeq = 4');
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('wakes itself with its own token when something changed since the plan', async () => {
    ddb.on(UpdateCommand).rejects(conditionFailed());

    await expect(park()).resolves.toEqual({});

    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-9' });
  });

  it('wakes itself to plan again when a transaction on the enrollment holds it right now', async () => {
    ddb
      .on(UpdateCommand)
      .rejects(
        new TransactionConflictException({ message: 'Transaction is ongoing for the item', $metadata: {} }),
      );

    await expect(park()).resolves.toEqual({});

    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-9' });
  });

  it('lets another failure through without waking itself', async () => {
    ddb.on(UpdateCommand).rejects(new InternalServerError({ message: 'Internal error', $metadata: {} }));

    await expect(park()).rejects.toMatchObject({ name: 'InternalServerError' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});
