import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { changeHolder } from '../adapters/staff/task-store.js';
import { conflict, notFound } from '../core/errors.js';
import { taskIdParams } from '../core/schemas.js';
import type { HoldChange } from '../core/staff/tasks.js';
import { type HttpRequest, json, validate } from '../http/route.js';

/*
 * Who holds a task: claimed and released by the tasks function, handed over by the staff function
 * (the one that may read the staff directory).
 */

/** The caller as a task's holder sees them: their name, and whether they may act for anyone. */
export function actorOf(request: HttpRequest) {
  const actor = request.actor;
  return { id: actor?.id ?? 'unknown', admin: actor?.roles.includes('admin') ?? false };
}

/** Changes who holds the task of the path, or answers why not (404, 409). */
export async function hold(request: HttpRequest, change: HoldChange) {
  const { taskId } = validate(taskIdParams(), request.params);
  const result = await changeHolder(taskId, change, actorOf(request), now());
  if (result.status === 'missing') throw notFound('No such task.');
  if (result.status === 'completed')
    throw conflict('task_already_completed', 'This task is completed; nobody can hold it any more.');
  if (result.status === 'held')
    throw conflict('task_held', `This task is held by ${String(result.task.heldBy)}.`);
  // Staff names only, never contact details: who holds what may be logged.
  if (result.status === 'changed') logger.info('task holder changed', { taskId, change: change.kind });
  return json(200, result.task);
}
