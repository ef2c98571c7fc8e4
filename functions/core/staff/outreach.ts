import { type AggregateKey, aggregateKey, type Counters, type Program } from '../aggregates.js';

/**
 * The outreach section of the reports counts tasks by the day they were counted on and their
 * site: a kiosk contact task on its dispense's day, in the naloxone report (where it is also a
 * contact request); a follow-up task of an enrollment on the day it opened, in the MOUD report.
 * What happens to a task later (completed with an outcome, escalated) is added to that same day,
 * so a report's outreach figures describe the tasks opened in its range, as of its `asOf`.
 *
 *   outreach:opened:<kind>      follow-up tasks opened (kiosk contact tasks: `contactRequests`)
 *   outreach:outcome:<outcome>  tasks completed with that outcome
 *   outreach:hours:<h>          tasks completed h whole hours (rounded down) after they opened
 *   outreach:escalated          tasks escalated
 */
export interface CountedTask {
  readonly taskId: string;
  readonly siteId: string;
  readonly createdAt: string;
  readonly source?: unknown;
  readonly kind?: unknown;
  /** The day the task is counted on (set when it opens; older tasks: the day they opened). */
  readonly countedOn?: unknown;
}

/**
 * Whether the reports count what happens to this task: only tasks counted when they opened (they
 * carry `countedOn`), so that no outcome or escalation is counted for a task whose opening was not.
 */
export const countsInOutreach = (task: object): boolean =>
  typeof (task as { readonly countedOn?: unknown }).countedOn === 'string';

export const outreachProgramOf = (task: Pick<CountedTask, 'source' | 'kind'>): Program =>
  task.source === 'kiosk' || task.kind === 'kiosk-contact' ? 'naloxone' : 'moud';

export function outreachCounterKey(task: CountedTask): AggregateKey {
  const day = typeof task.countedOn === 'string' ? task.countedOn : task.createdAt.slice(0, 10);
  return aggregateKey(outreachProgramOf(task), day, task.siteId, task.taskId);
}

export const openedCounters = (kind: string): Counters => ({ [`outreach:opened:${kind}`]: 1 });

export const escalationCounters = (): Counters => ({ 'outreach:escalated': 1 });

const HOUR_MS = 3_600_000;

/** A completion: its outcome, and the whole hours from open to completion (for the median). */
export function completionCounters(task: CountedTask, outcome: string, at: Date): Counters {
  const hours = Math.max(0, Math.floor((at.getTime() - Date.parse(task.createdAt)) / HOUR_MS));
  return { [`outreach:outcome:${outcome}`]: 1, [`outreach:hours:${hours}`]: 1 };
}
