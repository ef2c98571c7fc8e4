import { createHash } from 'node:crypto';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DecryptCommand, EncryptCommand, GenerateMacCommand, KMSClient } from '@aws-sdk/client-kms';
import {
  ExecutionAlreadyExists,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
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
import { useClock } from '../../../functions/adapters/clock.js';
import { logger } from '../../../functions/adapters/logger.js';
import { aggregateKey } from '../../../functions/core/aggregates.js';
import { enrollmentTaskId } from '../../../functions/core/staff/tasks.js';
import { handler } from '../../../functions/enrollments/handler.js';
import { workflows } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import {
  addedCounters,
  type Expressed,
  fakeMac,
  fakeOpen,
  ID_KEY_ID,
  installFakeKms,
  silenceLogger,
  spelled,
  stubEnvironment,
  TABLE,
} from '../handlers/fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const DAY = 86_400_000;
const PHONE = '+15555550123';
const DIGITS = PHONE.slice(2);
const STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:123456789012:stateMachine:test-follow-up';
const EVENT_ID = '6a0e8f52-3c1d-4b7e-9a2f-0d1c2b3a4e5f';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The id the keyed HMAC (the fake KMS HMAC key) gives a participant and day. */
const expectedId = (participantRef: string, enrolledOn: string) =>
  `E-${fakeMac(`enrollment\u0000${participantRef}\u0000${enrolledOn}`).toString('hex').slice(0, 32)}`;
const TASK_KEY = '0f'.repeat(16);
const ENROLLMENT_ID = expectedId('P-1042', '2026-11-18');

const enrollmentBody = (overrides: Item = {}): Item => ({
  participantRef: 'P-1042',
  siteId: 'site-7',
  enrolledOn: '2026-11-18',
  medication: 'buprenorphine-er-monthly',
  overdosesPrior12m: 2,
  consent: { outreach: true, part2: true },
  contact: { phone: PHONE },
  ...overrides,
});

function enroll(body: unknown) {
  return invoke(
    handler,
    apiEvent({
      method: 'POST',
      resource: '/v1/moud/enrollments',
      body: body as object,
      role: 'outreach',
      username: 'outreach-7',
    }),
  );
}

function recordEvent(body: unknown, enrollmentId = ENROLLMENT_ID) {
  return invoke(
    handler,
    apiEvent({
      method: 'POST',
      resource: '/v1/moud/enrollments/{enrollmentId}/events',
      pathParameters: { enrollmentId },
      body: body as object,
      role: 'outreach',
      username: 'outreach-7',
    }),
  );
}

/** What the stored enrollment adds to its cohort counters before any event. */
const BASE_CONTRIBUTION = { enrollments: 1, priorOverdoses: 2, 'medication:buprenorphine-er-monthly': 1 };

/** An enrollment as the store holds it (what GetItem answers). */
const storedEnrollment = (overrides: Item = {}): Item => ({
  enrollmentId: ENROLLMENT_ID,
  participantRef: 'P-1042',
  siteId: 'site-7',
  enrolledOn: '2026-11-18',
  enrolledAt: '2026-11-18T15:00:00.000Z',
  medication: 'buprenorphine-er-monthly',
  overdosesPrior12m: 2,
  consentOutreach: true,
  consentPart2: true,
  contactId: ENROLLMENT_ID,
  taskKey: TASK_KEY,
  fingerprint: 'f'.repeat(64),
  changeSeq: 3,
  history: [],
  contribution: BASE_CONTRIBUTION,
  ...overrides,
});

function transactItems(n = 0): TransactItem[] {
  return ddb.commandCalls(TransactWriteCommand)[n].args[0].input.TransactItems ?? [];
}
const putsInto = (items: TransactItem[], table: string) =>
  items.filter((item) => item.Put?.TableName === table).map((item) => item.Put!);
const updatesOf = (items: TransactItem[], table: string) =>
  items.filter((item) => item.Update?.TableName === table).map((item) => item.Update!);

/** A transaction cancelled because the guard (item 0) exists: DynamoDB hands back the stored item. */
function cancelledWith(stored: Item) {
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

/** The ADD clause of an update expression (wherever it stands). */
const addClause = (input: Expressed) =>
  /\bADD (.*?)(?= (?:SET|REMOVE|DELETE) |$)/.exec(input.UpdateExpression ?? '')?.[1] ?? '';

/** The set an ADD or DELETE clause adds, as a sorted array. */
const setValue = (value: unknown) => [...(value as Set<string>)].sort();

beforeEach(() => {
  ddb.reset();
  kms.reset();
  sfn.reset();
  sns.reset();
  stubEnvironment();
  vi.stubEnv(workflows.followUp.envVar, STATE_MACHINE_ARN);
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  silenceLogger();
  ddb.on(TransactWriteCommand).resolves({});
  ddb.on(GetCommand).resolves({});
  ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  sfn.on(StartExecutionCommand).resolves({ executionArn: `${STATE_MACHINE_ARN}:x`, startDate: NOW });
  sfn.on(SendTaskSuccessCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: 'sns-1' });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('enrolling a person', () => {
  it('answers 201 with the enrollment id and the five checkpoints counted from enrolledOn at the time of day now', async () => {
    const response = await enroll(enrollmentBody());

    expect(response.status).toBe(201);
    const enrolledAt = Date.parse('2026-11-18T15:00:00.000Z');
    expect(response.body).toEqual({
      enrollmentId: ENROLLMENT_ID,
      followUps: [
        { kind: 'checkpoint-72h', dueAt: '2026-11-21T15:00:00.000Z' },
        { kind: 'checkpoint-7d', dueAt: new Date(enrolledAt + 7 * DAY).toISOString() },
        { kind: 'checkpoint-30d', dueAt: new Date(enrolledAt + 30 * DAY).toISOString() },
        { kind: 'checkpoint-90d', dueAt: new Date(enrolledAt + 90 * DAY).toISOString() },
        { kind: 'checkpoint-180d', dueAt: new Date(enrolledAt + 180 * DAY).toISOString() },
      ],
    });
  });

  it('derives the enrollment id with the KMS HMAC key, so that no unkeyed hash of the participant and day gives it', async () => {
    const response = await enroll(enrollmentBody());

    expect(kms).toHaveReceivedCommandWith(GenerateMacCommand, {
      KeyId: ID_KEY_ID,
      MacAlgorithm: 'HMAC_SHA_256',
    });
    const unkeyed = createHash('sha256').update('P-1042\u00002026-11-18').digest('hex');
    expect(response.body.enrollmentId).toBe(ENROLLMENT_ID);
    expect(response.body.enrollmentId).not.toContain(unkeyed.slice(0, 24));
    expect(response.body.enrollmentId).toMatch(/^E-[0-9a-f]{32}$/);
  });

  it('gives the same participant and day the same id, and another day another id', async () => {
    const first = await enroll(enrollmentBody());
    ddb.on(TransactWriteCommand).resolves({});
    const other = await enroll(enrollmentBody({ enrolledOn: '2026-11-17' }));

    expect(first.body.enrollmentId).toBe(ENROLLMENT_ID);
    expect(other.body.enrollmentId).toBe(expectedId('P-1042', '2026-11-17'));
    expect(other.body.enrollmentId).not.toBe(ENROLLMENT_ID);
  });

  it('gives each enrollment its own random task key, kept on the enrollment only', async () => {
    await enroll(enrollmentBody());

    const stored = putsInto(transactItems(), TABLE.enrollments)[0]!.Item as Item;
    expect(stored.taskKey).toMatch(/^[0-9a-f]{32}$/);
    expect(
      sfn
        .calls()
        .map((call) => JSON.stringify(call.args[0].input))
        .join(''),
    ).not.toContain(String(stored.taskKey));
  });

  it('records the enrollment under a guard, with the aggregates, in one transaction', async () => {
    await enroll(enrollmentBody());

    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 1);
    const items = transactItems();
    const [enrollment] = putsInto(items, TABLE.enrollments);
    expect(enrollment.ConditionExpression).toBe('attribute_not_exists(enrollmentId)');
    expect(enrollment.ReturnValuesOnConditionCheckFailure).toBe('ALL_OLD');
    expect(enrollment.Item).toMatchObject({
      enrollmentId: ENROLLMENT_ID,
      participantRef: 'P-1042',
      siteId: 'site-7',
      enrolledOn: '2026-11-18',
      enrolledAt: '2026-11-18T15:00:00.000Z',
      medication: 'buprenorphine-er-monthly',
      consentOutreach: true,
      consentPart2: true,
      contactId: ENROLLMENT_ID,
      changeSeq: 0,
      recordedBy: 'outreach-7',
    });
    const [aggregate] = updatesOf(items, TABLE.aggregates);
    expect(aggregate.Key).toEqual(aggregateKey('moud', '2026-11-18', 'site-7', ENROLLMENT_ID));
    expect(addedCounters(aggregate)).toMatchObject({ enrollments: 1 });
  });

  it('starts the follow-up workflow named after the enrollment with nothing but ids as input: its own and the request’s correlation id', async () => {
    await enroll(enrollmentBody());

    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    const start = sfn.commandCalls(StartExecutionCommand)[0].args[0].input;
    expect(start.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(start.name).toBe(ENROLLMENT_ID);
    expect(JSON.parse(start.input ?? '')).toEqual({ enrollmentId: ENROLLMENT_ID, correlationId: 'req-1' });
    expect(start.input).not.toContain('P-1042');
    expect(start.input).not.toContain('buprenorphine');
    expect(start.input).not.toContain(DIGITS);
  });

  it('seals the contact: the phone number is in no stored item but the sealed contact, nor in the workflow', async () => {
    await enroll(enrollmentBody());

    const items = transactItems();
    const [contact] = putsInto(items, TABLE.contacts);
    expect(contact.Item?.contactId).toBe(ENROLLMENT_ID);
    const opened = fakeOpen(String(contact.Item?.sealed));
    expect(opened.purpose).toBe(`contact:${ENROLLMENT_ID}`);
    expect(JSON.parse(opened.plaintext)).toEqual({ phone: PHONE });
    for (const item of items) expect(JSON.stringify(item)).not.toContain(DIGITS);
    expect(JSON.stringify(sfn.calls().map((call) => call.args[0].input))).not.toContain(DIGITS);
    const logged = (['debug', 'info', 'warn', 'error'] as const).flatMap(
      (level) => vi.mocked(logger[level]).mock.calls,
    );
    expect(JSON.stringify(logged)).not.toContain(DIGITS);
  });

  it('stores no contact and seals nothing when the body has no contact', async () => {
    const { contact: _contact, ...body } = enrollmentBody();

    const response = await enroll(body);

    expect(response.status).toBe(201);
    expect(putsInto(transactItems(), TABLE.contacts)).toHaveLength(0);
    expect(putsInto(transactItems(), TABLE.enrollments)[0].Item?.contactId).toBeUndefined();
    expect(kms).not.toHaveReceivedCommand(EncryptCommand);
  });

  it('answers 200 with the same id for a retry and starts the workflow again, ExecutionAlreadyExists swallowed', async () => {
    const first = await enroll(enrollmentBody());
    const stored = putsInto(transactItems(), TABLE.enrollments)[0].Item as Item;
    const contact = putsInto(transactItems(), TABLE.contacts)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));
    ddb
      .on(GetCommand, { TableName: TABLE.contacts, Key: { contactId: ENROLLMENT_ID } })
      .resolves({ Item: contact });
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution already exists', $metadata: {} }));
    useClock(() => new Date(NOW.getTime() + 3_600_000));

    const retry = await enroll(enrollmentBody());

    expect(retry.status).toBe(200);
    // The checkpoints stay those of the first recording, not of the retry's time of day.
    expect(retry.body).toEqual(first.body);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
    expect(sfn.commandCalls(StartExecutionCommand)[1].args[0].input.name).toBe(ENROLLMENT_ID);
  });

  it('answers 409 enrollment_exists for the same participant and day with another body', async () => {
    await enroll(enrollmentBody());
    const stored = putsInto(transactItems(), TABLE.enrollments)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));
    sfn.resetHistory();

    const response = await enroll(enrollmentBody({ overdosesPrior12m: 3 }));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('enrollment_exists');
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 409 enrollment_exists for the same body with another phone number, comparing the opened contact', async () => {
    await enroll(enrollmentBody());
    const stored = putsInto(transactItems(), TABLE.enrollments)[0].Item as Item;
    const contact = putsInto(transactItems(), TABLE.contacts)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));
    ddb
      .on(GetCommand, { TableName: TABLE.contacts, Key: { contactId: ENROLLMENT_ID } })
      .resolves({ Item: contact });
    sfn.resetHistory();

    const response = await enroll(enrollmentBody({ contact: { phone: '+15555550999' } }));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('enrollment_exists');
    expect(kms).toHaveReceivedCommandWith(DecryptCommand, {
      EncryptionContext: { purpose: `contact:${ENROLLMENT_ID}` },
    });
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('answers 409 enrollment_exists for a retry without the contact the first one had', async () => {
    await enroll(enrollmentBody());
    const stored = putsInto(transactItems(), TABLE.enrollments)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));
    const { contact: _contact, ...body } = enrollmentBody();

    const response = await enroll(body);

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('enrollment_exists');
  });

  // Contract, "Errors": invalid_event for kiosk and enrollment events, invalid_request elsewhere.
  it('answers 400 invalid_request for an enrolledOn after the backend’s today, and records nothing', async () => {
    useClock(() => new Date('2026-11-17T23:59:59.000Z'));

    const response = await enroll(enrollmentBody());

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues).toEqual([{ path: 'enrolledOn', message: expect.any(String) }]);
    expect(ddb.calls()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('accepts an enrolledOn of the backend’s today', async () => {
    useClock(() => new Date('2026-11-18T00:00:01.000Z'));

    const response = await enroll(enrollmentBody());

    expect(response.status).toBe(201);
    expect(response.body.followUps[0].dueAt).toBe('2026-11-21T00:00:01.000Z');
  });

  it('answers 400 invalid_request naming an unknown field, and records nothing', async () => {
    const response = await enroll(enrollmentBody({ diagnosis: 'OUD' }));

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues).toEqual([{ path: 'diagnosis', message: expect.any(String) }]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 503 when the workflow cannot be started, and a retry starts it', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(
      new SFNServiceException({
        name: 'ServiceUnavailable',
        $fault: 'server',
        $metadata: { httpStatusCode: 503 },
        message: 'Service unavailable',
      }),
    );

    const failed = await enroll(enrollmentBody());

    expect(failed.status).toBe(503);
    expect(failed.body.error.code).toBe('service_unavailable');
    const stored = putsInto(transactItems(), TABLE.enrollments)[0].Item as Item;
    const contact = putsInto(transactItems(), TABLE.contacts)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));
    ddb
      .on(GetCommand, { TableName: TABLE.contacts, Key: { contactId: ENROLLMENT_ID } })
      .resolves({ Item: contact });

    const retry = await enroll(enrollmentBody());

    expect(retry.status).toBe(200);
    expect(retry.body.enrollmentId).toBe(ENROLLMENT_ID);
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 2);
  });
});

