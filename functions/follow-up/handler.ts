import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { type EnrollmentRecord, getEnrollment, historyOf } from '../adapters/moud/enrollment-store.js';
import { getTasks, markNotified, storeParkToken, writePlan } from '../adapters/moud/follow-up-store.js';
import { workflows } from '../adapters/moud/workflows.js';
import { count, observed } from '../adapters/observability.js';
import { backoff } from '../core/backoff.js';
import { stableUuid } from '../core/ids.js';
import { type FollowUpState, followUpState, planFollowUp } from '../core/moud/followup.js';
import type { Medication } from '../core/schemas.js';
import { messageKindOf } from '../core/staff/tasks.js';

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
  /** Stable per task and notice: every copy of the message carries it (a message attribute too). */
  messageId?: string;
  message?: string;
  kind?: string;
  until?: string;
  /** For the Park state's TimeoutSecondsPath: whole seconds until `until`, at least 1. */
  waitSeconds?: number;
}

const list = (set: Set<string> | undefined) => [...(set ?? [])];

/** The planner's view of the enrollment now, from its whole history (core/followup.ts followUpState). */
async function stateOf(enrollment: EnrollmentRecord, at: Date): Promise<FollowUpState> {
  const { history } = await historyOf(enrollment);
  return followUpState(
    {
      enrollmentId: enrollment.enrollmentId,
      taskKey: enrollment.taskKey,
      siteId: enrollment.siteId,
      enrolledOn: enrollment.enrolledOn,
      enrolledAt: enrollment.enrolledAt,
      medication: enrollment.medication as Medication,
      consent: { outreach: enrollment.consentOutreach, part2: enrollment.consentPart2 },
      history,
      judged: list(enrollment.judged),
    },
    at,
  );
}

function messageFor(
  notice: 'outreach' | 'escalation',
  task: Record<string, unknown>,
  enrollment: EnrollmentRecord,
  at: Date,
  messageId: string,
) {
  const base = {
    taskId: task.taskId,
    enrollmentId: enrollment.enrollmentId,
    siteId: enrollment.siteId,
    messageId,
  };
  // A neutral kind only: the reason (the task's kind) is for the authenticated API (core/tasks.ts).
  return JSON.stringify(
    notice === 'outreach'
      ? { kind: messageKindOf(task), ...base, dueAt: task.dueAt }
      : {
          kind: 'escalation',
          taskKind: messageKindOf(task),
          ...base,
          dueAt: task.dueAt,
          escalatedAt: task.escalatedAt ?? at.toISOString(),
        },
  );
}

/** The messageId of a task's notice: the same for every copy, however often it goes out. */
export function noticeMessageId(taskId: string, notice: 'outreach' | 'escalation'): string {
  return stableUuid(notice === 'outreach' ? 'outreach' : 'outreach-escalation', `${taskId}/${notice}`);
}

/** Plans again after a concurrent change: a few times, backing off, then Step Functions retries the step. */
const MAX_PLAN_ATTEMPTS = 6;

async function plan(enrollmentId: string): Promise<PlanOutput> {
  for (let attempt = 1; ; attempt += 1) {
    const enrollment = await getEnrollment(enrollmentId);
    if (!enrollment) throw new Error(`enrollment ${enrollmentId} not found`);
    const at = now();
    // The open tasks, and the follow-up task completed last (the checks that fell due while it was open are folded into it).
    const closed = enrollment.closedFollowUpTask;
    const open = list(enrollment.openTasks);
    const tasks = await getTasks(closed && !open.includes(closed) ? [...open, closed] : open);
    const state = await stateOf(enrollment, at);
    const decided = planFollowUp(state, tasks, at);
    const seq = enrollment.changeSeq ?? 0;

    const written = await writePlan(enrollment, decided, at, state.consentOutreach, tasks);
    if (written === 'stale') {
      if (attempt >= MAX_PLAN_ATTEMPTS)
        throw Object.assign(new Error('the enrollment kept changing while planning'), {
          name: 'PlanConflict',
        });
      await backoff(attempt);
      continue;
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
      const messageId = noticeMessageId(next.taskId, next.notice);
      return {
        action: 'notify',
        seq,
        notice: next.notice,
        taskId: next.taskId,
        kind: next.notice === 'outreach' ? messageKindOf(task) : 'escalation',
        messageId,
        message: messageFor(next.notice, task, enrollment, at, messageId),
      };
    }
    if (next.action === 'park') {
      const waitSeconds = Math.max(1, Math.ceil((Date.parse(next.until) - at.getTime()) / 1000));
      return { action: 'park', seq, until: next.until, waitSeconds };
    }
    return { action: 'end', seq };
  }
}

/**
 * Stores the Park state's task token, unless something changed since the plan
 * (then it wakes itself at once, so the change is planned for without delay).
 */
async function park(enrollmentId: string, token: string, seq: number, until: string): Promise<void> {
  if ((await storeParkToken(enrollmentId, token, seq, until)) === 'changed') await workflows().wake(token);
}

export const handler = observed(async (input: StepInput): Promise<PlanOutput | Record<string, never>> => {
  switch (input.step) {
    case 'plan':
      return plan(input.enrollmentId);
    case 'markNotified':
      await markNotified(input.taskId, input.notice, now());
      count('notificationsPublished'); // the state machine published it just before this step (a redrive may count it again)
      return {};
    case 'park':
      await park(input.enrollmentId, input.token, input.seq, input.until);
      return {};
  }
});
