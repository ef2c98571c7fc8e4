import * as z from 'zod';
import { counterUpdate } from '../adapters/aggregates-store.js';
import { now } from '../adapters/clock.js';
import { tableName } from '../adapters/dynamo.js';
import { getEnrollment, touchEnrollment, writeOnce } from '../adapters/enrollment-store.js';
import { logger } from '../adapters/logger.js';
import { deliver, newNotification, outboxPut } from '../adapters/outbox.js';
import { sealer } from '../adapters/sealer.js';
import { getContact } from '../adapters/task-store.js';
import { workflows } from '../adapters/workflows.js';
import { addCounter, aggregateKey, type Counters } from '../core/aggregates.js';
import {
  activityAttribute,
  enrolledAtOf,
  enrollmentAnswer,
  enrollmentFingerprint,
  enrollmentIdOf,
  eventFingerprint,
  urgentTaskId,
} from '../core/enrollments.js';
import { conflict, invalid, notFound } from '../core/errors.js';
import { ESCALATION_MS } from '../core/followup.js';
import { type Enrollment, enrollmentEventSchema, enrollmentSchema } from '../core/schemas.js';
import { type HttpRequest, json, jsonBody, routeGroup, validate } from '../http/route.js';

const pathSchema = z.strictObject({ enrollmentId: z.string().min(1).max(64) });

function notAfterToday(day: string, field: string): void {
  if (day > now().toISOString().slice(0, 10))
    throw invalid('invalid_event', [{ path: field, message: 'must not be after today' }]);
}

async function sameContact(stored: Record<string, unknown>, enrollment: Enrollment): Promise<boolean> {
  if (!stored.contactId || !enrollment.contact) return !stored.contactId && !enrollment.contact;
  const contact = await getContact(String(stored.contactId));
  if (!contact) return false;
  const opened = JSON.parse(await sealer().open(contact.sealed, `contact:${stored.contactId}`));
  return opened.phone === enrollment.contact.phone;
}

