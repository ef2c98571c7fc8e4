import { randomUUID } from 'node:crypto';
import { now } from '../adapters/clock.js';
import { writeOnce } from '../adapters/idempotent.js';
import { idMac } from '../adapters/ids.js';
import { logger } from '../adapters/logger.js';
import {
  type EnrollmentRecord,
  enrollmentEventUpdate,
  getEnrollment,
  historyOf,
  touchEnrollment,
} from '../adapters/moud/enrollment-store.js';
import { enrollmentEventItems, newEnrollmentItems } from '../adapters/moud/enrollment-writes.js';
import { workflows } from '../adapters/moud/workflows.js';
import { newNotification } from '../adapters/notices/outbox.js';
import { correlationIdOf, count } from '../adapters/observability.js';
import { sealer } from '../adapters/sealer.js';
import { getContact } from '../adapters/staff/task-store.js';
import { aggregateKey } from '../core/aggregates.js';
import { backoff } from '../core/backoff.js';
import { conflict, notFound, unavailable } from '../core/errors.js';
import { stableUuid } from '../core/ids.js';
import {
  contribution,
  enrolledAtOf,
  enrollmentAnswer,
  enrollmentFingerprint,
  enrollmentIdFromMac,
  enrollmentIdMessage,
  eventFingerprint,
  planEnrollmentEvent,
  urgentTaskId,
} from '../core/moud/enrollments.js';
import { supplyDueOf } from '../core/moud/followup.js';
import { consentOn, encodeEntry, type HistoryEntry } from '../core/moud/moud-history.js';
import {
  type Enrollment,
  type EnrollmentEvent,
  enrollmentEventSchema,
  enrollmentIdParams,
  enrollmentSchema,
  type Medication,
} from '../core/schemas.js';
import { openedCounters, outreachCounterKey } from '../core/staff/outreach.js';
import { messageKindOf } from '../core/staff/tasks.js';
import { type HttpRequest, json, jsonBody, notAfterToday, routeGroup, validate } from '../http/route.js';

// Contract: `invalid_event` for enrollment events, `invalid_request` for the enrollment itself.
async function sameContact(stored: Record<string, unknown>, enrollment: Enrollment): Promise<boolean> {
  if (!stored.contactId || !enrollment.contact) return !stored.contactId && !enrollment.contact;
  const contact = await getContact(String(stored.contactId));
  if (!contact) return false;
  const opened = JSON.parse(await sealer().open(contact.sealed, `contact:${stored.contactId}`));
  return opened.phone === enrollment.contact.phone;
}

async function enroll(request: HttpRequest) {
  const enrollment = jsonBody(request, enrollmentSchema(), 'invalid_request');
  notAfterToday(enrollment.enrolledOn, 'enrolledOn', 'invalid_request');
  const at = now();
  const enrollmentId = enrollmentIdFromMac(
    await idMac().mac(enrollmentIdMessage(enrollment.participantRef, enrollment.enrolledOn)),
  );
  const enrolledAt = enrolledAtOf(enrollment.enrolledOn, at);
  const fingerprint = enrollmentFingerprint(enrollment);
  const sealed = enrollment.contact
    ? await sealer().seal(JSON.stringify(enrollment.contact), `contact:${enrollmentId}`)
    : undefined;

  // What the enrollment adds to its cohort counters before any event; each event writes the difference.
  const counters = contribution(enrollment, []);
  const items = newEnrollmentItems({
    enrollmentId,
    enrollment,
    enrolledAt,
    fingerprint,
    sealed,
    counters,
    cohort: aggregateKey('moud', enrollment.enrolledOn, enrollment.siteId, enrollmentId),
    supplyDueAt: supplyDueOf({
      enrolledOn: enrollment.enrolledOn,
      enrolledAt,
      medication: enrollment.medication,
      history: [],
      judged: [],
    })?.dueAt,
    actor: request.actor?.id,
    at,
  });
  // A transaction cancelled by a concurrent one (the same site's counters, say) wrote nothing: again.
  let written = await writeOnce(items);
  for (let attempt = 2; written.status === 'stale' && attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
    await backoff(attempt);
    written = await writeOnce(items);
  }
  if (written.status === 'stale' || written.status === 'missing')
    throw unavailable('Too many concurrent changes; nothing was recorded, retry later.');

  if (written.status === 'exists') {
    if (written.stored.fingerprint !== fingerprint || !(await sameContact(written.stored, enrollment))) {
      throw conflict(
        'enrollment_exists',
        'This participant is already enrolled on that day with other details.',
      );
    }
  }
  // Also on a retry: the start is idempotent, and a retry after a failed start must start it.
  const execution = written.status === 'exists' ? written.stored.executionName : undefined;
  await workflows().startFollowUp(
    enrollmentId,
    typeof execution === 'string' ? execution : enrollmentId,
    correlationIdOf(request.event),
  );
  const stored = written.status === 'exists' ? String(written.stored.enrolledAt) : enrolledAt;
  logger.info('enrollment recorded', { enrollmentId, status: written.status });
  return json(written.status === 'created' ? 201 : 200, enrollmentAnswer(enrollmentId, stored));
}

