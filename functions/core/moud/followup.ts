import type { Medication } from '../schemas.js';
import { enrollmentTaskId, escalateAtOf } from '../staff/tasks.js';
import {
  type Consent,
  consentOn,
  coverage,
  coverageDays,
  daysBetween,
  followUpEnd,
  type HistoryEntry,
} from './moud-history.js';

/**
 * The MOUD follow-up rules: when each check falls due, whether recorded
 * treatment shows the person engaged, and what the workflow does next.
 * Pure: the workflow's Lambda reads DynamoDB, calls `planFollowUp`, writes
 * what it says and hands the next step to Step Functions.
 */

const DAY_MS = 86_400_000;

/** The program's checkpoints after enrollment (contract: at least 72 h, 7, 30, 90 and 180 days). */
export const CHECKPOINTS = [
  { id: 'checkpoint-72h', dayIndex: 3 },
  { id: 'checkpoint-7d', dayIndex: 7 },
  { id: 'checkpoint-30d', dayIndex: 30 },
  { id: 'checkpoint-90d', dayIndex: 90 },
  { id: 'checkpoint-180d', dayIndex: 180 },
] as const;

/** Follow-up ends after the last checkpoint. */
export const HORIZON_DAYS = 180;

export const INJECTABLES: ReadonlySet<Medication> = new Set([
  'buprenorphine-er-weekly',
  'buprenorphine-er-monthly',
  'naltrexone-er',
]);

export { coverageDays };

/**
 * Days after the last relevant activity at which a missing next one opens a task:
 * weekly injection due every 7 days ± 2 → day 9; monthly due within days 26-31 → day 31
 * (the end of its window); naltrexone every 4 weeks (+2) → day 30; daily medication: continuity
 * breaks at a gap of 8 days (HEDIS POD), so outreach opens on day 7 of a gap, before day 8,
 * counted from the last day covered (a take-home supply's last day, carried forward).
 */
export function supplyGrace(medication: Medication): number {
  if (medication === 'buprenorphine-er-monthly') return 31;
  if (medication === 'buprenorphine-er-weekly') return 9;
  if (medication === 'naltrexone-er') return 30;
  return 7;
}

export interface FollowUpState {
  readonly enrollmentId: string;
  /** Hashes task ids (core/tasks.ts enrollmentTaskId); absent on enrollments recorded before it existed. */
  readonly taskKey?: string;
  readonly siteId: string;
  readonly enrolledOn: string;
  /** `enrolledOn` at the backend's time of day when the enrollment was recorded. */
  readonly enrolledAt: string;
  readonly medication: Medication;
  /** Outreach consent in force now (`followUpState`). */
  readonly consentOutreach: boolean;
  /** Everything recorded for the enrollment (functions/core/moud/moud-history.ts), in any order. */
  readonly history: readonly HistoryEntry[];
  /** Checks already judged (engaged, opened a task, or folded into an open one). */
  readonly judged: readonly string[];
  /** The day the follow-up ended, as the whole history says (`followUpEnd`). */
  readonly endedOn?: string;
}

/** The planner's view of an enrollment now: consent in force today and the end, from the whole history. */
export function followUpState(
  enrollment: Omit<FollowUpState, 'consentOutreach' | 'endedOn'> & { readonly consent: Consent },
  now: Date,
): FollowUpState {
  const { consent, ...rest } = enrollment;
  const end = followUpEnd(enrollment.enrolledOn, enrollment.history);
  return {
    ...rest,
    consentOutreach: consentOn(consent, enrollment.history, now.toISOString().slice(0, 10)).outreach,
    ...(end ? { endedOn: end.on } : {}),
  };
}

export interface FollowUpTask {
  readonly taskId: string;
  readonly kind: string;
  readonly status: 'open' | 'completed';
  readonly dueAt: string;
  readonly createdAt: string;
  readonly escalateAt: string;
  readonly escalatedAt?: string;
  readonly urgent?: boolean;
  readonly pendingNotice?: 'outreach' | 'escalation';
  /** When staff completed it (a completed task is given to the planner only as the last closed follow-up task). */
  readonly completedAt?: string;
}

export interface Check {
  readonly id: string;
  readonly kind: string;
  readonly dueAt: string;
  readonly dayIndex: number;
}

export function dayIndexOf(enrolledOn: string, day: string): number {
  return daysBetween(enrolledOn, day);
}

function at(state: FollowUpState, dayIndex: number): string {
  return new Date(Date.parse(state.enrolledAt) + dayIndex * DAY_MS).toISOString();
}

/** The fixed checkpoints with their due times (the enrollment answer lists them). */
export function checkpoints(enrolledAt: string): { kind: string; dueAt: string }[] {
  return CHECKPOINTS.map(({ id, dayIndex }) => ({
    kind: id,
    dueAt: new Date(Date.parse(enrolledAt) + dayIndex * DAY_MS).toISOString(),
  }));
}

