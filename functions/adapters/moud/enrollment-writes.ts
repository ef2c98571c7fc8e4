import { randomBytes, randomUUID } from 'node:crypto';
import type { AggregateKey, Counters } from '../../core/aggregates.js';
import type { Enrollment, EnrollmentEvent } from '../../core/schemas.js';
import { escalateAtOf, taskIndexKeys } from '../../core/staff/tasks.js';
import { counterUpdate, counterUpdates } from '../aggregates-store.js';
import { auditPut } from '../audit.js';
import { tableName } from '../dynamo.js';
import { guardPut, type TransactItems } from '../idempotent.js';
import { type OutboxNotification, outboxPut } from '../notices/outbox.js';
import { siteUse } from '../site-store.js';
import {
  type EnrollmentRecord,
  type enrollmentEventUpdate,
  unpublishedNoticeDeletes,
} from './enrollment-store.js';

/** A new enrollment as its handler planned it. */
export interface NewEnrollment {
  readonly enrollmentId: string;
  readonly enrollment: Enrollment;
  readonly enrolledAt: string;
  readonly fingerprint: string;
  /** The sealed contact details, when the person gave any. */
  readonly sealed?: string;
  /** What the enrollment adds to its cohort counters before any event. */
  readonly counters: Counters;
  readonly cohort: AggregateKey;
  /** When the supply sweep should first check on the enrollment. */
  readonly supplyDueAt?: string;
  readonly actor?: string;
  readonly at: Date;
}

/**
 * One transaction: the enrollment (guarded, so a retry finds it), its sealed contact, its cohort counters and
 * the use of its site.
 */
export function newEnrollmentItems(write: NewEnrollment): TransactItems {
  const { enrollmentId, enrollment, sealed, at } = write;
  return [
    guardPut('enrollments', 'enrollmentId', {
      enrollmentId,
      writeId: randomUUID(),
      participantRef: enrollment.participantRef,
      siteId: enrollment.siteId,
      enrolledOn: enrollment.enrolledOn,
      enrolledAt: write.enrolledAt,
      medication: enrollment.medication,
      overdosesPrior12m: enrollment.overdosesPrior12m,
      consentOutreach: enrollment.consent.outreach,
      consentPart2: enrollment.consent.part2,
      contactId: sealed ? enrollmentId : undefined,
      taskKey: randomBytes(16).toString('hex'),
      fingerprint: write.fingerprint,
      changeSeq: 0,
      history: [],
      contribution: write.counters,
      recordedAt: at.toISOString(),
      recordedBy: write.actor,
      // The follow-up sweep's view: running, under which execution, and when it should be heard from.
      followUpActive: 'yes',
      executionName: enrollmentId,
      parkedUntil: at.toISOString(),
      // The supply sweep's view: when the first supply check falls due (the workflow does not wake for it).
      supplyDueAt: write.supplyDueAt,
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
    { Update: counterUpdate(write.cohort, write.counters) },
    siteUse(enrollment.siteId, 'enrollment', enrollmentId, write.actor, at),
  ];
}

/** One event of an enrollment as its handler planned it. */
export interface EnrollmentEventRecord {
  readonly enrollment: EnrollmentRecord;
  readonly event: EnrollmentEvent;
  readonly writeId: string;
  readonly fingerprint: string;
  readonly actor: string;
  readonly at: Date;
  /** The event's changes to the enrollment item (enrollment-store.ts `enrollmentEventUpdate`). */
  readonly update: ReturnType<typeof enrollmentEventUpdate>;
  /** Each counter item the event changes, and by how much. */
  readonly counters: readonly { readonly key: AggregateKey; readonly counters: Counters }[];
  /** The urgent task the event opens. */
  readonly urgentTask?: { readonly taskId: string; readonly countedOn: string };
  /** Outreach consent withdrawn: what is still unpublished about the enrollment is withdrawn too. */
  readonly withdrawn: boolean;
  readonly outreachMessageId: (taskId: string) => string;
  readonly notifications: readonly OutboxNotification[];
}

/**
 * One transaction: the event (guarded, so a retry finds it), the enrollment's change (conditioned on the
 * event sequence it was planned from), the counters, an urgent task, the consent change's access-log entry,
 * the withdrawn notices and the new ones.
 */
export function enrollmentEventItems(write: EnrollmentEventRecord): TransactItems {
  const { enrollment, event, at, actor, urgentTask } = write;
  const enrollmentId = enrollment.enrollmentId;
  return [
    guardPut('enrollmentEvents', 'eventId', {
      ...event,
      writeId: write.writeId,
      enrollmentId,
      fingerprint: write.fingerprint,
      recordedAt: at.toISOString(),
      recordedBy: actor,
    }),
    { Update: write.update },
    // The cohort row's difference, and the urgent task in the outreach figures (one update per item).
    ...counterUpdates(write.counters),
    ...(urgentTask
      ? [
          {
            Put: {
              TableName: tableName('tasks'),
              Item: {
                taskId: urgentTask.taskId,
                kind: 'overdose-urgent',
                urgent: true,
                status: 'open',
                ...taskIndexKeys(urgentTask.taskId, 'open'),
                source: 'moud',
                enrollmentId,
                siteId: enrollment.siteId,
                contactId: enrollment.contactId,
                dueAt: at.toISOString(),
                createdAt: at.toISOString(),
                countedOn: urgentTask.countedOn,
                escalateAt: escalateAtOf(at),
              },
            },
          },
        ]
      : []),
    ...(event.type === 'consent'
      ? [
          // The access log (42 CFR Part 2 § 2.25): every consent change, who recorded it and when.
          {
            Put: auditPut(`enrollment:${enrollmentId}`, actor, 'consent-change', at, {
              occurredOn: event.occurredOn,
              outreach: String(event.consent?.outreach === true),
              part2: String(event.consent?.part2 === true),
            }),
          },
        ]
      : []),
    ...(write.withdrawn
      ? unpublishedNoticeDeletes([...(enrollment.openTasks ?? [])], write.outreachMessageId)
      : []),
    ...write.notifications.map(outboxPut),
  ];
}
