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

/** Who holds an open task (claimed it, or was handed it): the one person working it. */
export type HoldChange =
  | { readonly kind: 'claim' }
  | { readonly kind: 'handover'; readonly to: string }
  | { readonly kind: 'release' };

export interface HoldActor {
  readonly id: string;
  /** Administrators may hand over or release a task someone else holds (someone is away). */
  readonly admin: boolean;
}

/**
 * Why a change of holder was not made, judged from the task as it was (the write is conditional and
 * hands the task back when its condition fails): `already` when the task is already as asked (the
 * same request again answers as the first did), `completed`, `held` by someone else, or `missing`.
 * Undefined when the change may be made.
 */
export function holdRefusal(
  task: { readonly status?: unknown; readonly heldBy?: unknown } | undefined,
  change: HoldChange,
  actor: HoldActor,
): 'already' | 'completed' | 'held' | 'missing' | undefined {
  if (!task) return 'missing';
  if (task.status !== 'open') return 'completed';
  const holder = typeof task.heldBy === 'string' ? task.heldBy : undefined;
  switch (change.kind) {
    case 'claim':
      if (holder === actor.id) return 'already';
      return holder ? 'held' : undefined;
    case 'handover':
      if (holder === change.to) return 'already';
      return !holder || holder === actor.id || actor.admin ? undefined : 'held';
    case 'release':
      if (!holder) return 'already';
      return holder === actor.id || actor.admin ? undefined : 'held';
  }
}

/** The task as a change of holder leaves it. */
export function heldAfter<T extends Record<string, unknown>>(
  task: T,
  change: HoldChange,
  actor: HoldActor,
  at: Date,
): Record<string, unknown> {
  const { heldBy: _heldBy, heldSince: _heldSince, handedOverBy: _handedOverBy, ...rest } = task;
  if (change.kind === 'release') return rest;
  if (change.kind === 'claim') return { ...rest, heldBy: actor.id, heldSince: at.toISOString() };
  return { ...rest, heldBy: change.to, heldSince: at.toISOString(), handedOverBy: actor.id };
}

/**
 * What a task-list cursor continues: the status listed, and the filters when there are any (hashed, so a
 * cursor stays short whatever the site id). A listing without filters keeps the scope it always had.
 */
export function listingScope(status: string, filters: Record<string, string | undefined>): string {
  const set = Object.entries(filters)
    .filter(([, value]) => value !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1));
  if (set.length === 0) return status;
  return `${status}?${createHash('sha256').update(JSON.stringify(set)).digest('base64url').slice(0, 22)}`;
}
