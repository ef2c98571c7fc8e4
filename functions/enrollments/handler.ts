import { randomBytes, randomUUID } from 'node:crypto';
import * as z from 'zod';
import { counterUpdate } from '../adapters/aggregates-store.js';
import { now } from '../adapters/clock.js';
import { tableName } from '../adapters/dynamo.js';
import { type EnrollmentRecord, getEnrollment, touchEnrollment } from '../adapters/enrollment-store.js';
import { guardPut, writeOnce } from '../adapters/idempotent.js';
import { idMac } from '../adapters/ids.js';
import { logger } from '../adapters/logger.js';
import { correlationIdOf, count } from '../adapters/observability.js';
import { deliver, newNotification, outboxPut } from '../adapters/outbox.js';
import { sealer } from '../adapters/sealer.js';
import { siteUse } from '../adapters/site-store.js';
import { getContact } from '../adapters/task-store.js';
import { workflows } from '../adapters/workflows.js';
import { addCounter, aggregateKey, type Counters } from '../core/aggregates.js';
import { backoff } from '../core/backoff.js';
import {
  type EnrollmentChange,
  enrolledAtOf,
  enrollmentAnswer,
  enrollmentFingerprint,
  enrollmentIdFromMac,
  enrollmentIdMessage,
  eventFingerprint,
  planEnrollmentEvent,
  urgentTaskId,
} from '../core/enrollments.js';
import { conflict, notFound, unavailable } from '../core/errors.js';
import { type Enrollment, enrollmentEventSchema, enrollmentSchema, keyId } from '../core/schemas.js';
import { escalateAtOf, messageKindOf, taskIndexKeys } from '../core/tasks.js';
import { type HttpRequest, json, jsonBody, notAfterToday, routeGroup, validate } from '../http/route.js';

// Any id that fits a DynamoDB key is looked up: an unknown one is a 404; one that cannot be a key is a 400.
const pathSchema = z.strictObject({ enrollmentId: keyId });

// Contract: `invalid_event` for enrollment events, `invalid_request` for the enrollment itself.
async function sameContact(stored: Record<string, unknown>, enrollment: Enrollment): Promise<boolean> {
  if (!stored.contactId || !enrollment.contact) return !stored.contactId && !enrollment.contact;
  const contact = await getContact(String(stored.contactId));
  if (!contact) return false;
  const opened = JSON.parse(await sealer().open(contact.sealed, `contact:${stored.contactId}`));
  return opened.phone === enrollment.contact.phone;
}

