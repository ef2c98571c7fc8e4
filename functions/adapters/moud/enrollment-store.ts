import { BatchGetCommand, GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Counters } from '../../core/aggregates.js';
import { backoff } from '../../core/backoff.js';
import { legacyContribution, type StoredEvent } from '../../core/moud/enrollments.js';
import { decodeEntry, type HistoryEntry, historyEntryOf } from '../../core/moud/moud-history.js';
import type { EnrollmentEvent } from '../../core/schemas.js';
import { documentClient, isConditionalCheckFailed, queryAll, tableName } from '../dynamo.js';

export interface EnrollmentRecord {
  readonly enrollmentId: string;
  readonly participantRef: string;
  readonly siteId: string;
  readonly enrolledOn: string;
  readonly enrolledAt: string;
  readonly medication: string;
  readonly overdosesPrior12m: number;
  readonly consentOutreach: boolean;
  readonly consentPart2: boolean;
  readonly fingerprint: string;
  readonly contactId?: string;
  /** Random, per enrollment: makes its task ids opaque (core/tasks.ts enrollmentTaskId). */
  readonly taskKey?: string;
  /** Everything recorded, encoded (core/moud-history.ts encodeEntry); absent on enrollments of earlier versions. */
  readonly history?: string[];
  /** What the enrollment adds to its cohort counters now (core/enrollments.ts contribution). */
  readonly contribution?: Record<string, number>;
  /** Kept by earlier versions (activity days as sets); `history` replaces them. */
  readonly doseDays?: Set<string>;
  readonly injectionDays?: Set<string>;
  readonly visitDays?: Set<string>;
  readonly judged?: Set<string>;
  readonly openTasks?: Set<string>;
  readonly endedOn?: string;
  readonly endReason?: string;
  readonly eventSeq?: number;
  readonly retained?: Record<string, boolean>;
  readonly changeSeq?: number;
  readonly parkToken?: string;
  readonly followUpEndedAt?: string;
  readonly followUpActive?: string;
  readonly executionName?: string;
  /** When the supply sweep wakes the follow-up for its supply check (core/followup.ts supplyDueOf); sparse index `bySupplyDue`. */
  readonly supplyDueAt?: string;
  /** The follow-up task completed last: the planner folds into it the checks that fell due while it was open. */
  readonly closedFollowUpTask?: string;
  /** Consent in force since the latest consent event (absent until one is recorded). */
  readonly consentNow?: { readonly outreach: boolean; readonly part2: boolean };
  readonly recordedAt?: string;
  readonly recordedBy?: string;
}

export async function getEnrollment(enrollmentId: string): Promise<EnrollmentRecord | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('enrollments'), Key: { enrollmentId }, ConsistentRead: true }),
  );
  return out.Item as EnrollmentRecord | undefined;
}

/**
 * Tells the follow-up workflow that something changed: bumps `changeSeq` and
 * hands back the token of the parked execution, if any. The Park step stores
 * its token only if `changeSeq` is what its plan saw, so a change is never missed.
 * The follow-up is due to be heard from now (`parkedUntil`): a live execution parks
 * again at once and says until when; one that died is restarted by the follow-up sweep
 * within the hour, not at the end of a park that may have had months to go.
 */
