import { auditEntries } from '../adapters/audit.js';
import { getEnrollment } from '../adapters/moud/enrollment-store.js';
import { notFound } from '../core/errors.js';
import { enrollmentIdParams } from '../core/schemas.js';
import { type HttpRequest, json, routeGroup, validate } from '../http/route.js';

/**
 * The accounting of disclosures of one enrollment (42 CFR Part 2 § 2.25): the consent recorded
 * with the enrollment, every consent change, and every read of its contact details — who, when,
 * what — oldest first. Read only: the entries are written where the change or the read happens.
 */
async function accessLog(request: HttpRequest) {
  const { enrollmentId } = validate(enrollmentIdParams(), request.params);
  const enrollment = await getEnrollment(enrollmentId);
  if (!enrollment) throw notFound('No such enrollment.');
  const entries = (await auditEntries(`enrollment:${enrollmentId}`)).map((entry) => ({
    at: String(entry.at),
    by: String(entry.actor),
    what: String(entry.action),
    ...(entry.taskId ? { taskId: String(entry.taskId) } : {}),
    ...(entry.action === 'consent-change'
      ? {
          occurredOn: String(entry.occurredOn),
          consent: { outreach: entry.outreach === 'true', part2: entry.part2 === 'true' },
        }
      : {}),
  }));
  const recorded = {
    at: enrollment.recordedAt ?? enrollment.enrolledAt,
    by: enrollment.recordedBy ?? 'unknown',
    what: 'consent-recorded',
    occurredOn: enrollment.enrolledOn,
    consent: { outreach: enrollment.consentOutreach === true, part2: enrollment.consentPart2 === true },
  };
  return json(200, { enrollmentId, entries: [recorded, ...entries] });
}

export const handler = routeGroup('accessLog', {
  'GET /v1/moud/enrollments/{enrollmentId}/access-log': accessLog,
});