async function enroll(request: HttpRequest) {
  const enrollment = jsonBody(request, enrollmentSchema, 'invalid_request');
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

  const counters: Counters = {};
  addCounter(counters, 'enrollments');
  addCounter(counters, 'priorOverdoses', enrollment.overdosesPrior12m);
  addCounter(counters, `medication:${enrollment.medication}`);
  const items = [
    guardPut('enrollments', 'enrollmentId', {
      enrollmentId,
      writeId: randomUUID(),
      participantRef: enrollment.participantRef,
      siteId: enrollment.siteId,
      enrolledOn: enrollment.enrolledOn,
      enrolledAt,
      medication: enrollment.medication,
      overdosesPrior12m: enrollment.overdosesPrior12m,
      consentOutreach: enrollment.consent.outreach,
      consentPart2: enrollment.consent.part2,
      contactId: sealed ? enrollmentId : undefined,
      taskKey: randomBytes(16).toString('hex'),
      fingerprint,
      changeSeq: 0,
      recordedAt: at.toISOString(),
      recordedBy: request.actor?.id,
      // The follow-up sweep's view: running, under which execution, and when it should be heard from.
      followUpActive: 'yes',
      executionName: enrollmentId,
      parkedUntil: at.toISOString(),
    }),
    ...(sealed
      ? [
          {
            Put: {
              TableName: tableName('contacts'),
              Item: { contactId: enrollmentId, sealed, createdAt: at.toISOString() },
            },
          },
        ]
      : []),
    {
      Update: counterUpdate(
        aggregateKey('moud', enrollment.enrolledOn, enrollment.siteId, enrollmentId),
        counters,
      ),
    },
    siteUse(enrollment.siteId, 'enrollment', enrollmentId, request.actor?.id, at),
  ];
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
  const { enrollmentId } = validate(pathSchema, request.params);
  const event = jsonBody(request, enrollmentEventSchema, 'invalid_event');
  notAfterToday(event.occurredOn, 'occurredOn', 'invalid_event');
  let enrollment = await getEnrollment(enrollmentId);
  if (!enrollment) throw notFound('No such enrollment.');
  const fingerprint = eventFingerprint(event);
  const taskId = urgentTaskId(enrollment, event.eventId);

  const writeId = randomUUID();
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
    if (attempt > 1) await backoff(attempt);
    const at = now();
    const change = planEnrollmentEvent(enrollment, event);
    const urgent = event.type === 'overdose' && !event.fatal && !enrollment.endedOn;
    const notifications =
      urgent && enrollment.consentOutreach
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
    const update = enrollmentUpdate(enrollment, change, urgent ? taskId : undefined);
    const written = await writeOnce(
      [
        guardPut('enrollmentEvents', 'eventId', {
          ...event,
          writeId,
          enrollmentId,
          fingerprint,
          recordedAt: at.toISOString(),
          recordedBy: request.actor?.id,
        }),
        { Update: { TableName: tableName('enrollments'), Key: { enrollmentId }, ...update } },
        ...(Object.keys(change.counters).length
          ? [
              {
                Update: counterUpdate(
                  aggregateKey('moud', enrollment.enrolledOn, enrollment.siteId, enrollmentId),
                  change.counters,
                ),
              },
            ]
          : []),
        ...(urgent
          ? [
              {
                Put: {
                  TableName: tableName('tasks'),
                  Item: {
                    taskId,
                    kind: 'overdose-urgent',
                    urgent: true,
                    status: 'open',
                    ...taskIndexKeys(taskId, 'open'),
                    source: 'moud',
                    enrollmentId,
                    siteId: enrollment.siteId,
                    contactId: enrollment.contactId,
                    dueAt: at.toISOString(),
                    createdAt: at.toISOString(),
                    escalateAt: escalateAtOf(at),
                  },
                },
              },
            ]
          : []),
        ...notifications.map(outboxPut),
      ],
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
    await deliver(notifications);
    count('moudEventsRecorded');
    if (urgent) count('tasksOpened');
    logger.info('enrollment event recorded', {
      enrollmentId,
      eventId: event.eventId,
      type: event.type,
      attempt,
    });
    // Treatment activity only moves future checks, which the workflow judges when they fall due;
    // an overdose or a disenrollment needs it now.
    if (event.type === 'overdose' || event.type === 'disenrolled') await wakeFollowUp(enrollmentId);
    return json(201, { eventId: event.eventId, status: 'recorded' });
  }
  throw unavailable('Too many concurrent changes to this enrollment; nothing was recorded, retry later.');
}

/** The event's changes to the enrollment item, guarded by the event sequence the plan was made from. */
function enrollmentUpdate(enrollment: EnrollmentRecord, change: EnrollmentChange, urgentTaskId?: string) {
  const seq = enrollment.eventSeq ?? 0;
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = { ':next': seq + 1, ':retained': change.retained };
  const sets = ['eventSeq = :next', 'retained = :retained'];
  const adds: string[] = [];
  if (change.activity) {
    names['#activity'] = change.activity.attribute;
    values[':day'] = new Set([change.activity.day]);
    adds.push('#activity :day');
  }
  if (change.overdose) {
    values[':one'] = 1;
    adds.push('overdoses :one');
  }
  if (change.ended) {
    values[':endedOn'] = change.ended.on;
    values[':reason'] = change.ended.reason;
    sets.push('endedOn = :endedOn', 'endReason = :reason');
  }
  if (urgentTaskId) {
    values[':task'] = new Set([urgentTaskId]);
    adds.push('openTasks :task');
  }
  values[':seq'] = seq;
  return {
    UpdateExpression: [`SET ${sets.join(', ')}`, adds.length ? `ADD ${adds.join(', ')}` : '']
      .filter(Boolean)
      .join(' '),
    ConditionExpression:
      seq === 0
        ? 'attribute_exists(enrollmentId) AND (attribute_not_exists(eventSeq) OR eventSeq = :seq)'
        : 'attribute_exists(enrollmentId) AND eventSeq = :seq',
    ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

async function wakeFollowUp(enrollmentId: string): Promise<void> {
  try {
    const token = await touchEnrollment(enrollmentId);
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
