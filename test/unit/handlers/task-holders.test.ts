import {
  CognitoIdentityProviderClient,
  ListUsersInGroupCommand,
} from '@aws-sdk/client-cognito-identity-provider';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { holdRefusal } from '../../../functions/core/staff/tasks.js';
import { handler as staffHandler } from '../../../functions/staff/handler.js';
import { handler as tasksHandler } from '../../../functions/tasks/handler.js';
import { staffDirectory } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import { silenceLogger, stubEnvironment, TABLE } from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const cognito = mockClient(CognitoIdentityProviderClient);
const NOW = new Date('2026-11-20T15:00:00.000Z');
const POOL = 'us-east-1_TestPool';

type Item = Record<string, unknown>;
const task = (overrides: Item = {}): Item => ({
  taskId: 'T-1',
  kind: 'kiosk-contact',
  siteId: 'site-7',
  dueAt: '2026-11-20T14:03:05.000Z',
  status: 'open',
  contactId: 'C-1',
  ...overrides,
});

function post(action: 'claim' | 'handover' | 'release', body?: object, email = 'Maria@Example.org') {
  return invoke(
    action === 'handover' ? staffHandler : tasksHandler,
    apiEvent({
      method: 'POST',
      resource: `/v1/outreach/tasks/{taskId}/${action}`,
      pathParameters: { taskId: 'T-1' },
      body,
      role: 'outreach',
      username: '7d1c5a0e-0000-4000-8000-000000000001',
      email,
    }),
  );
}

/** A cancelled transaction whose first item (the task) failed its condition, as DynamoDB reports it. */
function conditionFailed(item: Item) {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: [
      { Code: 'ConditionalCheckFailed', Item: marshall(item) as never },
      { Code: 'None' },
    ],
  });
}

