/**
 * What a scheduled function answers after a run. AWS ignores it (the schedule fires anyway);
 * the embedded runtime's manual clock uses it to know whether the backend is quiet yet and
 * when the function next has work, so it can fire it at that time and not before.
 */
export interface ScheduledRun {
  /** What was done this run, by kind (published, escalated, ...). */
  readonly done: Record<string, number>;
  /** Work that could not be done this run (a publish failed) and is left for the next. */
  readonly failed: number;
  /** The next backend time this function has work for, when it knows. */
  readonly nextDueAt?: string;
}
