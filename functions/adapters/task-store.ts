import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  documentClient,
  isConditionalCheckFailed,
  itemOfFailedCondition,
  queryAll,
  tableName,
} from './dynamo.js';

export interface TaskRecord {
  readonly taskId: string;
  readonly kind: string;
  readonly siteId: string;
  readonly dueAt: string;
  readonly status: 'open' | 'completed';
  readonly contactId?: string;
  readonly outcome?: string;
  readonly [field: string]: unknown;
}

/** Fields that may be listed: ids, site, kind, times and state. Never contact details. */
const LISTED = [
  'taskId',
  'kind',
  'siteId',
  'dueAt',
  'status',
  'createdAt',
  'kioskId',
  'enrollmentId',
  'urgent',
  'escalatedAt',
  'completedAt',
  'outcome',
] as const;

export async function listTasks(
  statuses: readonly ('open' | 'completed')[],
): Promise<Record<string, unknown>[]> {
  const lists = await Promise.all(
    statuses.map(async (status) => {
      const items = await queryAll({
        TableName: tableName('tasks'),
        IndexName: 'byStatus',
        KeyConditionExpression: '#status = :status',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':status': status },
      });
      return items.map((item) =>
        Object.fromEntries(
          LISTED.filter((field) => item[field] !== undefined).map((field) => [field, item[field]]),
        ),
      );
    }),
  );
  return lists.flat().sort((a, b) => String(a.dueAt).localeCompare(String(b.dueAt)));
}

export async function getTask(taskId: string): Promise<TaskRecord | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('tasks'), Key: { taskId }, ConsistentRead: true }),
  );
  return out.Item as TaskRecord | undefined;
}

export async function getContact(contactId: string): Promise<{ sealed: string } | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('contacts'), Key: { contactId } }),
  );
  return out.Item as { sealed: string } | undefined;
}

export type CompleteOutcome =
  | { readonly status: 'completed'; readonly task: TaskRecord }
  | { readonly status: 'already'; readonly task: TaskRecord }
  | { readonly status: 'missing' };

/** Closes an open task in one round trip; a failed condition hands back the task as it is. */
export async function completeTask(
  taskId: string,
  outcome: string,
  actor: string,
  at: Date,
): Promise<CompleteOutcome> {
  try {
    const out = await documentClient.send(
      new UpdateCommand({
        TableName: tableName('tasks'),
        Key: { taskId },
        UpdateExpression:
          'SET #status = :completed, outcome = :outcome, completedAt = :at, completedBy = :actor',
        ConditionExpression: 'attribute_exists(taskId) AND #status = :open',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':completed': 'completed',
          ':open': 'open',
          ':outcome': outcome,
          ':at': at.toISOString(),
          ':actor': actor,
        },
        ReturnValues: 'ALL_NEW',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { status: 'completed', task: out.Attributes as TaskRecord };
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const task = itemOfFailedCondition(error) as TaskRecord | undefined;
    return task ? { status: 'already', task } : { status: 'missing' };
  }
}

/**
 * Kiosk contact tasks open and not escalated yet (follow-up tasks of enrollments are escalated by
 * their workflow): those past their escalation time, and when the next one falls due.
 */
export async function kioskEscalations(now: Date): Promise<{ due: TaskRecord[]; nextAt?: string }> {
  const pending = (await queryAll({
    TableName: tableName('tasks'),
    IndexName: 'byStatus',
    KeyConditionExpression: '#status = :open',
    FilterExpression: '#source = :kiosk AND attribute_not_exists(escalatedAt)',
    ExpressionAttributeNames: { '#status': 'status', '#source': 'source' },
    ExpressionAttributeValues: { ':open': 'open', ':kiosk': 'kiosk' },
  })) as TaskRecord[];
  const at = now.toISOString();
  const due = pending.filter((task) => String(task.escalateAt) <= at);
  const later = pending.map((task) => String(task.escalateAt)).filter((escalateAt) => escalateAt > at);
  return { due, nextAt: later.sort()[0] };
}