beforeEach(() => {
  ddb.reset();
  cognito.reset();
  stubEnvironment();
  vi.stubEnv(staffDirectory.envVar, POOL);
  useClock(() => new Date(NOW));
  silenceLogger();
  cognito.on(ListUsersInGroupCommand, { GroupName: 'outreach' }).resolves({
    Users: [
      { Username: 'uuid-maria', Enabled: true, Attributes: [{ Name: 'email', Value: 'maria@example.org' }] },
      { Username: 'uuid-ana', Enabled: true, Attributes: [{ Name: 'email', Value: 'ana@example.org' }] },
      { Username: 'uuid-gone', Enabled: false, Attributes: [{ Name: 'email', Value: 'gone@example.org' }] },
    ],
  });
  cognito.on(ListUsersInGroupCommand, { GroupName: 'admin' }).resolves({
    Users: [
      { Username: 'uuid-lee', Enabled: true, Attributes: [{ Name: 'email', Value: 'lee@example.org' }] },
    ],
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('claiming a task in AWS', () => {
  it('names the person by the e-mail of their ID token, on the task and in the audit entry written with it', async () => {
    // Arrange
    ddb.on(GetCommand, { TableName: TABLE.tasks }).resolves({ Item: task() });
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const answer = await post('claim');

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      taskId: 'T-1',
      heldBy: 'maria@example.org',
      heldSince: NOW.toISOString(),
    });
    expect(answer.body.contactId).toBeUndefined();
    const [update, audit] = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(update!.Update!.ExpressionAttributeValues).toMatchObject({ ':me': 'maria@example.org' });
    expect(audit!.Put!.TableName).toBe(TABLE.audit);
    expect(audit!.Put!.Item).toMatchObject({
      subject: 'task:T-1',
      actor: 'maria@example.org',
      action: 'claim',
    });
  });

  it('tries again when a concurrent transaction on the task cancelled the claim', async () => {
    // Arrange
    ddb.on(GetCommand, { TableName: TABLE.tasks }).resolves({ Item: task() });
    ddb
      .on(TransactWriteCommand)
      .rejectsOnce(
        new TransactionCanceledException({
          message: 'Transaction cancelled',
          $metadata: {},
          CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
        }),
      )
      .resolves({});

    // Act
    const answer = await post('claim');

    // Assert
    expect(answer.status).toBe(200);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('judges again when someone claimed the task between the read and the write', async () => {
    // Arrange
    ddb
      .on(GetCommand, { TableName: TABLE.tasks })
      .resolvesOnce({ Item: task() })
      .resolves({ Item: task({ heldBy: 'ana@example.org' }) });
    ddb.on(TransactWriteCommand).rejects(conditionFailed(task({ heldBy: 'ana@example.org' })));

    // Act
    const answer = await post('claim');

    // Assert
    expect(answer.status).toBe(409);
    expect(answer.body.error).toEqual({
      code: 'task_held',
      message: 'This task is held by ana@example.org.',
    });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
  });

  it('answers 409 naming the holder when someone else holds the task, and writes nothing', async () => {
    // Arrange
    ddb.on(GetCommand, { TableName: TABLE.tasks }).resolves({ Item: task({ heldBy: 'ana@example.org' }) });

    // Act
    const answer = await post('claim');

    // Assert
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('task_held');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });

  it('answers 200 with the task as it is, writing nothing, when the caller already holds it', async () => {
    // Arrange
    ddb.on(GetCommand, { TableName: TABLE.tasks }).resolves({ Item: task({ heldBy: 'maria@example.org' }) });

    // Act
    const answer = await post('claim');

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body.heldBy).toBe('maria@example.org');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe('handing a task over in AWS', () => {
  it('hands it to a colleague of the user pool, named by e-mail in any case', async () => {
    // Arrange
    ddb.on(GetCommand, { TableName: TABLE.tasks }).resolves({ Item: task({ heldBy: 'maria@example.org' }) });
    ddb.on(TransactWriteCommand).resolves({});

    // Act
    const answer = await post('handover', { to: 'Ana@Example.org' });

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body.heldBy).toBe('ana@example.org');
    const [update, audit] = ddb.commandCalls(TransactWriteCommand)[0]!.args[0].input.TransactItems!;
    expect(update!.Update!.ExpressionAttributeValues).toMatchObject({ ':to': 'ana@example.org' });
    expect(audit!.Put!.Item).toMatchObject({
      action: 'handover',
      actor: 'maria@example.org',
      to: 'ana@example.org',
    });
    expect(cognito.commandCalls(ListUsersInGroupCommand)[0]!.args[0].input.UserPoolId).toBe(POOL);
  });

  it('refuses a disabled account and anyone outside the staff groups, writing nothing', async () => {
    // Act
    const disabled = await post('handover', { to: 'gone@example.org' });
    const stranger = await post('handover', { to: 'someone@example.org' });

    // Assert
    expect(disabled.status).toBe(400);
    expect(stranger.status).toBe(400);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe('listing colleagues in AWS', () => {
  it('lists the enabled members of both groups by e-mail, each with their groups', async () => {
    // Act
    const answer = await invoke(
      staffHandler,
      apiEvent({ method: 'GET', resource: '/v1/staff', role: 'outreach', email: 'maria@example.org' }),
    );

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body.staff).toEqual([
      { username: 'ana@example.org', groups: ['outreach'] },
      { username: 'lee@example.org', groups: ['admin'] },
      { username: 'maria@example.org', groups: ['outreach'] },
    ]);
  });
});

describe('who may change who holds a task', () => {
  const maria = { id: 'maria', admin: false };
  const lee = { id: 'lee', admin: true };

  it('lets anyone claim a task nobody holds, and nobody claim one someone else holds', () => {
    expect(holdRefusal(task(), { kind: 'claim' }, maria)).toBeUndefined();
    expect(holdRefusal(task({ heldBy: 'ana' }), { kind: 'claim' }, maria)).toBe('held');
    expect(holdRefusal(task({ heldBy: 'ana' }), { kind: 'claim' }, lee)).toBe('held');
  });

  it('lets the holder or an administrator hand over or release a task, and nobody else', () => {
    const held = task({ heldBy: 'ana' });
    expect(holdRefusal(held, { kind: 'handover', to: 'maria' }, maria)).toBe('held');
    expect(holdRefusal(held, { kind: 'handover', to: 'maria' }, lee)).toBeUndefined();
    expect(holdRefusal(held, { kind: 'handover', to: 'maria' }, { id: 'ana', admin: false })).toBeUndefined();
    expect(holdRefusal(held, { kind: 'release' }, maria)).toBe('held');
    expect(holdRefusal(held, { kind: 'release' }, lee)).toBeUndefined();
  });

  it('calls a change that is already so `already`, and refuses every change of a completed or missing task', () => {
    expect(holdRefusal(task({ heldBy: 'maria' }), { kind: 'claim' }, maria)).toBe('already');
    expect(holdRefusal(task({ heldBy: 'ana' }), { kind: 'handover', to: 'ana' }, maria)).toBe('already');
    expect(holdRefusal(task(), { kind: 'release' }, maria)).toBe('already');
    expect(holdRefusal(task({ status: 'completed' }), { kind: 'claim' }, maria)).toBe('completed');
    expect(holdRefusal(undefined, { kind: 'release' }, lee)).toBe('missing');
  });
});
