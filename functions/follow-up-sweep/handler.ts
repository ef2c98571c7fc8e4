import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import {
  claimRestart,
  claimSupplyWake,
  nextFollowUpDue,
  nextSupplyCheckDue,
  overdueFollowUps,
  supplyChecksDue,
} from '../adapters/moud/enrollment-store.js';
import { workflows } from '../adapters/moud/workflows.js';
import { count, observed } from '../adapters/observability.js';
import type { ScheduledRun } from '../core/schedule.js';

/** A running follow-up is heard from (it parks again) as soon as it wakes; past this, it is looked at. */
export const SILENCE_GRACE_MS = 60 * 60_000;

/** A restarted follow-up that is not heard from either is looked at again after this long, doubling. */
const RETRY_BASE_MS = 60 * 60_000;
const RETRY_CAP_MS = 24 * 60 * 60_000;

/**
 * Scheduled, hourly. First: finds follow-ups that should have parked again by now and have not, asks Step
 * Functions whether their execution still runs, and restarts each that does not (it failed,
 * timed out, was aborted or never started) under a new execution name. Every step of the
 * workflow is idempotent, so the restart takes up where the dead execution left off.
 * Each restart is logged at WARN as "follow-up restarted": the alarm on it says someone should
 * look at why the execution died.
 * Then: wakes the follow-ups whose supply check has fallen due (a possible gap in medication),
 * which their workflows do not wake for by themselves.
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

  // Supply gaps: the workflow parks until its next checkpoint or escalation only, so the follow-ups whose
  // supply check has fallen due are woken here, and only those (the sparse index bySupplyDue).
  let supplyWakes = 0;
  for (const check of await supplyChecksDue(at.toISOString())) {
    const claimed = await claimSupplyWake(check, at.toISOString());
    if (!claimed) continue; // moved by a new dose, or judged meanwhile
    supplyWakes += 1;
    // No token: the execution is planning right now and plans again (changeSeq), or it is dead and
    // the restart above takes it up once its grace has passed.
    if (claimed.token) await workflows().wake(claimed.token);
  }
  if (supplyWakes) logger.info('follow-ups woken for their supply check', { supplyWakes });

  const earliest = await nextFollowUpDue();
  const nextSupply = await nextSupplyCheckDue();
  const dueTimes = [
    ...(earliest ? [Date.parse(earliest) + SILENCE_GRACE_MS] : []),
    ...(nextSupply ? [Date.parse(nextSupply)] : []),
  ];
  return {
    done: { restarted, supplyWakes },
    failed: 0,
    nextDueAt: dueTimes.length ? new Date(Math.min(...dueTimes)).toISOString() : undefined,
  };
});