/**
 * The supply check that follows the last relevant activity: for injectables the last injection,
 * otherwise the last day recorded treatment covers (doses with their days' supply carried forward).
 */
export function supplyCheck(state: FollowUpState): Check | undefined {
  const injectable = INJECTABLES.has(state.medication);
  const ends = injectable
    ? state.history
        .filter((entry) => entry.type === 'injection')
        .map((entry) => dayIndexOf(state.enrolledOn, entry.day))
    : coverage(state.medication, state.enrolledOn, state.history).map(([, end]) => end);
  const last = ends.length ? Math.max(...ends) : undefined;
  const dayIndex = (last ?? 0) + supplyGrace(state.medication);
  if (dayIndex > HORIZON_DAYS) return undefined;
  return {
    id: `supply-${last ?? 'none'}`,
    kind: injectable ? 'missed-injection' : 'supply-gap',
    dueAt: at(state, dayIndex),
    dayIndex,
  };
}

/** Engaged at a checkpoint: recorded treatment covers some day since the previous checkpoint. */
export function engagedAt(state: FollowUpState, checkpointIndex: number): boolean {
  const windowEnd = CHECKPOINTS[checkpointIndex].dayIndex;
  const windowStart = checkpointIndex === 0 ? 0 : CHECKPOINTS[checkpointIndex - 1].dayIndex + 1;
  return coverage(state.medication, state.enrolledOn, state.history).some(
    ([start, end]) => start <= windowEnd && end >= windowStart,
  );
}

export type NextStep =
  | { readonly action: 'notify'; readonly taskId: string; readonly notice: 'outreach' | 'escalation' }
  | { readonly action: 'park'; readonly until: string }
  | { readonly action: 'end' };

export interface FollowUpPlan {
  /** Checks judged now. */
  readonly judged: readonly string[];
  /** A follow-up task to open now (at most one open at a time). */
  readonly open?: Omit<FollowUpTask, 'status'> & { readonly checkId: string };
  /** Open tasks past their escalation time, to escalate now (once). */
  readonly escalate: readonly string[];
  readonly next: NextStep;
  /** True when the follow-up is over and the enrollment should be marked so. */
  readonly finished: boolean;
  /**
   * When the supply sweep should wake the follow-up for its supply check (`supplyDueOf`): the
   * workflow does not park for it. Undefined when there is none to wake for: no supply check
   * ahead within the follow-up, the follow-up is over, or a follow-up task is open (the check
   * would only be folded into it; the plan after its completion sets this again).
   */
  readonly supplyDueAt?: string;
}

/**
 * The due time of the supply check the supply sweep should wake the follow-up for, from the whole
 * history (so the same whatever the order the events came in): undefined when there is none ahead
 * within the follow-up or it is already judged. The event handler writes it with each event that
 * moves the check; the planner keeps it (`FollowUpPlan.supplyDueAt`).
 */
export function supplyDueOf(
  state: Pick<FollowUpState, 'enrolledOn' | 'enrolledAt' | 'medication' | 'history' | 'judged'>,
): { readonly id: string; readonly dueAt: string } | undefined {
  const check = supplyCheck(state as FollowUpState);
  if (!check || state.judged.includes(check.id)) return undefined;
  return { id: check.id, dueAt: check.dueAt };
}

/**
 * What the follow-up workflow does now, given everything recorded.
 *
 * 1. Ended (disenrolled, fatal overdose): no task opens afterwards; tasks already open are
 *    escalated once when due, then the follow-up ends.
 * 2. Every check that has fallen due and is not judged yet is judged in time order:
 *    engaged → nothing; otherwise a task opens, unless a follow-up task is open,
 *    in which case the check is folded into it (at most one open follow-up task).
 * 3. Open tasks past their escalation time are escalated once.
 * 4. A pending notice goes out first; otherwise end when every checkpoint is judged (or the
 *    follow-up ended) and no open task waits to be escalated, else park until the next checkpoint
 *    or escalation (never for a supply check: the supply sweep wakes it, see `supplyDueAt`).
 *
 * Every check is judged by when it fell due, not by when the plan runs (a check that fell due
 * while a follow-up task was open is folded into it), so waking later changes no decision.
 */