async function enroll(request: HttpRequest) {
  const enrollment = jsonBody(request, enrollmentSchema, 'invalid_event');
  notAfterToday(enrollment.enrolledOn, 'enrolledOn');
  const at = now();
  const enrollmentId = enrollmentIdOf(enrollment.participantRef, enrollment.enrolledOn);
  const enrolledAt = enrolledAtOf(enrollment.enrolledOn, at);
  const fingerprint = enrollmentFingerprint(enrollment);
  const sealed = enrollment.contact
    ? await sealer().seal(JSON.stringify(enrollment.contact), `contact:${enrollmentId}`)
    : undefined;

  const counters: Counters = {};
  addCounter(counters, 'enrollments');
  addCounter(counters, 'priorOverdoses', enrollment.overdosesPrior12m);
  addCounter(counters, `medication:${enrollment.medication}`);
  const written = await writeOnce([
    {
      Put: {
        TableName: tableName('enrollments'),
        Item: {
          enrollmentId,
          participantRef: enrollment.participantRef,
          siteId: enrollment.siteId,
          enrolledOn: enrollment.enrolledOn,
          enrolledAt,
          medication: enrollment.medication,
          overdosesPrior12m: enrollment.overdosesPrior12m,
          consentOutreach: enrollment.consent.outreach,
          consentPart2: enrollment.consent.part2,
          contactId: sealed ? enrollmentId : undefined,
          fingerprint,
          changeSeq: 0,
          recordedAt: at.toISOString(),
          recordedBy: request.actor?.id,
        },
        ConditionExpression: 'attribute_not_exists(enrollmentId)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    },
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
    { Update: counterUpdate(aggregateKey('moud', enrollment.enrolledOn, enrollment.siteId), counters) },
  ]);

  if (written.status === 'exists') {
    if (written.stored.fingerprint !== fingerprint || !(await sameContact(written.stored, enrollment))) {
      throw conflict(
        'enrollment_exists',
        'This participant is already enrolled on that day with other details.',
      );
    }
  }
  // Also on a retry: the start is idempotent, and a retry after a failed start must start it.
  await workflows().startFollowUp(enrollmentId);
  const stored = written.status === 'exists' ? String(written.stored.enrolledAt) : enrolledAt;
  logger.info('enrollment recorded', { enrollmentId, status: written.status });
  return json(written.status === 'created' ? 201 : 200, enrollmentAnswer(enrollmentId, stored));
}

async function recordEvent(request: HttpRequest) {
  const { enrollmentId } = validate(pathSchema, request.params);
  const event = jsonBody(request, enrollmentEventSchema, 'invalid_event');
  notAfterToday(event.occurredOn, 'occurredOn');
  const enrollment = await getEnrollment(enrollmentId);
  if (!enrollment) throw notFound('No such enrollment.');
  const at = now();
  const fingerprint = eventFingerprint(event);

  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const adds: string[] = [];
  const counters: Counters = {};
  const activity = activityAttribute(event.type);
  if (activity) {
    names['#activity'] = activity;
    values[':day'] = new Set([event.occurredOn]);
    adds.push('#activity :day');
    addCounter(counters, `${event.type}s`);
  }
  if (event.type === 'missed-visit') addCounter(counters, 'missedVisits');
  if (event.type === 'overdose') {
    values[':one'] = 1;
    adds.push('overdoses :one');
    addCounter(counters, event.fatal ? 'fatalOverdoses' : 'overdoses');
  }
  const ends = event.type === 'disenrolled' || (event.type === 'overdose' && event.fatal);
  if (ends) {
    values[':endedOn'] = event.occurredOn;
    values[':reason'] = event.type === 'disenrolled' ? 'disenrolled' : 'died';
    sets.push('endedOn = if_not_exists(endedOn, :endedOn)', 'endReason = if_not_exists(endReason, :reason)');
    addCounter(counters, event.type === 'disenrolled' ? 'disenrollments' : 'deaths');
  }
  const urgent = event.type === 'overdose' && !event.fatal && !enrollment.endedOn;
  const taskId = urgentTaskId(enrollmentId, event.eventId);
  if (urgent) {
    values[':task'] = new Set([taskId]);
    adds.push('openTasks :task');
  }
  const notifications =
    urgent && enrollment.consentOutreach
      ? [
          newNotification(
            'outreach',
            {
              kind: 'overdose-urgent',
              taskId,
              enrollmentId,
              siteId: enrollment.siteId,
              dueAt: at.toISOString(),
            },
            at,
          ),
        ]
      : [];
  const expression = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    adds.length ? `ADD ${adds.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join(' ');

  const written = await writeOnce(
    [
      {
        Put: {
          TableName: tableName('enrollmentEvents'),
          Item: {
            ...event,
            enrollmentId,
            fingerprint,
            recordedAt: at.toISOString(),
            recordedBy: request.actor?.id,
          },
          ConditionExpression: 'attribute_not_exists(eventId)',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        },
      },
      expression
        ? {
            Update: {
              TableName: tableName('enrollments'),
              Key: { enrollmentId },
              UpdateExpression: expression,
              ConditionExpression: 'attribute_exists(enrollmentId)',
              ...(Object.keys(names).length ? { ExpressionAttributeNames: names } : {}),
              ...(Object.keys(values).length ? { ExpressionAttributeValues: values } : {}),
            },
          }
        : {
            ConditionCheck: {
              TableName: tableName('enrollments'),
              Key: { enrollmentId },
              ConditionExpression: 'attribute_exists(enrollmentId)',
            },
          },
      ...(Object.keys(counters).length
        ? [{ Update: counterUpdate(aggregateKey('moud', event.occurredOn, enrollment.siteId), counters) }]
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
                  source: 'moud',
                  enrollmentId,
                  siteId: enrollment.siteId,
                  contactId: enrollment.contactId,
                  dueAt: at.toISOString(),
                  createdAt: at.toISOString(),
                  escalateAt: new Date(at.getTime() + ESCALATION_MS).toISOString(),
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
    if (written.stored.fingerprint === fingerprint)
      return json(200, { eventId: event.eventId, status: 'duplicate' });
    throw conflict('event_id_conflict', 'This eventId was already recorded with a different event.');
  }
  await deliver(notifications);
  // Treatment activity only moves future checks, which the workflow judges when they fall due;
  // an overdose or a disenrollment needs it now.
  if (event.type !== 'overdose' && event.type !== 'disenrolled') {
    logger.info('enrollment event recorded', { enrollmentId, eventId: event.eventId, type: event.type });
    return json(201, { eventId: event.eventId, status: 'recorded' });
  }
  try {
    const token = await touchEnrollment(enrollmentId);
    if (token) await workflows().wake(token);
  } catch (error) {
    // The event is recorded; the workflow sees it at its next due time anyway.
    logger.warn('could not wake the follow-up workflow', { enrollmentId, errorName: (error as Error).name });
  }
  logger.info('enrollment event recorded', { enrollmentId, eventId: event.eventId, type: event.type });
  return json(201, { eventId: event.eventId, status: 'recorded' });
}

export const handler = routeGroup('enrollments', {
  'POST /v1/moud/enrollments': enroll,
  'POST /v1/moud/enrollments/{enrollmentId}/events': recordEvent,
});