export async function touchEnrollment(
  enrollmentId: string,
  at: Date,
  closed?: { readonly taskId: string; readonly followUp: boolean },
): Promise<string | undefined> {
  // A closed follow-up task is remembered: the checks that fell due while it was open, and that the
  // workflow did not wake for, are folded into it when the plan after its completion judges them.
  const expression = !closed
    ? 'SET parkedUntil = :at ADD changeSeq :one'
    : closed.followUp
      ? 'SET parkedUntil = :at, closedFollowUpTask = :taskId ADD changeSeq :one DELETE openTasks :closed'
      : 'SET parkedUntil = :at ADD changeSeq :one DELETE openTasks :closed';
  const out = await documentClient.send(
    new UpdateCommand({
      TableName: tableName('enrollments'),
      Key: { enrollmentId },
      UpdateExpression: expression,
      ConditionExpression: 'attribute_exists(enrollmentId)',
      ExpressionAttributeValues: {
        ':one': 1,
        ':at': at.toISOString(),
        ...(closed ? { ':closed': new Set([closed.taskId]) } : {}),
        ...(closed?.followUp ? { ':taskId': closed.taskId } : {}),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return (out.Attributes as EnrollmentRecord | undefined)?.parkToken;
}

export interface RunningFollowUp {
  readonly enrollmentId: string;
  readonly executionName?: string;
  readonly restarts?: number;
  readonly parkedUntil: string;
}

/** Follow-ups still running that should have been heard from before `before` (the sparse index). */
export async function overdueFollowUps(before: string): Promise<RunningFollowUp[]> {
  return (await queryAll({
    TableName: tableName('enrollments'),
    IndexName: 'byFollowUpDue',
    KeyConditionExpression: 'followUpActive = :yes AND parkedUntil < :before',
    ExpressionAttributeValues: { ':yes': 'yes', ':before': before },
    ProjectionExpression: 'enrollmentId, executionName, restarts, parkedUntil',
  })) as unknown as RunningFollowUp[];
}

/** When the earliest running follow-up should next be heard from. */
export async function nextFollowUpDue(): Promise<string | undefined> {
  const out = await documentClient.send(
    new QueryCommand({
      TableName: tableName('enrollments'),
      IndexName: 'byFollowUpDue',
      KeyConditionExpression: 'followUpActive = :yes',
      ExpressionAttributeValues: { ':yes': 'yes' },
      ProjectionExpression: 'parkedUntil',
      Limit: 1,
    }),
  );
  return out.Items?.[0]?.parkedUntil as string | undefined;
}

export interface SupplyCheckDue {
  readonly enrollmentId: string;
  readonly supplyDueAt: string;
}

/** Running follow-ups whose supply check has fallen due by `now` (the sparse index: only those, never every enrollment). */
export async function supplyChecksDue(now: string): Promise<SupplyCheckDue[]> {
  return (await queryAll({
    TableName: tableName('enrollments'),
    IndexName: 'bySupplyDue',
    KeyConditionExpression: 'followUpActive = :yes AND supplyDueAt <= :now',
    ExpressionAttributeValues: { ':yes': 'yes', ':now': now },
  })) as unknown as SupplyCheckDue[];
}

/** When the earliest supply check of a running follow-up falls due. */
export async function nextSupplyCheckDue(): Promise<string | undefined> {
  const out = await documentClient.send(
    new QueryCommand({
      TableName: tableName('enrollments'),
      IndexName: 'bySupplyDue',
      KeyConditionExpression: 'followUpActive = :yes',
      ExpressionAttributeValues: { ':yes': 'yes' },
      Limit: 1,
    }),
  );
  return out.Items?.[0]?.supplyDueAt as string | undefined;
}

/**
 * Claims the wake of a follow-up for its supply check, once: takes it out of the index, tells a plan in
 * progress that something changed (`changeSeq`, so it plans again), and makes the follow-up due to be
 * heard from now, so the restart sweep looks at it if its execution does not answer. Answers the parked
 * execution's token (to wake), or false when the check moved or was judged meanwhile.
 */
export async function claimSupplyWake(
  check: SupplyCheckDue,
  now: string,
): Promise<{ readonly token?: string } | false> {
  try {
    const out = await documentClient.send(
      new UpdateCommand({
        TableName: tableName('enrollments'),
        Key: { enrollmentId: check.enrollmentId },
        UpdateExpression: 'SET parkedUntil = :now REMOVE supplyDueAt ADD changeSeq :one',
        ConditionExpression: 'followUpActive = :yes AND supplyDueAt = :due',
        ExpressionAttributeValues: { ':now': now, ':one': 1, ':yes': 'yes', ':due': check.supplyDueAt },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const token = (out.Attributes as EnrollmentRecord | undefined)?.parkToken;
    return token ? { token } : {};
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/**
 * Claims the restart of a follow-up under a new execution name, once: only if the
 * enrollment still names the execution found dead and the follow-up still runs. The
 * sweep looks again at `retryAt` if the new execution is not heard from either.
 */
export async function claimRestart(
  followUp: RunningFollowUp,
  name: string,
  retryAt: string,
): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName('enrollments'),
        Key: { enrollmentId: followUp.enrollmentId },
        UpdateExpression: 'SET executionName = :name, parkedUntil = :retryAt ADD restarts :one',
        ConditionExpression:
          'followUpActive = :yes AND (executionName = :old OR (attribute_not_exists(executionName) AND :old = :id))',
        ExpressionAttributeValues: {
          ':name': name,
          ':retryAt': retryAt,
          ':one': 1,
          ':yes': 'yes',
          ':old': followUp.executionName ?? followUp.enrollmentId,
          ':id': followUp.enrollmentId,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}

/** Every recorded event of an enrollment, in the order they were recorded. */
export async function recordedEvents(
  enrollmentId: string,
): Promise<(StoredEvent & { recordedAt?: string })[]> {
  const items = await queryAll({
    TableName: tableName('enrollmentEvents'),
    KeyConditionExpression: 'enrollmentId = :id',
    ExpressionAttributeValues: { ':id': enrollmentId },
    ConsistentRead: true,
  });
  return (items as unknown as (StoredEvent & { recordedAt?: string })[]).sort((a, b) =>
    String(a.recordedAt ?? '').localeCompare(String(b.recordedAt ?? '')),
  );
}

/**
 * An enrollment's history and its contribution to the cohort counters. Enrollments recorded by
 * earlier versions kept neither: their history is read back from the events table, and their
 * contribution is what those versions added (core/enrollments.ts legacyContribution).
 */
export async function historyOf(
  record: EnrollmentRecord,
): Promise<{ history: HistoryEntry[]; contribution: Counters }> {
  if (record.history && record.contribution) {
    return { history: record.history.map(decodeEntry), contribution: record.contribution };
  }
  const events = await recordedEvents(record.enrollmentId);
  return {
    history: events.map((event) => historyEntryOf(event as unknown as EnrollmentEvent)),
    contribution: record.contribution ?? legacyContribution(record, events),
  };
}

/** What recording one event writes on the enrollment item. */
export interface EnrollmentEventWrite {
  readonly history: readonly string[];
  readonly contribution: Readonly<Record<string, number>>;
  readonly end?: { readonly on: string; readonly reason: string };
  /** An urgent task opened by the event: it joins the open tasks. */
  readonly openedTaskId?: string;
  /** A follow-up that had finished runs again (to escalate the urgent task) under this execution name. */
  readonly resume?: { readonly executionName: string; readonly at: string };
  /** Consent in force today after the event (kept for readers that list tasks). */
  readonly consentNow?: { readonly outreach: boolean; readonly part2: boolean };
  /** The event moved the supply check: when the supply sweep should wake the follow-up now (null: never). */
  readonly supplyDueAt?: string | null;
}

/**
 * The event's changes to the enrollment item, guarded by the event sequence the plan was made
 * from: a concurrent event makes the write fail, and the handler plans again from the item
 * DynamoDB hands back (ALL_OLD).
 */
export function enrollmentEventUpdate(record: EnrollmentRecord, write: EnrollmentEventWrite) {
  const seq = record.eventSeq ?? 0;
  const values: Record<string, unknown> = {
    ':next': seq + 1,
    ':seq': seq,
    ':history': write.history,
    ':contribution': write.contribution,
  };
  const sets = ['eventSeq = :next', 'history = :history', 'contribution = :contribution'];
  const adds: string[] = [];
  const removes: string[] = [];
  if (write.end) {
    values[':endedOn'] = write.end.on;
    values[':reason'] = write.end.reason;
    sets.push('endedOn = :endedOn', 'endReason = :reason');
  }
  if (write.consentNow) {
    values[':consentNow'] = write.consentNow;
    sets.push('consentNow = :consentNow');
  }
  if (write.supplyDueAt) {
    values[':supplyDueAt'] = write.supplyDueAt;
    sets.push('supplyDueAt = :supplyDueAt');
  } else if (write.supplyDueAt === null) removes.push('supplyDueAt');
  if (write.openedTaskId) {
    values[':task'] = new Set([write.openedTaskId]);
    adds.push('openTasks :task');
  }
  if (write.resume) {
    values[':yes'] = 'yes';
    values[':execution'] = write.resume.executionName;
    values[':resumeAt'] = write.resume.at;
    sets.push('followUpActive = :yes', 'executionName = :execution', 'parkedUntil = :resumeAt');
    removes.push('followUpEndedAt');
  }
  return {
    TableName: tableName('enrollments'),
    Key: { enrollmentId: record.enrollmentId },
    UpdateExpression: [
      `SET ${sets.join(', ')}`,
      removes.length ? `REMOVE ${removes.join(', ')}` : '',
      adds.length ? `ADD ${adds.join(', ')}` : '',
    ]
      .filter(Boolean)
      .join(' '),
    ConditionExpression:
      seq === 0
        ? 'attribute_exists(enrollmentId) AND (attribute_not_exists(eventSeq) OR eventSeq = :seq)'
        : 'attribute_exists(enrollmentId) AND eventSeq = :seq',
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

/**
 * A withdrawn outreach consent stops what is still unpublished about the enrollment: the notice
 * a task still waits to send (the workflow's `pendingNotice`), and an urgent task's notice still
 * in the outbox (its messageId derives from the task: functions/adapters/notices/outbox.ts).
 */
export function unpublishedNoticeDeletes(
  taskIds: readonly string[],
  outboxMessageId: (taskId: string) => string,
) {
  return taskIds.flatMap((taskId) => [
    {
      Update: {
        TableName: tableName('tasks'),
        Key: { taskId },
        UpdateExpression: 'REMOVE pendingNotice',
        ConditionExpression: 'attribute_exists(taskId)',
      },
    },
    { Delete: { TableName: tableName('outbox'), Key: { messageId: outboxMessageId(taskId) } } },
  ]);
}

/** The consent in force now: the last consent event's (kept as `consentNow`), else the enrollment's. */
export function consentNowOf(record: {
  readonly consentOutreach?: boolean;
  readonly consentPart2?: boolean;
  readonly consentNow?: { readonly outreach: boolean; readonly part2: boolean };
}): { outreach: boolean; part2: boolean } {
  return record.consentNow
    ? { outreach: record.consentNow.outreach === true, part2: record.consentNow.part2 === true }
    : { outreach: record.consentOutreach === true, part2: record.consentPart2 === true };
}

/** The consent in force now for each of `enrollmentIds` (unknown ones left out), read in batches of 100. */
export async function consentsNow(
  enrollmentIds: readonly string[],
): Promise<Map<string, { outreach: boolean; part2: boolean }>> {
  const table = tableName('enrollments');
  const found = new Map<string, { outreach: boolean; part2: boolean }>();
  const unique = [...new Set(enrollmentIds)];
  for (let start = 0; start < unique.length; start += 100) {
    let keys: Record<string, unknown>[] = unique
      .slice(start, start + 100)
      .map((enrollmentId) => ({ enrollmentId }));
    for (let attempt = 1; keys.length > 0; attempt += 1) {
      if (attempt > 1) await backoff(attempt);
      if (attempt > 10) throw new Error(`enrollments stayed unprocessed after ${attempt - 1} attempts`);
      const out = await documentClient.send(
        new BatchGetCommand({
          RequestItems: {
            [table]: {
              Keys: keys,
              ConsistentRead: true,
              ProjectionExpression: 'enrollmentId, consentOutreach, consentPart2, consentNow',
            },
          },
        }),
      );
      for (const item of out.Responses?.[table] ?? [])
        found.set(String(item.enrollmentId), consentNowOf(item));
      keys = (out.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
    }
  }
  return found;
}