/** Concurrent writes to one enrollment (or one cohort row) re-plan from what DynamoDB hands back, backing off. */
const MAX_WRITE_ATTEMPTS = 12;

async function recordEvent(request: HttpRequest) {
  const { enrollmentId } = validate(enrollmentIdParams(), request.params);
  const event = jsonBody(request, enrollmentEventSchema(), 'invalid_event');
  notAfterToday(event.occurredOn, 'occurredOn', 'invalid_event');
  let enrollment = await getEnrollment(enrollmentId);
  if (!enrollment) throw notFound('No such enrollment.');
  const fingerprint = eventFingerprint(event);
  const taskId = urgentTaskId(enrollment, event.eventId);
  const actor = request.actor?.id ?? 'unknown';

  const writeId = randomUUID();
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
    if (attempt > 1) await backoff(attempt);
    const at = now();
    const today = at.toISOString().slice(0, 10);
    const { history, contribution } = await historyOf(enrollment);
    const consent = { outreach: enrollment.consentOutreach, part2: enrollment.consentPart2 };
    const change = planEnrollmentEvent(
      {
        enrolledOn: enrollment.enrolledOn,
        medication: enrollment.medication,
        overdosesPrior12m: enrollment.overdosesPrior12m,
        consent,
        history,
        contribution,
      },
      event,
      today,
    );
    const urgent = change.urgent;
    const notifications =
      urgent && change.outreachAfter
        ? [
            newNotification(
              'outreach',
              {
                kind: messageKindOf({ kind: 'overdose-urgent' }),
                taskId,
                enrollmentId,
                siteId: enrollment.siteId,
                dueAt: at.toISOString(),
              },
              at,
              `${taskId}/outreach`,
            ),
          ]
        : [];
    // An urgent task on a follow-up that had already finished: the workflow runs again to escalate it.
    const resume =
      urgent && enrollment.followUpEndedAt
        ? { executionName: `${enrollmentId}-u${(enrollment.eventSeq ?? 0) + 1}`, at: at.toISOString() }
        : undefined;
    const withdrawn = change.outreachBefore && !change.outreachAfter;
    // The supply sweep finds a gap by this (the workflow does not wake for supply checks): written with
    // the event that moves the check, left alone otherwise (the planner keeps it between events).
    const supply = (entries: readonly HistoryEntry[]) =>
      supplyDueOf({
        enrolledOn: enrollment!.enrolledOn,
        enrolledAt: enrollment!.enrolledAt,
        medication: enrollment!.medication as Medication,
        history: entries,
        judged: [...(enrollment!.judged ?? [])],
      });
    const supplyBefore = supply(history);
    const supplyAfter = supply(change.history);
    const update = enrollmentEventUpdate(enrollment, {
      history: change.history.map(encodeEntry),
      contribution: change.contribution,
      end: change.end,
      openedTaskId: urgent ? taskId : undefined,
      resume,
      ...(supplyAfter?.id !== supplyBefore?.id ? { supplyDueAt: supplyAfter?.dueAt ?? null } : {}),
      ...(event.type === 'consent' ? { consentNow: consentOn(consent, change.history, today) } : {}),
    });
    const written = await writeOnce(
      enrollmentEventItems({
        enrollment,
        event,
        writeId,
        fingerprint,
        actor,
        at,
        update,
        counters: [
          {
            key: aggregateKey('moud', enrollment.enrolledOn, enrollment.siteId, enrollmentId),
            counters: change.counters,
          },
          ...(urgent
            ? [
                {
                  key: outreachCounterKey({ taskId, siteId: enrollment.siteId, createdAt: at.toISOString() }),
                  counters: openedCounters('overdose-urgent'),
                },
              ]
            : []),
        ],
        urgentTask: urgent ? { taskId, countedOn: today } : undefined,
        withdrawn,
        outreachMessageId,
        notifications,
      }),
      1,
    );
    if (written.status === 'missing') throw notFound('No such enrollment.');
    if (written.status === 'exists') {
      if (written.stored.fingerprint === fingerprint) {
        count('moudEventDuplicates');
        return json(200, { eventId: event.eventId, status: 'duplicate' });
      }
      throw conflict('event_id_conflict', 'This eventId was already recorded with a different event.');
    }
    if (written.status === 'stale') {
      const current = Object.keys(written.current).length
        ? (written.current as unknown as EnrollmentRecord)
        : await getEnrollment(enrollmentId);
      if (!current) throw notFound('No such enrollment.');
      enrollment = current;
      continue;
    }
    // The outbox table's stream publishes the urgent task's notice.
    count('moudEventsRecorded');
    if (urgent) count('tasksOpened');
    logger.info('enrollment event recorded', {
      enrollmentId,
      eventId: event.eventId,
      type: event.type,
      attempt,
    });
    if (resume) await resumeFollowUp(enrollmentId, resume.executionName, request);
    // Treatment activity only moves future checks, which the workflow judges when they fall due;
    // an overdose, a disenrollment or a change of consent needs it now.
    else if (WAKING.has(event.type)) await wakeFollowUp(enrollmentId);
    return json(201, { eventId: event.eventId, status: 'recorded' });
  }
  throw unavailable('Too many concurrent changes to this enrollment; nothing was recorded, retry later.');
}

