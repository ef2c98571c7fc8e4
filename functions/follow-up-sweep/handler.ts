import { now } from '../adapters/clock.js';
import { claimRestart, nextFollowUpDue, overdueFollowUps } from '../adapters/enrollment-store.js';
import { logger } from '../adapters/logger.js';
import { count, observed } from '../adapters/observability.js';
import { workflows } from '../adapters/workflows.js';
import type { ScheduledRun } from '../core/schedule.js';

/** A running follow-up is heard from (it parks again) as soon as it wakes; past this, it is looked at. */
export const SILENCE_GRACE_MS = 60 * 60_000;

/** A restarted follow-up that is not heard from either is looked at again after this long, doubling. */
const RETRY_BASE_MS = 60 * 60_000;
const RETRY_CAP_MS = 24 * 60 * 60_000;

/**
 * Scheduled: finds follow-ups that should have parked again by now and have not, asks Step
 * Functions whether their execution still runs, and restarts each that does not (it failed,
 * timed out, was aborted or never started) under a new execution name. Every step of the
 * workflow is idempotent, so the restart takes up where the dead execution left off.
 * Each restart is logged at WARN as "follow-up restarted": the alarm on it says someone should
 * look at why the execution died.
 */
export const handler = observed(async (): Promise<ScheduledRun> => {
  const at = now();
  const overdue = await overdueFollowUps(new Date(at.getTime() - SILENCE_GRACE_MS).toISOString());
  let restarted = 0;
  for (const followUp of overdue) {
    const current = followUp.executionName ?? followUp.enrollmentId;
    const status = await workflows().statusOf(current);
    if (status === 'RUNNING') continue; // busy, or backing off: alive
    const restarts = (followUp.restarts ?? 0) + 1;
    const name = `${followUp.enrollmentId}-r${restarts}`;
    const retryAt = new Date(at.getTime() + Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** (restarts - 1)));
    if (!(await claimRestart(followUp, name, retryAt.toISOString()))) continue;
    await workflows().startFollowUp(followUp.enrollmentId, name);
    restarted += 1;
    logger.warn('follow-up restarted', {
      enrollmentId: followUp.enrollmentId,
      previousExecution: current,
      previousStatus: status ?? 'none',
      execution: name,
    });
  }
  count('followUpsRestarted', restarted); // the FollowUpsRestarted alarm (lib/ops.ts)
  const earliest = await nextFollowUpDue();
  return {
    done: { restarted },
    failed: 0,
    nextDueAt: earliest ? new Date(Date.parse(earliest) + SILENCE_GRACE_MS).toISOString() : undefined,
  };
});
