import { listColleagues } from '../adapters/staff/staff-directory.js';
import { invalid } from '../core/errors.js';
import { taskHandoverSchema } from '../core/schemas.js';
import { type HttpRequest, json, jsonBody, routeGroup } from '../http/route.js';
import { hold } from '../tasks/holds.js';

/*
 * The routes that read the staff directory, apart from the tasks function: that one opens contact
 * details, this one can read who the staff are and change who holds a task, and neither can do both.
 */

/** Hands an open task to a colleague named in the staff directory. */
async function handover(request: HttpRequest) {
  const { to } = jsonBody(request, taskHandoverSchema());
  const colleagues = await listColleagues();
  if (!colleagues.some((colleague) => colleague.username === to))
    throw invalid('invalid_request', [{ path: 'to', message: 'is not a member of staff (GET /v1/staff)' }]);
  return hold(request, { kind: 'handover', to });
}

async function staff() {
  return json(200, { staff: await listColleagues() });
}

export const handler = routeGroup('staff', {
  'POST /v1/outreach/tasks/{taskId}/handover': handover,
  'GET /v1/staff': staff,
});