describe('recording an enrollment event', () => {
  const event = (overrides: Item = {}): Item => ({
    eventId: EVENT_ID,
    type: 'dose',
    occurredOn: '2026-11-19',
    ...overrides,
  });

  beforeEach(() => {
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: storedEnrollment() });
    ddb
      .on(UpdateCommand)
      .resolves({ Attributes: storedEnrollment({ changeSeq: 4, parkToken: 'park-token-1' }) });
  });

  /** The cohort counter update of a transaction (the enrollment's day and site, its own shard). */
  const counterChanges = (items: TransactItem[]) => {
    const [update] = updatesOf(items, TABLE.aggregates);
    return update ? addedCounters(update) : {};
  };
  const written = (items: TransactItem[]) => {
    const [enrollment] = updatesOf(items, TABLE.enrollments);
    return enrollment;
  };

  it('records a dose: 201, its entry added to the history under the event sequence, and the workflow is not woken', async () => {
    const response = await recordEvent(event());

    expect(response.status).toBe(201);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'recorded' });
    const items = transactItems();
    const [stored] = putsInto(items, TABLE.enrollmentEvents);
    expect(stored.ConditionExpression).toBe('attribute_not_exists(eventId)');
    expect(stored.Item).toMatchObject({ enrollmentId: ENROLLMENT_ID, eventId: EVENT_ID, type: 'dose' });
    const enrollment = written(items);
    expect(enrollment.Key).toEqual({ enrollmentId: ENROLLMENT_ID });
    expect(enrollment.ConditionExpression).toContain('attribute_exists(enrollmentId)');
    expect(enrollment.ExpressionAttributeValues?.[':history']).toEqual(['2026-11-19 dose 1']);
    expect(enrollment.ExpressionAttributeValues?.[':next']).toBe(1);
    expect(enrollment.UpdateExpression).not.toMatch(/endedOn|openTasks/);
    expect(putsInto(items, TABLE.tasks)).toHaveLength(0);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('keeps a dose’s days of supply in the history', async () => {
    await recordEvent(event({ daysSupply: 14 }));

    expect(written(transactItems()).ExpressionAttributeValues?.[':history']).toEqual(['2026-11-19 dose 14']);
  });

  it('adds an injection to the history after what was recorded before', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: storedEnrollment({ eventSeq: 1, history: ['2026-11-18 visit'] }) });

    await recordEvent(event({ type: 'injection' }));

    const enrollment = written(transactItems());
    expect(enrollment.ExpressionAttributeValues?.[':history']).toEqual([
      '2026-11-18 visit',
      '2026-11-19 injection',
    ]);
    expect(spelled(enrollment.ConditionExpression, enrollment)).toContain('eventSeq = 1');
  });

  it('opens an urgent task for a non-fatal overdose, counts it, tells outreach, and wakes the parked workflow', async () => {
    const response = await recordEvent(event({ type: 'overdose', fatal: false }));

    expect(response.status).toBe(201);
    const items = transactItems();
    const taskId = enrollmentTaskId(
      { enrollmentId: ENROLLMENT_ID, taskKey: TASK_KEY },
      `overdose-${EVENT_ID}`,
    );
    const [task] = putsInto(items, TABLE.tasks);
    expect(task.Item).toMatchObject({
      taskId,
      kind: 'overdose-urgent',
      urgent: true,
      status: 'open',
      enrollmentId: ENROLLMENT_ID,
      siteId: 'site-7',
      contactId: ENROLLMENT_ID,
      createdAt: NOW.toISOString(),
      escalateAt: new Date(NOW.getTime() + DAY).toISOString(),
    });
    const enrollment = written(items);
    expect(addClause(enrollment)).toContain('openTasks :task');
    expect(enrollment.UpdateExpression).not.toContain('endedOn');
    expect(setValue(enrollment.ExpressionAttributeValues?.[':task'])).toEqual([taskId]);
    expect(counterChanges(items)).toEqual({ 'od:2026-11-19': 1 });
    const [outboxRow] = putsInto(items, TABLE.outbox);
    expect(outboxRow.Item?.topic).toBe('outreach');
    const message = JSON.parse(String(outboxRow.Item?.message));
    expect(message).toMatchObject({
      kind: 'follow-up',
      taskId,
      enrollmentId: ENROLLMENT_ID,
      siteId: 'site-7',
    });
    expect(JSON.stringify(message)).not.toMatch(/P-1042|buprenorphine|5555550123|overdose/);

    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    const touch = ddb.commandCalls(UpdateCommand)[0].args[0].input;
    expect(touch.TableName).toBe(TABLE.enrollments);
    expect(touch.Key).toEqual({ enrollmentId: ENROLLMENT_ID });
    // Due to be heard from now: a woken execution parks again at once; a dead one is restarted within the hour.
    expect(touch.UpdateExpression).toBe('SET parkedUntil = :at ADD changeSeq :one');
    expect(touch.ExpressionAttributeValues?.[':at']).toBe(NOW.toISOString());
    expect(touch.ReturnValues).toBe('ALL_NEW');
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-1' });
  });

  it('opens the urgent task but writes and publishes no message without outreach consent', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: storedEnrollment({ consentOutreach: false }) });

    const response = await recordEvent(event({ type: 'overdose', fatal: false }));

    expect(response.status).toBe(201);
    expect(putsInto(transactItems(), TABLE.tasks)).toHaveLength(1);
    expect(putsInto(transactItems(), TABLE.outbox)).toHaveLength(0);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-1' });
  });

  it('opens the urgent task without a message when consent was withdrawn by a consent event', async () => {
    ddb.on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } }).resolves({
      Item: storedEnrollment({ eventSeq: 1, history: ['2026-11-18 consent outreach=false part2=true'] }),
    });

    await recordEvent(event({ type: 'overdose', fatal: false }));

    expect(putsInto(transactItems(), TABLE.tasks)).toHaveLength(1);
    expect(putsInto(transactItems(), TABLE.outbox)).toHaveLength(0);
  });

  it('opens no urgent task, and counts nothing, for an overdose dated after the follow-up ended', async () => {
    const ended = { ...BASE_CONTRIBUTION, 'end:2026-11-19': 1, 'disenrolled:2026-11-19': 1 };
    ddb.on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } }).resolves({
      Item: storedEnrollment({ eventSeq: 1, history: ['2026-11-19 disenrolled'], contribution: ended }),
    });

    const response = await recordEvent(event({ type: 'overdose', fatal: false, occurredOn: '2026-11-20' }));

    expect(response.status).toBe(201);
    expect(putsInto(transactItems(), TABLE.tasks)).toHaveLength(0);
    expect(putsInto(transactItems(), TABLE.outbox)).toHaveLength(0);
    expect(counterChanges(transactItems())).toEqual({});
  });

  it('opens an urgent task for an overdose dated before a disenrollment recorded earlier, and runs the finished follow-up again to escalate it', async () => {
    const ended = { ...BASE_CONTRIBUTION, 'end:2026-11-20': 1, 'disenrolled:2026-11-20': 1 };
    ddb.on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } }).resolves({
      Item: storedEnrollment({
        eventSeq: 1,
        history: ['2026-11-20 disenrolled'],
        contribution: ended,
        followUpEndedAt: '2026-11-20T10:00:00.000Z',
      }),
    });

    const response = await recordEvent(event({ type: 'overdose', fatal: false, occurredOn: '2026-11-19' }));

    expect(response.status).toBe(201);
    const items = transactItems();
    expect(putsInto(items, TABLE.tasks)).toHaveLength(1);
    expect(counterChanges(items)).toEqual({ 'od:2026-11-19': 1 });
    const enrollment = written(items);
    expect(spelled(enrollment.UpdateExpression, enrollment)).toContain('followUpActive = "yes"');
    expect(enrollment.UpdateExpression).toContain('REMOVE followUpEndedAt');
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: STATE_MACHINE_ARN,
      name: `${ENROLLMENT_ID}-u2`,
    });
  });

  it.each([
    [{ type: 'overdose', fatal: true }, 'died'],
    [{ type: 'disenrolled' }, 'disenrolled'],
  ])('ends the follow-up for %j on its day, counts the end and wakes the workflow', async (body, reason) => {
    const response = await recordEvent(event(body));

    expect(response.status).toBe(201);
    const items = transactItems();
    const enrollment = written(items);
    const text = spelled(enrollment.UpdateExpression, enrollment);
    expect(text).toContain('endedOn = "2026-11-19"');
    expect(text).toContain(`endReason = "${reason}"`);
    expect(counterChanges(items)).toMatchObject({ 'end:2026-11-19': 1, [`${reason}:2026-11-19`]: 1 });
    expect(putsInto(items, TABLE.tasks)).toHaveLength(0);
    expect(putsInto(items, TABLE.outbox)).toHaveLength(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-1' });
  });

  it('keeps the earliest end whatever order the endings come in: a later disenrollment changes nothing', async () => {
    const died = { ...BASE_CONTRIBUTION, 'od:2026-11-18': 1, 'end:2026-11-18': 1, 'died:2026-11-18': 1 };
    ddb.on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } }).resolves({
      Item: storedEnrollment({ eventSeq: 1, history: ['2026-11-18 overdose fatal'], contribution: died }),
    });

    const response = await recordEvent(event({ type: 'disenrolled' }));

    expect(response.status).toBe(201);
    const enrollment = written(transactItems());
    expect(spelled(enrollment.UpdateExpression, enrollment)).toContain('endedOn = "2026-11-18"');
    expect(counterChanges(transactItems())).toEqual({});
  });

  it('moves the end to an earlier death recorded after a disenrollment, by difference', async () => {
    const left = { ...BASE_CONTRIBUTION, 'end:2026-11-19': 1, 'disenrolled:2026-11-19': 1 };
    ddb.on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } }).resolves({
      Item: storedEnrollment({ eventSeq: 1, history: ['2026-11-19 disenrolled'], contribution: left }),
    });

    await recordEvent(event({ type: 'overdose', fatal: true, occurredOn: '2026-11-18' }));

    expect(counterChanges(transactItems())).toEqual({
      'end:2026-11-19': -1,
      'disenrolled:2026-11-19': -1,
      'end:2026-11-18': 1,
      'died:2026-11-18': 1,
      'od:2026-11-18': 1,
    });
  });

  it('records a consent change in the access log, keeps the consent in force, and wakes the workflow', async () => {
    const response = await recordEvent(
      event({ type: 'consent', consent: { outreach: false, part2: true }, occurredOn: '2026-11-20' }),
    );

    expect(response.status).toBe(201);
    const items = transactItems();
    const [entry] = putsInto(items, TABLE.audit);
    expect(entry.Item).toMatchObject({
      subject: `enrollment:${ENROLLMENT_ID}`,
      actor: 'outreach-7',
      action: 'consent-change',
      occurredOn: '2026-11-20',
      outreach: 'false',
      part2: 'true',
    });
    expect(written(items).ExpressionAttributeValues?.[':consentNow']).toEqual({
      outreach: false,
      part2: true,
    });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-1' });
  });

  it('stops every unpublished outreach message of the enrollment when outreach consent is withdrawn', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: storedEnrollment({ openTasks: new Set(['T-a', 'T-b']) }) });

    await recordEvent(event({ type: 'consent', consent: { outreach: false, part2: true } }));

    const items = transactItems();
    const cleared = updatesOf(items, TABLE.tasks);
    expect(cleared.map((update) => update.Key)).toEqual([{ taskId: 'T-a' }, { taskId: 'T-b' }]);
    for (const update of cleared) expect(update.UpdateExpression).toBe('REMOVE pendingNotice');
    const deleted = items.filter((item) => item.Delete?.TableName === TABLE.outbox);
    expect(deleted).toHaveLength(2);
  });

  it('stops nothing when a consent event keeps outreach consent', async () => {
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: storedEnrollment({ openTasks: new Set(['T-a']) }) });

    await recordEvent(event({ type: 'consent', consent: { outreach: true, part2: false } }));

    expect(updatesOf(transactItems(), TABLE.tasks)).toHaveLength(0);
  });

  it('reads the history of an enrollment recorded before histories were kept from its events, and writes the difference from what it had counted', async () => {
    // Recorded by an earlier version: no history, no contribution; an overdose counted on day 50 was
    // recorded before the disenrollment of day 45 that ended the follow-up.
    const { history: _h, contribution: _c, ...legacy } = storedEnrollment({ eventSeq: 2 });
    ddb
      .on(GetCommand, { TableName: TABLE.enrollments, Key: { enrollmentId: ENROLLMENT_ID } })
      .resolves({ Item: { ...legacy, endedOn: '2026-11-19' } });
    ddb.on(QueryCommand).resolves({
      Items: [
        { type: 'overdose', occurredOn: '2026-11-20', fatal: false, recordedAt: '2026-11-20T08:00:00.000Z' },
        { type: 'disenrolled', occurredOn: '2026-11-19', recordedAt: '2026-11-20T09:00:00.000Z' },
      ],
    });

    await recordEvent(event({ type: 'visit', occurredOn: '2026-11-18' }));

    const items = transactItems();
    expect(written(items).ExpressionAttributeValues?.[':history']).toEqual([
      '2026-11-20 overdose nonfatal',
      '2026-11-19 disenrolled',
      '2026-11-18 visit',
    ]);
    // The overdose after the end is no longer counted.
    expect(counterChanges(items)).toEqual({ 'od:2026-11-20': -1 });
  });

  it('answers 400 invalid_event for daysSupply on anything but a dose, or out of 1-90', async () => {
    for (const body of [
      event({ type: 'visit', daysSupply: 7 }),
      event({ daysSupply: 0 }),
      event({ daysSupply: 91 }),
    ]) {
      const response = await recordEvent(body);
      expect(response.status).toBe(400);
      expect(response.body.error.issues).toEqual([{ path: 'daysSupply', message: expect.any(String) }]);
    }
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
  });

  it('answers 400 invalid_event for a consent event without its consent, or consent on another event', async () => {
    for (const body of [event({ type: 'consent' }), event({ consent: { outreach: true, part2: true } })]) {
      const response = await recordEvent(body);
      expect(response.status).toBe(400);
      expect(response.body.error.issues).toEqual([{ path: 'consent', message: expect.any(String) }]);
    }
  });

  it('does not call Step Functions when no execution is parked', async () => {
    ddb.on(UpdateCommand).resolves({ Attributes: storedEnrollment({ changeSeq: 4 }) });

    const response = await recordEvent(event({ type: 'disenrolled' }));

    expect(response.status).toBe(201);
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('still answers 201 when the parked token timed out', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));

    const response = await recordEvent(event({ type: 'overdose', fatal: false }));

    expect(response.status).toBe(201);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'recorded' });
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('answers 400 invalid_event with the issue at fatal for an overdose without fatal', async () => {
    const response = await recordEvent(event({ type: 'overdose' }));

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_event');
    expect(response.body.error.issues).toEqual([{ path: 'fatal', message: expect.any(String) }]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 400 invalid_event with the issue at fatal for a dose with fatal', async () => {
    const response = await recordEvent(event({ fatal: false }));

    expect(response.status).toBe(400);
    expect(response.body.error.issues).toEqual([{ path: 'fatal', message: expect.any(String) }]);
  });

  it('answers 400 invalid_event for an occurredOn after the backend’s today', async () => {
    const response = await recordEvent(event({ occurredOn: '2026-11-21' }));

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_event');
    expect(response.body.error.issues).toEqual([{ path: 'occurredOn', message: expect.any(String) }]);
    expect(ddb.calls()).toHaveLength(0);
  });

  it('answers 404 not_found for an unknown enrollment and writes nothing', async () => {
    const response = await recordEvent(event(), 'E-000000000000000000000000');

    expect(response.status).toBe(404);
    expect(response.body.error.code).toBe('not_found');
    expect(ddb).not.toHaveReceivedCommand(TransactWriteCommand);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('answers 200 duplicate for the same event again, and neither opens nor wakes anything', async () => {
    await recordEvent(event({ type: 'overdose', fatal: false }));
    const stored = putsInto(transactItems(), TABLE.enrollmentEvents)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));
    ddb.resetHistory();
    sfn.resetHistory();
    sns.resetHistory();

    const response = await recordEvent(event({ type: 'overdose', fatal: false }));

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ eventId: EVENT_ID, status: 'duplicate' });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(sfn.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
  });

  it('answers 409 event_id_conflict for the same eventId with another event', async () => {
    await recordEvent(event());
    const stored = putsInto(transactItems(), TABLE.enrollmentEvents)[0].Item as Item;
    ddb.on(TransactWriteCommand).callsFake(cancelledWith(stored));

    const response = await recordEvent(event({ occurredOn: '2026-11-20' }));

    expect(response.status).toBe(409);
    expect(response.body.error.code).toBe('event_id_conflict');
  });

  it('plans again from the enrollment DynamoDB hands back when it changed since it was read', async () => {
    const current = storedEnrollment({
      eventSeq: 2,
      history: ['2026-11-19 disenrolled'],
      contribution: { ...BASE_CONTRIBUTION, 'end:2026-11-19': 1, 'disenrolled:2026-11-19': 1 },
    });
    ddb
      .on(TransactWriteCommand)
      .callsFakeOnce((input: TransactWriteCommandInput) => {
        throw new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: (input.TransactItems ?? []).map((_, i) =>
            i === 1
              ? { Code: 'ConditionalCheckFailed', Item: marshall(current, { removeUndefinedValues: true }) }
              : { Code: 'None' },
          ),
        });
      })
      .resolves({});

    const response = await recordEvent(event({ type: 'overdose', fatal: false, occurredOn: '2026-11-20' }));

    expect(response.status).toBe(201);
    expect(ddb).toHaveReceivedCommandTimes(TransactWriteCommand, 2);
    // The first attempt, planned from the enrollment as read, opened an urgent task ...
    expect(putsInto(transactItems(0), TABLE.tasks)).toHaveLength(1);
    // ... the second, planned from the ended enrollment, opens none and is guarded by what it saw.
    const retry = transactItems(1);
    expect(putsInto(retry, TABLE.tasks)).toHaveLength(0);
    expect(putsInto(retry, TABLE.outbox)).toHaveLength(0);
    const [enrollment] = updatesOf(retry, TABLE.enrollments);
    expect(spelled(enrollment.ConditionExpression, enrollment)).toContain('eventSeq = 2');
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });

  it('answers 404 not_found when the enrollment vanished between the read and the write', async () => {
    ddb.on(TransactWriteCommand).callsFake((input: TransactWriteCommandInput) => {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: (input.TransactItems ?? []).map((_, i) =>
          i === 1 ? { Code: 'ConditionalCheckFailed' } : { Code: 'None' },
        ),
      });
    });

    const response = await recordEvent(event());

    expect(response.status).toBe(404);
  });
});
