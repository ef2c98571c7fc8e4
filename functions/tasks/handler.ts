import { counterUpdates } from '../adapters/aggregates-store.js';
import { recordAudit } from '../adapters/audit.js';
import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { consentsNow, touchEnrollment } from '../adapters/moud/enrollment-store.js';
import { workflows } from '../adapters/moud/workflows.js';
import { sealer } from '../adapters/sealer.js';
import {
  completeTask,
  getContact,
  getTask,
  listTaskPage,
  type TaskFilter,
  taskStreams,
} from '../adapters/staff/task-store.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import { decodeCursor, encodeCursor } from '../core/paging.js';
import {
  DEFAULT_PAGE_LIMIT,
  emptyBodySchema,
  taskCompletionSchema,
  taskIdParams,
  taskListQuerySchema,
} from '../core/schemas.js';
import { completionCounters, countsInOutreach, outreachCounterKey } from '../core/staff/outreach.js';
import { listingScope, TASK_STATUSES } from '../core/staff/tasks.js';
import { type HttpRequest, json, jsonBody, routeGroup, validate } from '../http/route.js';
import { actorOf, hold } from './holds.js';

async function list(request: HttpRequest) {
  const { status, limit, next, siteId, kind, overdue, mine } = validate(taskListQuerySchema(), request.query);
  const statuses = status ? [status] : TASK_STATUSES;
  const filter: TaskFilter = {
    siteId,
    kind,
    heldBy: mine === 'true' ? actorOf(request).id : undefined,
    dueBefore: overdue ? now().toISOString() : undefined,
  };
  // A cursor continues the listing it came from only: the same status and the same filters.
  const scope = listingScope(status ?? 'all', {
    siteId: filter.siteId,
    kind: filter.kind,
    heldBy: filter.heldBy,
    overdue,
  });
  const cursor = next === undefined ? undefined : decodeCursor(next, scope, taskStreams(statuses).length);
  if (next !== undefined && !cursor)
    throw invalid('invalid_request', [{ path: 'next', message: 'is not a cursor of this listing' }]);
  const page = await listTaskPage(statuses, limit ?? DEFAULT_PAGE_LIMIT, cursor?.positions, filter);
  const consents = await consentsNow(
    page.tasks.map((task) => task.enrollmentId).filter((id): id is string => typeof id === 'string'),
  );
  return json(200, {
    tasks: page.tasks.map((task) => ({ ...task, doNotContact: doNotContact(task, consents) })),
    ...(page.positions ? { next: encodeCursor({ scope, positions: page.positions }) } : {}),
  });
}

/** The stored task without the attributes that only place it in the list index. */
function withoutIndexKeys<T extends Record<string, unknown>>(task: T): Omit<T, 'statusShard'> {
  const { statusShard: _shard, ...rest } = task;
  return rest;
}

/**
 * A task of an enrollment without outreach consent now (the latest consent event's, else the
 * enrollment's) says "do not contact" and carries no contact details. A kiosk contact task is a
 * person's own request to be contacted.
 */
function doNotContact(
  task: Record<string, unknown>,
  consents: ReadonlyMap<string, { readonly outreach: boolean }>,
): boolean {
  return typeof task.enrollmentId === 'string' && consents.get(task.enrollmentId)?.outreach !== true;
}

async function show(request: HttpRequest) {
  const { taskId } = validate(taskIdParams(), request.params);
  const task = await getTask(taskId);
  if (!task) throw notFound('No such task.');
  const enrollmentId = typeof task.enrollmentId === 'string' ? task.enrollmentId : undefined;
  const consents = enrollmentId ? await consentsNow([enrollmentId]) : new Map();
  const hidden = doNotContact(task, consents);
  // Staff see the consent in force now on a task of an enrollment (outreach, and 42 CFR Part 2 sharing).
  const consent = enrollmentId ? { consent: consents.get(enrollmentId) ?? null } : {};
  const stored = task.contactId && !hidden ? await getContact(task.contactId) : undefined;
  if (!stored)
    return json(200, { ...withoutIndexKeys(task), ...consent, doNotContact: hidden, contact: null });
  const actor = request.actor?.id ?? 'unknown';
  // The read is recorded before the details are shown: no audit entry, no details. A read of an
  // enrollment's contact is kept under the enrollment: its access log (42 CFR Part 2 § 2.25).
  if (enrollmentId) await recordAudit(`enrollment:${enrollmentId}`, actor, 'read-contact', now(), { taskId });
  else await recordAudit(`task:${taskId}`, actor, 'read-contact', now());
  const contact = JSON.parse(await sealer().open(stored.sealed, `contact:${task.contactId}`));
  logger.info('contact details read', { taskId, actor });
  return json(200, { ...withoutIndexKeys(task), ...consent, doNotContact: false, contact });
}

async function complete(request: HttpRequest) {
  const { taskId } = validate(taskIdParams(), request.params);
  const { outcome } = jsonBody(request, taskCompletionSchema());
  const at = now();
  // The outcome goes into the reports' outreach figures with the completion (core/outreach.ts).
  const result = await completeTask(taskId, outcome, request.actor?.id ?? 'unknown', at, (task) =>
    countsInOutreach(task)
      ? counterUpdates([{ key: outreachCounterKey(task), counters: completionCounters(task, outcome, at) }])
      : [],
  );
  if (result.status === 'missing') throw notFound('No such task.');
  if (result.status === 'already' && result.task.outcome !== outcome) {
    throw conflict(
      'task_already_completed',
      `This task was already completed with outcome ${result.task.outcome}.`,
    );
  }
  if (typeof result.task.enrollmentId === 'string') {
    // Lets the follow-up workflow go on: the task leaves the enrollment's open set and a parked execution wakes.
    const token = await touchEnrollment(result.task.enrollmentId, at, {
      taskId,
      followUp: result.task.urgent !== true,
    });
    if (token) await workflows().wake(token);
  }
  return json(200, { ...withoutIndexKeys(result.task), contactId: undefined, pendingNotice: undefined });
}

/** Claim and release take no body, or an empty object. */
function noBody(request: HttpRequest): void {
  if (request.rawBody.length > 0) jsonBody(request, emptyBodySchema());
}

async function claim(request: HttpRequest) {
  noBody(request);
  return hold(request, { kind: 'claim' });
}

async function release(request: HttpRequest) {
  noBody(request);
  return hold(request, { kind: 'release' });
}

export const handler = routeGroup('tasks', {
  'GET /v1/outreach/tasks': list,
  'GET /v1/outreach/tasks/{taskId}': show,
  'POST /v1/outreach/tasks/{taskId}/complete': complete,
  'POST /v1/outreach/tasks/{taskId}/claim': claim,
  'POST /v1/outreach/tasks/{taskId}/release': release,
});