/** Events the parked follow-up hears of at once. */
const WAKING: ReadonlySet<EnrollmentEvent['type']> = new Set(['overdose', 'disenrolled', 'consent']);

/** The messageId an urgent task's outreach notice has in the outbox (stable: functions/adapters/notices/outbox.ts). */
const outreachMessageId = (taskId: string) => stableUuid('outreach', `${taskId}/outreach`);

async function resumeFollowUp(enrollmentId: string, name: string, request: HttpRequest): Promise<void> {
  try {
    await workflows().startFollowUp(enrollmentId, name, correlationIdOf(request.event));
  } catch (error) {
    // Recorded as running and due now: the follow-up sweep starts it if this did not.
    logger.warn('could not resume the follow-up workflow', {
      enrollmentId,
      errorName: (error as Error).name,
    });
  }
}

async function wakeFollowUp(enrollmentId: string): Promise<void> {
  try {
    const token = await touchEnrollment(enrollmentId, now());
    if (token) await workflows().wake(token);
  } catch (error) {
    // The event is recorded; the workflow sees it at its next due time anyway.
    logger.warn('could not wake the follow-up workflow', { enrollmentId, errorName: (error as Error).name });
  }
}

export const handler = routeGroup('enrollments', {
  'POST /v1/moud/enrollments': enroll,
  'POST /v1/moud/enrollments/{enrollmentId}/events': recordEvent,
});
