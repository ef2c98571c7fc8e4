import { createHash } from 'node:crypto';

/** Outreach task rules shared by kiosk contact requests and MOUD follow-up. */

/** Contract: an open task not completed within 24 hours of the backend clock is escalated once. */
export const ESCALATION_MS = 24 * 60 * 60 * 1000;

/** When a task opened at `openedAt` is escalated, if still open. */
export function escalateAtOf(openedAt: Date): string {
  return new Date(openedAt.getTime() + ESCALATION_MS).toISOString();
}

export type TaskStatus = 'open' | 'completed';
export const TASK_STATUSES: readonly TaskStatus[] = ['open', 'completed'];

/**
 * The task list's index is partitioned by status and one of TASK_SHARDS shards (a hash of the
 * task id), so no status is one hot partition in AWS: writes spread over the shards, and a list
 * page merges the shards in due order.
 */
export const TASK_SHARDS = 8;

/** Which shard of its status a task is kept in: stable for the task's life (FNV-1a of its id). */
export function taskShard(taskId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < taskId.length; i += 1) {
    hash ^= taskId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % TASK_SHARDS;
}

/** The index attributes every task item carries for its status (set on every write that sets `status`). */
export function taskIndexKeys(taskId: string, status: TaskStatus): { statusShard: string } {
  return { statusShard: `${status}#${taskShard(taskId)}` };
}

/**
 * The kind a message about a task carries. Messages leave the store (SNS subscribers: email, SMS,
 * chat), so they say only where a task comes from: a kiosk contact request, or a MOUD follow-up.
 * Why a follow-up task opened (a missed injection, a supply gap, an overdose) would tell whether a
 * person takes an injectable or overdosed; staff read that reason (the task's `kind`) through the
 * authenticated API only.
 */
export function messageKindOf(task: { readonly source?: unknown; readonly kind?: unknown }): string {
  return task.source === 'kiosk' || task.kind === 'kiosk-contact' ? 'kiosk-contact' : 'follow-up';
}

/**
 * The id of a task of an enrollment, for one reason (a checkpoint, a supply check, an event). With
 * the enrollment's own random `taskKey` (kept on the enrollment, never published) the id is a hash
 * that says nothing: messages carry task ids, and an id such as `…-overdose-…` or `…-supply-12`
 * would tell why the task opened. Deterministic, so a re-run opens the same task. Enrollments
 * recorded before task keys existed keep their readable ids, so their open tasks stay the same.
 */
export function enrollmentTaskId(
  enrollment: { readonly enrollmentId: string; readonly taskKey?: string },
  reason: string,
): string {
  if (!enrollment.taskKey) return `T-${enrollment.enrollmentId}-${reason}`;
  return `T-${createHash('sha256').update(`${enrollment.taskKey}\u0000${reason}`).digest('hex').slice(0, 32)}`;
}
