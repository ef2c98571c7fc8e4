import { InternalServerError } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { SendTaskSuccessCommand, SFNClient, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  GetCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { handler } from '../../../functions/tasks/handler.js';
import { apiEvent, invoke } from '../../support/events.js';
import { installFakeKms, silenceLogger, stubEnvironment, TABLE } from '../handlers/fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const kms = mockClient(KMSClient);
const sfn = mockClient(SFNClient);

const NOW = new Date('2026-11-20T15:00:00.000Z');
const ENROLLMENT_ID = 'E-0123456789abcdef01234567';
const TASK_ID = `T-${ENROLLMENT_ID}-checkpoint-72h`;

type Item = Record<string, unknown>;

const moudTask = (overrides: Item = {}): Item => ({
  taskId: TASK_ID,
  kind: 'checkpoint-72h',
  siteId: 'site-7',
  enrollmentId: ENROLLMENT_ID,
  source: 'moud',
  contactId: ENROLLMENT_ID,
  dueAt: '2026-11-20T09:00:00.000Z',
  createdAt: '2026-11-20T09:00:00.000Z',
  escalateAt: '2026-11-21T09:00:00.000Z',
  status: 'open',
  ...overrides,
});

const kioskTask = (overrides: Item = {}): Item => ({
  taskId: 'T-kiosk-1',
  kind: 'kiosk-contact',
  siteId: 'site-7',
  kioskId: 'K-0001',
  source: 'kiosk',
  contactId: 'C-1',
  dueAt: '2026-11-20T14:03:05.000Z',
  createdAt: '2026-11-20T14:03:05.000Z',
  escalateAt: '2026-11-21T14:03:05.000Z',
  status: 'open',
  ...overrides,
});

function complete(taskId: string, outcome = 'reached') {
  return invoke(
    handler,
    apiEvent({
      method: 'POST',
      resource: '/v1/outreach/tasks/{taskId}/complete',
      pathParameters: { taskId },
      body: { outcome },
      role: 'outreach',
      username: 'outreach-7',
    }),
  );
}

/** The task as stored; completing it is one transaction (the task, and the report counters of its outcome). */
function stored(task: Item) {
  ddb.on(GetCommand, { TableName: TABLE.tasks, Key: { taskId: task.taskId } }).resolves({ Item: task });
}
function completes(task: Item) {
  stored(task);
  ddb.on(TransactWriteCommand).callsFake(() => {
    calls.push('tasks');
    return {};
  });
}

const enrollmentUpdates = () =>
  ddb
    .commandCalls(UpdateCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.TableName === TABLE.enrollments);

/** The order of the calls that matter: tasks table, enrollments table, Step Functions. */
let calls: string[];

beforeEach(() => {
  ddb.reset();
  kms.reset();
  sfn.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  installFakeKms(kms);
  silenceLogger();
  calls = [];
  ddb.on(UpdateCommand, { TableName: TABLE.enrollments }).callsFake(() => {
    calls.push('enrollments');
    return { Attributes: { enrollmentId: ENROLLMENT_ID, changeSeq: 5, parkToken: 'park-token-3' } };
  });
  sfn.on(SendTaskSuccessCommand).callsFake(() => {
    calls.push('sfn');
    return {};
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('completing a task of an enrollment', () => {
  it('takes the task out of the enrollment’s open set, remembers it as the last closed follow-up task, touches it and wakes the parked workflow', async () => {
    completes(moudTask());

    const response = await complete(TASK_ID);

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ taskId: TASK_ID, status: 'completed', outcome: 'reached' });
    expect(calls).toEqual(['tasks', 'enrollments', 'sfn']);
    const [touch] = enrollmentUpdates();
    expect(touch.Key).toEqual({ enrollmentId: ENROLLMENT_ID });
    // The plan this wakes folds into the task the checks that fell due while it was open.
    expect(touch.UpdateExpression).toBe(
      'SET parkedUntil = :at, closedFollowUpTask = :taskId ADD changeSeq :one DELETE openTasks :closed',
    );
    expect(touch.ExpressionAttributeValues?.[':taskId']).toBe(TASK_ID);
    expect(touch.ExpressionAttributeValues?.[':at']).toBe(NOW.toISOString());
    expect(touch.ExpressionAttributeValues?.[':one']).toBe(1);
    expect(touch.ExpressionAttributeValues?.[':closed']).toEqual(new Set([TASK_ID]));
    expect(touch.ConditionExpression).toBe('attribute_exists(enrollmentId)');
    expect(touch.ReturnValues).toBe('ALL_NEW');
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-3' });
  });

  it('does not remember an urgent task as a closed follow-up task: checks are never folded into it', async () => {
    completes(moudTask({ kind: 'overdose-urgent', urgent: true }));

    await complete(TASK_ID);

    const [touch] = enrollmentUpdates();
    expect(touch.UpdateExpression).toBe('SET parkedUntil = :at ADD changeSeq :one DELETE openTasks :closed');
  });

  it('answers without the contact id or a pending notice', async () => {
    completes(moudTask({ pendingNotice: 'escalation' }));

    const response = await complete(TASK_ID);

    expect(response.body).not.toHaveProperty('contactId');
    expect(response.body).not.toHaveProperty('pendingNotice');
  });

  it('touches the enrollment but calls no Step Functions when no execution is parked', async () => {
    completes(moudTask());
    ddb.on(UpdateCommand, { TableName: TABLE.enrollments }).resolves({ Attributes: { changeSeq: 5 } });

    const response = await complete(TASK_ID);

    expect(response.status).toBe(200);
    expect(enrollmentUpdates()).toHaveLength(1);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('still answers 200 when the parked token no longer waits', async () => {
    completes(moudTask());
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(new TaskDoesNotExist({ message: 'Task does not exist', $metadata: {} }));

    const response = await complete(TASK_ID);

    expect(response.status).toBe(200);
  });

  it('touches and wakes again when a completion is retried with the same outcome', async () => {
    stored(moudTask({ status: 'completed', outcome: 'reached' }));

    const response = await complete(TASK_ID);

    expect(response.status).toBe(200);
    expect(enrollmentUpdates()).toHaveLength(1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'park-token-3' });
  });

  it('neither touches nor wakes anything when the completion conflicts with another outcome', async () => {
    stored(moudTask({ status: 'completed', outcome: 'declined' }));

    const response = await complete(TASK_ID);

    expect(response.status).toBe(409);
    expect(enrollmentUpdates()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });

  it('answers 503 when the enrollment cannot be touched, so that the caller retries and the wake is not lost', async () => {
    completes(moudTask());
    ddb
      .on(UpdateCommand, { TableName: TABLE.enrollments })
      .rejects(new InternalServerError({ message: 'Internal error', $metadata: {} }));

    const response = await complete(TASK_ID);

    expect(response.status).toBe(503);
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('completing a kiosk task', () => {
  it('closes it without any call to the enrollments table or Step Functions', async () => {
    completes(kioskTask());

    const response = await complete('T-kiosk-1');

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ taskId: 'T-kiosk-1', status: 'completed' });
    expect(calls).toEqual(['tasks']);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(enrollmentUpdates()).toHaveLength(0);
    expect(sfn.calls()).toHaveLength(0);
  });
});