export function planFollowUp(state: FollowUpState, tasks: readonly FollowUpTask[], now: Date): FollowUpPlan {
  // Ended (disenrolled, fatal overdose): nothing new opens; tasks already open are still escalated once.
  const ended = Boolean(state.endedOn);
  const nowMs = now.getTime();
  const judgedBefore = new Set(state.judged);
  const judged: string[] = [];
  let open: FollowUpPlan['open'];
  const openFollowUp = () =>
    open !== undefined || tasks.some((task) => task.status === 'open' && !task.urgent);
  // A check that fell due while a follow-up task was open was folded into it, even when it is judged
  // only later: the workflow does not wake for checks while such a task is open, and the plan that
  // follows its completion judges them by when they fell due (the task's createdAt to completedAt).
  const heldByClosedTask = (check: Check) =>
    tasks.some(
      (task) =>
        task.status === 'completed' &&
        !task.urgent &&
        task.completedAt !== undefined &&
        task.createdAt <= check.dueAt &&
        check.dueAt < task.completedAt,
    );

  const due: (Check & { engaged: boolean })[] = CHECKPOINTS.map((checkpoint, index) => ({
    id: checkpoint.id,
    kind: checkpoint.id,
    dayIndex: checkpoint.dayIndex,
    dueAt: at(state, checkpoint.dayIndex),
    engaged: engagedAt(state, index),
  }));
  const supply = supplyCheck(state);
  if (supply) due.push({ ...supply, engaged: false });
  due.sort((a, b) => a.dueAt.localeCompare(b.dueAt) || a.id.localeCompare(b.id));

  for (const check of due) {
    if (ended || judgedBefore.has(check.id) || Date.parse(check.dueAt) > nowMs) continue;
    judged.push(check.id);
    if (check.engaged || openFollowUp() || heldByClosedTask(check)) continue;
    const createdAt = now.toISOString();
    open = {
      checkId: check.id,
      taskId: enrollmentTaskId(state, check.id),
      kind: check.kind,
      dueAt: check.dueAt,
      createdAt,
      escalateAt: escalateAtOf(now),
      ...(state.consentOutreach ? { pendingNotice: 'outreach' as const } : {}),
    };
  }

  const unjudged = (check: Check) => !judgedBefore.has(check.id) && !judged.includes(check.id);
  const folding = openFollowUp();
  const supplyDueAt = !ended && !folding && supply && unjudged(supply) ? { supplyDueAt: supply.dueAt } : {};

  const openTasks = tasks.filter((task) => task.status === 'open');
  const escalate = openTasks
    .filter((task) => !task.escalatedAt && Date.parse(task.escalateAt) <= nowMs)
    .map((task) => task.taskId);

  const pending =
    (open?.pendingNotice && { taskId: open.taskId, notice: open.pendingNotice }) ||
    (state.consentOutreach && escalate.length
      ? { taskId: escalate[0], notice: 'escalation' as const }
      : undefined) ||
    (state.consentOutreach
      ? openTasks
          .filter((task) => task.pendingNotice)
          .map((task) => ({ taskId: task.taskId, notice: task.pendingNotice! }))[0]
      : undefined);
  if (pending)
    return {
      judged,
      open,
      escalate,
      next: { action: 'notify', ...pending },
      finished: false,
      ...supplyDueAt,
    };

  const allJudged = CHECKPOINTS.every(
    (checkpoint) => judgedBefore.has(checkpoint.id) || judged.includes(checkpoint.id),
  );
  const awaitingEscalation = openTasks.filter((task) => !task.escalatedAt && !escalate.includes(task.taskId));
  // Over when nothing is left to judge (day 180 judged, or the follow-up ended) and no task waits to be
  // escalated: an open task already escalated needs nothing more from the workflow. Anything that later
  // needs it again (a late overdose's urgent task) starts it again (functions/enrollments/handler.ts).
  if ((ended || allJudged) && awaitingEscalation.length === 0 && !open) {
    return { judged, open, escalate, next: { action: 'end' }, finished: true };
  }

  // Parks until the next time the workflow itself has something to do, and nothing sooner: a checkpoint
  // to judge, or an escalation. Supply checks are not waited for: the supply sweep wakes the follow-up
  // when one falls due (`supplyDueAt`). While a follow-up task is open, a checkpoint would only be folded
  // into it, so only the last one is waited for (it ends the follow-up); completing the task wakes it.
  const last = CHECKPOINTS[CHECKPOINTS.length - 1].id;
  const wakeTimes = [
    ...due
      .filter((check) => !ended && unjudged(check) && check.id.startsWith('checkpoint-'))
      .filter((check) => !folding || check.id === last)
      .map((check) => Date.parse(check.dueAt)),
    ...awaitingEscalation.map((task) => Date.parse(task.escalateAt)),
    ...(open ? [Date.parse(open.escalateAt)] : []),
  ].filter((time) => time > nowMs);
  // Never reached (an unjudged checkpoint or an escalation always lies ahead); parks a day rather than spin.
  const until = wakeTimes.length ? Math.min(...wakeTimes) : nowMs + DAY_MS;
  return {
    judged,
    open,
    escalate,
    next: { action: 'park', until: new Date(until).toISOString() },
    finished: false,
    ...supplyDueAt,
  };
}
