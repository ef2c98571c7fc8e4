import { BatchGetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { backoff } from '../../core/backoff.js';
import type { FollowUpPlan, FollowUpTask } from '../../core/moud/followup.js';
import {
  countsInOutreach,
  escalationCounters,
  openedCounters,
  outreachCounterKey,
} from '../../core/staff/outreach.js';
import { taskIndexKeys } from '../../core/staff/tasks.js';
import { counterUpdates } from '../aggregates-store.js';
import { cancellationReasons, documentClient, isConditionalCheckFailed, tableName } from '../dynamo.js';
import type { TransactItems } from '../idempotent.js';
import type { EnrollmentRecord } from './enrollment-store.js';

/** What the follow-up workflow's steps read and write, and nothing else. */

/** BatchGetItem takes at most 100 keys; under load it hands some back unprocessed. */
const BATCH_KEYS = 100;
/** TransactWriteItems takes at most 100 actions: the guard, and each task with its counter update. */
const TASKS_PER_TRANSACTION = 49;

/** Every task of `taskIds`, consistently read: in batches of 100, asking again for unprocessed keys. */
export async function getTasks(
  taskIds: readonly string[],
): Promise<(FollowUpTask & Record<string, unknown>)[]> {
  const table = tableName('tasks');
  const found: (FollowUpTask & Record<string, unknown>)[] = [];
  for (let start = 0; start < taskIds.length; start += BATCH_KEYS) {
    let keys: Record<string, unknown>[] = taskIds
      .slice(start, start + BATCH_KEYS)
      .map((taskId) => ({ taskId }));
    for (let attempt = 1; keys.length > 0; attempt += 1) {
      if (attempt > 1) await backoff(attempt);
      if (attempt > 10) throw new Error(`tasks stayed unprocessed after ${attempt - 1} attempts`);
      const out = await documentClient.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      found.push(...((out.Responses?.[table] ?? []) as (FollowUpTask & Record<string, unknown>)[]));
      keys = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}

/**
 * Writes what a plan decided in one transaction, only if the enrollment is still as read:
 * an event recorded (its `eventSeq`) or a task completed or a wake (its `changeSeq`) since
 * the read cancels it, and the step plans again. So no task opens for an enrollment that
 * ended meanwhile, and no check is judged on stale activity.
 */
export async function writePlan(
  enrollment: EnrollmentRecord,
  decided: FollowUpPlan,
  at: Date,
  /** Outreach consent in force now (the latest consent event's, else the enrollment's). */
  consentOutreach: boolean,
  /** The open tasks the plan was made from (the escalated ones are counted on their own day). */
  tasks: readonly (FollowUpTask & Record<string, unknown>)[] = [],
): Promise<'written' | 'nothing' | 'stale'> {
  const enrollmentId = enrollment.enrollmentId;
  const items: TransactItems = [];
  const adds: string[] = [];
  const sets: string[] = [];
  const removes: string[] = [];
  const values: Record<string, unknown> = {};
  if (decided.judged.length) {
    adds.push('judged :judged');
    values[':judged'] = new Set(decided.judged);
  }
  if (decided.open) {
    adds.push('openTasks :opened');
    values[':opened'] = new Set([decided.open.taskId]);
  }
  if (decided.finished && !enrollment.followUpEndedAt) {
    sets.push('followUpEndedAt = :at');
    removes.push('followUpActive');
    values[':at'] = at.toISOString();
  }
  // The supply sweep's view (sparse index bySupplyDue): when to wake the follow-up for its supply check.
  if (decided.supplyDueAt !== enrollment.supplyDueAt) {
    if (decided.supplyDueAt) {
      sets.push('supplyDueAt = :supplyDueAt');
      values[':supplyDueAt'] = decided.supplyDueAt;
    } else removes.push('supplyDueAt');
  }
  // Each task write with what it adds to the reports' outreach figures (core/outreach.ts).
  const countedWith: { key: ReturnType<typeof outreachCounterKey>; counters: Record<string, number> }[][] =
    [];
  if (decided.open) {
    const { checkId: _checkId, ...task } = decided.open;
    const countedOn = task.createdAt.slice(0, 10);
    items.push({
      Put: {
        TableName: tableName('tasks'),
        Item: {
          ...task,
          status: 'open',
          ...taskIndexKeys(task.taskId, 'open'),
          source: 'moud',
          enrollmentId,
          siteId: enrollment.siteId,
          contactId: enrollment.contactId,
          countedOn,
        },
        ConditionExpression: 'attribute_not_exists(taskId)',
      },
    });
    countedWith.push([
      {
        key: outreachCounterKey({ ...task, siteId: enrollment.siteId, countedOn }),
        counters: openedCounters(task.kind),
      },
    ]);
  }
  for (const taskId of decided.escalate) {
    const task = tasks.find((candidate) => candidate.taskId === taskId);
    countedWith.push(
      task && countsInOutreach(task)
        ? [
            {
              key: outreachCounterKey({ ...task, siteId: String(task.siteId ?? enrollment.siteId) }),
              counters: escalationCounters(),
            },
          ]
        : [],
    );
    items.push({
      Update: {
        TableName: tableName('tasks'),
        Key: { taskId },
        UpdateExpression: consentOutreach
          ? 'SET escalatedAt = :at, pendingNotice = :escalation'
          : 'SET escalatedAt = :at',
        ConditionExpression: 'attribute_not_exists(escalatedAt) AND #status = :open',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':at': at.toISOString(),
          ':open': 'open',
          ...(consentOutreach ? { ':escalation': 'escalation' } : {}),
        },
      },
    });
  }
  if (items.length === 0 && adds.length === 0 && sets.length === 0 && removes.length === 0) return 'nothing';

  const unchanged: string[] = [];
  const guardValues: Record<string, unknown> = {};
  if (enrollment.eventSeq === undefined) unchanged.push('attribute_not_exists(eventSeq)');
  else {
    unchanged.push('eventSeq = :eventSeq');
    guardValues[':eventSeq'] = enrollment.eventSeq;
  }
  if (enrollment.changeSeq === undefined) unchanged.push('attribute_not_exists(changeSeq)');
  else {
    unchanged.push('changeSeq = :changeSeq');
    guardValues[':changeSeq'] = enrollment.changeSeq;
  }
  const condition = unchanged.join(' AND ');
  const expression = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
    adds.length ? `ADD ${adds.join(', ')}` : '',
  ].filter(Boolean);
  const guardOnly = {
    ConditionCheck: {
      TableName: tableName('enrollments'),
      Key: { enrollmentId },
      ConditionExpression: condition,
      ...(Object.keys(guardValues).length ? { ExpressionAttributeValues: guardValues } : {}),
    },
  };
  const guard = expression.length
    ? {
        Update: {
          TableName: tableName('enrollments'),
          Key: { enrollmentId },
          UpdateExpression: expression.join(' '),
          ConditionExpression: condition,
          ExpressionAttributeValues: { ...values, ...guardValues },
        },
      }
    : guardOnly;
  // A transaction takes at most 100 actions: many escalations at once (an enrollment with more than
  // 100 urgent tasks) go in several, each guarded, each with the counters of its own tasks. Each
  // escalation is conditioned on its own, so a plan that stops half way is finished by the next one.
  const batches: TransactItems[] = [];
  for (let start = 0; start < Math.max(1, items.length); start += TASKS_PER_TRANSACTION) {
    batches.push([
      start === 0 ? guard : guardOnly,
      ...items.slice(start, start + TASKS_PER_TRANSACTION),
      ...counterUpdates(countedWith.slice(start, start + TASKS_PER_TRANSACTION).flat()),
    ]);
  }
  for (const batch of batches) {
    try {
      await documentClient.send(new TransactWriteCommand({ TransactItems: batch }));
    } catch (error) {
      // A changed enrollment, a task completed or escalated meanwhile, or a concurrent transaction.
      if (cancellationReasons(error)) return 'stale';
      throw error;
    }
  }
  return 'written';
}

/**
 * Keeps the Park state's token and when it wakes by itself, unless something changed since
 * the plan (`changeSeq`) or a transaction holds the enrollment right now: then 'changed',
 * and the step wakes itself to plan again.
 */
export async function storeParkToken(
  enrollmentId: string,
  token: string,
  seq: number,
  until: string,
): Promise<'stored' | 'changed'> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName('enrollments'),
        Key: { enrollmentId },
        UpdateExpression: 'SET parkToken = :token, parkedUntil = :until',
        ConditionExpression: 'changeSeq = :seq',
        ExpressionAttributeValues: { ':token': token, ':seq': seq, ':until': until },
      }),
    );
    return 'stored';
  } catch (error) {
    if (isConditionalCheckFailed(error) || (error as Error).name === 'TransactionConflictException')
      return 'changed';
    throw error;
  }
}

/** Clears a task's pending notice once it went out; a re-run finds it cleared and changes nothing. */
export async function markNotified(
  taskId: string,
  notice: 'outreach' | 'escalation',
  at: Date,
): Promise<void> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName('tasks'),
        Key: { taskId },
        UpdateExpression: 'REMOVE pendingNotice SET #notified = :at',
        ConditionExpression: 'pendingNotice = :notice',
        ExpressionAttributeNames: {
          '#notified': notice === 'outreach' ? 'notifiedAt' : 'escalationNotifiedAt',
        },
        ExpressionAttributeValues: { ':notice': notice, ':at': at.toISOString() },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error; // already marked: a re-run
  }
}
