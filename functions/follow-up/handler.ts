import { BatchGetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { now } from '../adapters/clock.js';
import {
  cancellationReasons,
  documentClient,
  isConditionalCheckFailed,
  tableName,
} from '../adapters/dynamo.js';
import { type EnrollmentRecord, getEnrollment } from '../adapters/enrollment-store.js';
import { logger } from '../adapters/logger.js';
import { count, observed } from '../adapters/observability.js';
import { workflows } from '../adapters/workflows.js';
import { type FollowUpState, type FollowUpTask, planFollowUp } from '../core/followup.js';
import type { Medication } from '../core/schemas.js';

/**
 * The Task states of the follow-up state machine (lib/workflows/follow-up.ts).
 * Every step is idempotent: re-running one after a crash or a redrive changes nothing.
 * Only ids travel through the state machine; everything else is read from DynamoDB.
 */
export type StepInput =
  | { step: 'plan'; enrollmentId: string }
  | { step: 'markNotified'; enrollmentId: string; taskId: string; notice: 'outreach' | 'escalation' }
  | { step: 'park'; enrollmentId: string; token: string; seq: number; until: string };

export interface PlanOutput {
  action: 'notify' | 'park' | 'end';
  seq: number;
  notice?: 'outreach' | 'escalation';
  taskId?: string;
  message?: string;
  kind?: string;
  until?: string;
  /** For the Park state's TimeoutSecondsPath: whole seconds until `until`, at least 1. */
  waitSeconds?: number;
}

const list = (set: Set<string> | undefined) => [...(set ?? [])];

function stateOf(enrollment: EnrollmentRecord): FollowUpState {
  return {
    enrollmentId: enrollment.enrollmentId,
    siteId: enrollment.siteId,
    enrolledOn: enrollment.enrolledOn,
    enrolledAt: enrollment.enrolledAt,
    medication: enrollment.medication as Medication,
    consentOutreach: enrollment.consentOutreach,
    doseDays: list(enrollment.doseDays),
    injectionDays: list(enrollment.injectionDays),
    visitDays: list(enrollment.visitDays),
    judged: list(enrollment.judged),
    endedOn: enrollment.endedOn,
  };
}

async function openTasksOf(
  enrollment: EnrollmentRecord,
): Promise<(FollowUpTask & Record<string, unknown>)[]> {
  const ids = list(enrollment.openTasks);
  if (ids.length === 0) return [];
  const out = await documentClient.send(
    new BatchGetCommand({
      RequestItems: {
        [tableName('tasks')]: { Keys: ids.map((taskId) => ({ taskId })), ConsistentRead: true },
      },
    }),
  );
  return (out.Responses?.[tableName('tasks')] ?? []) as (FollowUpTask & Record<string, unknown>)[];
}

function messageFor(
  notice: 'outreach' | 'escalation',
  task: Record<string, unknown>,
  enrollment: EnrollmentRecord,
  at: Date,
) {
  const base = { taskId: task.taskId, enrollmentId: enrollment.enrollmentId, siteId: enrollment.siteId };
  return JSON.stringify(
    notice === 'outreach'
      ? { kind: task.kind, ...base, dueAt: task.dueAt }
      : {
          kind: 'escalation',
          taskKind: task.kind,
          ...base,
          dueAt: task.dueAt,
          escalatedAt: task.escalatedAt ?? at.toISOString(),
        },
  );
}

async function plan(enrollmentId: string): Promise<PlanOutput> {
  for (let attempt = 1; ; attempt += 1) {
    const enrollment = await getEnrollment(enrollmentId);
    if (!enrollment) throw new Error(`enrollment ${enrollmentId} not found`);
    const at = now();
    const tasks = await openTasksOf(enrollment);
    const decided = planFollowUp(stateOf(enrollment), tasks, at);
    const seq = enrollment.changeSeq ?? 0;

    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [];
    // Only ADD to the sets: events and completions change them concurrently (a completed task
    // leaves openTasks through the tasks handler; a stale id there is harmless, its status says closed).
    const adds: string[] = [];
    const values: Record<string, unknown> = {};
    if (decided.judged.length) {
      adds.push('judged :judged');
      values[':judged'] = new Set(decided.judged);
    }
    if (decided.open) {
      adds.push('openTasks :opened');
      values[':opened'] = new Set([decided.open.taskId]);
    }
    const setEnded = decided.finished && !enrollment.followUpEndedAt;
    if (setEnded) values[':at'] = at.toISOString();
    if (adds.length || setEnded) {
      items.push({
        Update: {
          TableName: tableName('enrollments'),
          Key: { enrollmentId },
          UpdateExpression: [
            setEnded ? 'SET followUpEndedAt = :at' : '',
            adds.length ? `ADD ${adds.join(', ')}` : '',
          ]
            .filter(Boolean)
            .join(' '),
          ExpressionAttributeValues: values,
        },
      });
    }
    if (decided.open) {
      const { checkId: _checkId, ...task } = decided.open;
      items.push({
        Put: {
          TableName: tableName('tasks'),
          Item: {
            ...task,
            status: 'open',
            source: 'moud',
            enrollmentId,
            siteId: enrollment.siteId,
            contactId: enrollment.contactId,
          },
          ConditionExpression: 'attribute_not_exists(taskId)',
        },
      });
    }
    for (const taskId of decided.escalate) {
      items.push({
        Update: {
          TableName: tableName('tasks'),
          Key: { taskId },
          UpdateExpression: enrollment.consentOutreach
            ? 'SET escalatedAt = :at, pendingNotice = :escalation'
            : 'SET escalatedAt = :at',
          ConditionExpression: 'attribute_not_exists(escalatedAt) AND #status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':at': at.toISOString(),
            ':open': 'open',
            ...(enrollment.consentOutreach ? { ':escalation': 'escalation' } : {}),
          },
        },
      });
    }
    if (items.length) {
      try {
        await documentClient.send(new TransactWriteCommand({ TransactItems: items }));
      } catch (error) {
        // Something changed under us (a task completed, a step re-ran): plan again from what is stored.
        if (cancellationReasons(error) && attempt < 5) continue;
        throw error;
      }
    }
    if (decided.open) count('tasksOpened');
    count('tasksEscalated', decided.escalate.length);
    if (decided.judged.length || decided.open || decided.escalate.length) {
      logger.info('follow-up planned', {
        enrollmentId,
        judged: decided.judged,
        opened: decided.open?.taskId,
        escalated: decided.escalate,
        next: decided.next.action,
      });
    }

    const next = decided.next;
    if (next.action === 'notify') {
      const task =
        decided.open?.taskId === next.taskId
          ? { ...decided.open }
          : (tasks.find((candidate) => candidate.taskId === next.taskId) as Record<string, unknown>);
      return {
        action: 'notify',
        seq,
        notice: next.notice,
        taskId: next.taskId,
        kind: String(task.kind),
        message: messageFor(next.notice, task, enrollment, at),
      };
    }
    if (next.action === 'park') {
      const waitSeconds = Math.max(1, Math.ceil((Date.parse(next.until) - at.getTime()) / 1000));
      return { action: 'park', seq, until: next.until, waitSeconds };
    }
    return { action: 'end', seq };
  }
}

async function markNotified(taskId: string, notice: string): Promise<void> {
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
        ExpressionAttributeValues: { ':notice': notice, ':at': now().toISOString() },
      }),
    );
    count('notificationsPublished'); // the state machine published it just before this step
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error; // already marked: a re-run
  }
}

/**
 * Stores the Park state's task token, unless something changed since the plan
 * (then it wakes itself at once, so the change is planned for without delay).
 */
async function park(enrollmentId: string, token: string, seq: number): Promise<void> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName('enrollments'),
        Key: { enrollmentId },
        UpdateExpression: 'SET parkToken = :token',
        ConditionExpression: 'changeSeq = :seq',
        ExpressionAttributeValues: { ':token': token, ':seq': seq },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    await workflows().wake(token);
  }
}

export const handler = observed(async (input: StepInput): Promise<PlanOutput | Record<string, never>> => {
  switch (input.step) {
    case 'plan':
      return plan(input.enrollmentId);
    case 'markNotified':
      await markNotified(input.taskId, input.notice);
      return {};
    case 'park':
      await park(input.enrollmentId, input.token, input.seq);
      return {};
  }
});
