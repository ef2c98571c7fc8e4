import type { Medication } from './schemas.js';
import { enrollmentTaskId, escalateAtOf } from './tasks.js';

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

/**
 * Days of supply one recorded activity covers (HEDIS POD days of coverage:
 * monthly injection 31, weekly 7, naltrexone 28, a daily dose 1). A visit
 * shows engagement on its day.
 */
export function coverageDays(medication: Medication, type: 'dose' | 'injection' | 'visit'): number {
  if (type !== 'injection') return 1;
  if (medication === 'buprenorphine-er-monthly') return 31;
  if (medication === 'buprenorphine-er-weekly') return 7;
  if (medication === 'naltrexone-er') return 28;
  return 1;
}

/**
 * Days after the last relevant activity at which a missing next one opens a task:
 * weekly injection due every 7 days ± 2 → day 9; monthly due within days 26-31 → day 31
 * (the end of its window); naltrexone every 4 weeks (+2) → day 30; daily medication: continuity
 * breaks at a gap of 8 days (HEDIS POD), so outreach opens on day 7 of a gap, before day 8.
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
  readonly consentOutreach: boolean;
  readonly doseDays: readonly string[];
  readonly injectionDays: readonly string[];
  readonly visitDays: readonly string[];
  /** Checks already judged (engaged, opened a task, or folded into an open one). */
  readonly judged: readonly string[];
  readonly endedOn?: string;
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
}

export interface Check {
  readonly id: string;
  readonly kind: string;
  readonly dueAt: string;
  readonly dayIndex: number;
}

export function dayIndexOf(enrolledOn: string, day: string): number {
  return Math.round((Date.parse(day) - Date.parse(enrolledOn)) / DAY_MS);
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

/** The supply check that follows the last relevant activity (injections for injectables, any activity otherwise). */
export function supplyCheck(state: FollowUpState): Check | undefined {
  const relevant = INJECTABLES.has(state.medication)
    ? state.injectionDays
    : [...state.doseDays, ...state.injectionDays, ...state.visitDays];
  const last = relevant.length
    ? Math.max(...relevant.map((day) => dayIndexOf(state.enrolledOn, day)))
    : undefined;
  const dayIndex = (last ?? 0) + supplyGrace(state.medication);
  if (dayIndex > HORIZON_DAYS) return undefined;
  return {
    id: `supply-${last ?? 'none'}`,
    kind: INJECTABLES.has(state.medication) ? 'missed-injection' : 'supply-gap',
    dueAt: at(state, dayIndex),
    dayIndex,
  };
}

/** Engaged at a checkpoint: some recorded activity covers a day since the previous checkpoint. */
export function engagedAt(state: FollowUpState, checkpointIndex: number): boolean {
  const windowEnd = CHECKPOINTS[checkpointIndex].dayIndex;
  const windowStart = checkpointIndex === 0 ? 0 : CHECKPOINTS[checkpointIndex - 1].dayIndex + 1;
  const intervals = [
    ...state.doseDays.map((day) => [day, coverageDays(state.medication, 'dose')] as const),
    ...state.injectionDays.map((day) => [day, coverageDays(state.medication, 'injection')] as const),
    ...state.visitDays.map((day) => [day, coverageDays(state.medication, 'visit')] as const),
  ];
  return intervals.some(([day, cover]) => {
    const start = dayIndexOf(state.enrolledOn, day);
    const end = start + cover - 1;
    return start <= windowEnd && end >= windowStart;
  });
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
}

/** Step Functions timers are capped so an embedded timer never overflows (2^31 ms); the workflow simply re-plans. */
export const MAX_PARK_MS = 20 * DAY_MS;

/**
 * What the follow-up workflow does now, given everything recorded.
 *
 * 1. Ended (disenrolled, fatal overdose): no task opens afterwards; tasks already open are
 *    escalated once when due, then the follow-up ends.
 * 2. Every check that has fallen due and is not judged yet is judged in time order:
 *    engaged → nothing; otherwise a task opens, unless a follow-up task is open,
 *    in which case the check is folded into it (at most one open follow-up task).
 * 3. Open tasks past their escalation time are escalated once.
 * 4. A pending notice goes out first; otherwise park until the next due time,
 *    or end when every checkpoint is judged and no task is open.
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
    if (check.engaged || openFollowUp()) continue;
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
  if (pending) return { judged, open, escalate, next: { action: 'notify', ...pending }, finished: false };

  const allJudged = CHECKPOINTS.every(
    (checkpoint) => judgedBefore.has(checkpoint.id) || judged.includes(checkpoint.id),
  );
  const awaitingEscalation = openTasks.some((task) => !task.escalatedAt && !escalate.includes(task.taskId));
  if (ended ? !awaitingEscalation : allJudged && openTasks.length === 0 && !open) {
    return { judged, open, escalate, next: { action: 'end' }, finished: true };
  }

  const wakeTimes = [
    ...due
      .filter((check) => !ended && !judgedBefore.has(check.id) && !judged.includes(check.id))
      .map((check) => Date.parse(check.dueAt)),
    ...openTasks
      .filter((task) => !task.escalatedAt && !escalate.includes(task.taskId))
      .map((task) => Date.parse(task.escalateAt)),
    ...(open ? [Date.parse(open.escalateAt)] : []),
  ].filter((time) => time > nowMs);
  const until = Math.min(nowMs + MAX_PARK_MS, ...wakeTimes);
  return {
    judged,
    open,
    escalate,
    next: { action: 'park', until: new Date(until).toISOString() },
    finished: false,
  };
}
