import * as z from 'zod/mini';
import { withMeta } from '../core/schemas.js';

/**
 * What each route answers on success, as zod schemas: the OpenAPI document's
 * response schemas (so a generated client has typed responses), and what the
 * integration tests check real answers against. Objects are loose: a new field
 * in an answer is an addition, not a break.
 */

const isoTime = withMeta(z.string(), { format: 'date-time' });
const day = withMeta(z.string(), { format: 'date' });
/**
 * A count: from 1 to 10 shown as "<11", and so is any count that could otherwise be worked out
 * from the others (complementary suppression), unless an admin asked for raw counts.
 */
const count = z.union([z.int(), z.literal('<11')]);
/** A figure computed from counts: "suppressed" when one of them is hidden; null when undefined (0 denominator). */
const rate = z.nullable(z.union([z.number(), z.literal('suppressed')]));
const measure = z.union([z.number(), z.literal('suppressed')]);

export const healthResponse = withMeta(
  z.looseObject({
    status: z.literal('ok'),
    now: isoTime,
    faultsInjected: z.optional(z.record(z.string(), z.int())),
  }),
  { id: 'Health' },
);

export const openApiResponse = withMeta(z.looseObject({ openapi: z.string() }), { id: 'OpenApiDocument' });

export const kioskRegisteredResponse = withMeta(
  z.looseObject({ kioskId: z.string(), secret: withMeta(z.string(), { description: 'Shown once' }) }),
  { id: 'KioskRegistered' },
);

export const secretRotatedResponse = withMeta(
  z.looseObject({
    kioskId: z.string(),
    secret: withMeta(z.string(), { description: 'Shown once' }),
    previousSecretValidUntil: withMeta(isoTime, {
      description: 'Backend time until which the secret in use before keeps working',
    }),
  }),
  { id: 'SecretRotated' },
);

const lotAnswer = withMeta(
  z.looseObject({
    lot: withMeta(z.nullable(z.string()), { description: 'null: stock that came without a lot' }),
    units: z.int(),
    expiresOn: z.nullable(day),
    labelVersion: z.nullable(z.string()),
    expired: z.boolean(),
    expiringSoon: withMeta(z.boolean(), { description: 'within the kiosk expiry alert window' }),
  }),
  { id: 'KioskLot' },
);

const skuAnswer = withMeta(
  z.looseObject({
    units: withMeta(z.int(), { description: 'every unit the kiosk holds, quarantined ones included' }),
    available: withMeta(z.int(), { description: 'units that may be given out (0 while quarantined)' }),
    quarantined: z.int(),
    lowStock: z.boolean(),
    lots: withMeta(z.array(lotAnswer), {
      description: 'in the order dispenses take them: first expiring first',
    }),
    quarantine: z.nullable(z.looseObject({ since: isoTime, temperatureC: z.number() })),
  }),
  { id: 'KioskSkuStock' },
);

const kioskStatus = z.enum(['offline', 'faulted', 'quarantined', 'low-stock', 'ok']);
const kioskCondition = z.enum([
  'offline',
  'faulted',
  'quarantined',
  'expired-stock',
  'low-stock',
  'expiring-stock',
]);

export const kioskAnswerSchema = withMeta(
  z.looseObject({
    kioskId: z.string(),
    siteId: z.string(),
    siteName: z.nullable(z.string()),
    status: withMeta(kioskStatus, {
      description:
        'the most pressing condition, derived on the server: offline > faulted > quarantined > low-stock > ok',
    }),
    conditions: withMeta(z.array(kioskCondition), {
      description: 'every condition that holds, most pressing first',
    }),
    lastSeenAt: withMeta(z.nullable(isoTime), { description: 'backend time the last new event arrived' }),
    offlineAfterMinutes: z.int(),
    offlineAt: withMeta(z.nullable(isoTime), {
      description: 'when it goes (went) offline if nothing more arrives',
    }),
    offlineSince: z.nullable(isoTime),
    lowStockThreshold: z.int(),
    expiryAlertDays: z.int(),
    stock: withMeta(z.record(z.string(), skuAnswer), { description: 'per SKU, and per lot within it' }),
    openFaults: z.array(
      z.looseObject({
        code: z.string(),
        firstOccurredAt: isoTime,
        lastOccurredAt: isoTime,
        count: z.int(),
      }),
    ),
    lastTemperatureC: z.nullable(z.number()),
    lastTemperatureAt: z.nullable(isoTime),
    registeredAt: z.nullable(isoTime),
    secretRotatedAt: z.nullable(isoTime),
    previousSecretValidUntil: z.nullable(isoTime),
  }),
  { id: 'Kiosk' },
);

export const kioskListResponse = withMeta(
  z.looseObject({
    asOf: withMeta(isoTime, { description: 'the backend time every status was derived at' }),
    kiosks: z.array(kioskAnswerSchema),
    next: z.optional(z.string()),
  }),
  { id: 'KioskList' },
);

export const kioskDetailResponse = withMeta(z.looseObject({ asOf: isoTime, ...kioskAnswerSchema.shape }), {
  id: 'KioskDetail',
});

export const lotResponse = withMeta(
  z.looseObject({
    asOf: isoTime,
    lot: z.string(),
    kiosks: z.array(
      z.looseObject({
        kioskId: z.string(),
        siteId: z.string(),
        sku: z.string(),
        restocked: z.int(),
        dispensed: withMeta(z.int(), { description: 'units of the lot given out at this kiosk' }),
        removed: withMeta(z.int(), { description: 'units swapped out of quarantine' }),
        held: z.int(),
        expiresOn: z.nullable(day),
        expired: z.boolean(),
        labelVersion: z.nullable(z.string()),
        lastRestockedAt: z.nullable(isoTime),
        expiryAlertSentAt: z.nullable(isoTime),
      }),
    ),
    totals: z.looseObject({
      kiosks: z.int(),
      holding: z.int(),
      restocked: z.int(),
      dispensed: z.int(),
      removed: z.int(),
      held: z.int(),
    }),
  }),
  { id: 'LotWhereabouts' },
);

export const eventRecordedResponse = withMeta(
  z.looseObject({ eventId: z.string(), status: z.enum(['recorded', 'duplicate']) }),
  { id: 'EventRecorded' },
);

export const useReportRecordedResponse = withMeta(
  z.looseObject({ reportId: z.string(), status: z.enum(['recorded', 'duplicate']) }),
  { id: 'UseReportRecorded' },
);

const taskFields = {
  taskId: z.string(),
  kind: z.string(),
  siteId: z.string(),
  dueAt: isoTime,
  status: z.enum(['open', 'completed']),
  enrollmentId: z.optional(z.string()),
  kioskId: z.optional(z.string()),
  doNotContact: withMeta(z.optional(z.boolean()), {
    description: 'True for a task of an enrollment without outreach consent now: no contact details',
  }),
  heldBy: withMeta(z.optional(z.string()), {
    description: 'Who holds the task (claimed it, or was handed it)',
  }),
  heldSince: z.optional(isoTime),
};

export const taskSummary = withMeta(z.looseObject(taskFields), { id: 'TaskSummary' });

export const taskListResponse = withMeta(
  z.looseObject({ tasks: z.array(taskSummary), next: z.optional(z.string()) }),
  { id: 'TaskList' },
);

export const siteListResponse = withMeta(
  z.looseObject({
    sites: z.array(
      z.looseObject({
        siteId: z.string(),
        firstSeen: z.looseObject({
          at: isoTime,
          in: z.enum(['kiosk', 'useReport', 'enrollment']),
          ref: z.string(),
          by: z.string(),
        }),
        lastSeenAt: isoTime,
        counts: z.looseObject({ kiosks: z.int(), useReports: z.int(), enrollments: z.int() }),
      }),
    ),
    next: z.optional(z.string()),
  }),
  { id: 'SiteList' },
);

export const taskDetailResponse = withMeta(
  z.looseObject({
    ...taskFields,
    consent: withMeta(z.optional(z.nullable(z.looseObject({ outreach: z.boolean(), part2: z.boolean() }))), {
      description: 'A task of an enrollment: the consent in force now (outreach; 42 CFR Part 2 sharing)',
    }),
    contact: withMeta(
      z.optional(z.nullable(z.looseObject({ phone: z.optional(z.string()), topic: z.optional(z.string()) }))),
      {
        description: 'Contact details; the read is recorded. Absent or null without consent or details.',
      },
    ),
  }),
  { id: 'TaskDetail' },
);

export const taskCompletedResponse = withMeta(
  z.looseObject({ ...taskFields, outcome: z.string(), completedAt: z.optional(isoTime) }),
  { id: 'TaskCompleted' },
);

export const taskHeldResponse = withMeta(z.looseObject(taskFields), {
  id: 'TaskHolder',
  description: 'The task as listed, with who holds it now (no heldBy: nobody)',
});

export const staffListResponse = withMeta(
  z.looseObject({
    staff: z.array(
      z.looseObject({
        username: withMeta(z.string(), {
          description: 'E-mail address in AWS; the npm run staff username embedded',
        }),
        groups: z.array(z.enum(['admin', 'outreach'])),
      }),
    ),
  }),
  { id: 'StaffList' },
);

export const callerResponse = withMeta(
  z.looseObject({ username: z.string(), groups: z.array(z.enum(['admin', 'outreach'])) }),
  { id: 'Caller' },
);

export const enrollmentRecordedResponse = withMeta(
  z.looseObject({
    enrollmentId: z.string(),
    followUps: z.array(z.looseObject({ kind: z.string(), dueAt: isoTime })),
  }),
  { id: 'EnrollmentRecorded' },
);

const consent = z.looseObject({ outreach: z.boolean(), part2: z.boolean() });

export const accessLogResponse = withMeta(
  z.looseObject({
    enrollmentId: z.string(),
    entries: z.array(
      z.looseObject({
        at: isoTime,
        by: withMeta(z.string(), { description: 'Who: the staff member' }),
        what: withMeta(z.enum(['consent-recorded', 'consent-change', 'read-contact']), {
          description: 'The consent given at enrollment, a consent event, or a read of the contact details',
        }),
        taskId: withMeta(z.optional(z.string()), {
          description: 'The task whose detail read showed the contact',
        }),
        occurredOn: withMeta(z.optional(day), { description: 'The day from which the consent is in force' }),
        consent: z.optional(consent),
      }),
    ),
  }),
  { id: 'AccessLog' },
);

const outreachSection = withMeta(
  z.looseObject({
    opened: z.looseObject({ total: count, byKind: z.record(z.string(), count) }),
    outcomes: z.looseObject({ reached: count, 'no-answer': count, declined: count, 're-engaged': count }),
    stillOpen: count,
    escalated: count,
    medianHoursToCompletion: rate,
  }),
  { id: 'OutreachFigures' },
);

const reportCommon = {
  from: day,
  to: day,
  siteId: z.optional(z.string()),
  asOf: withMeta(isoTime, { description: 'The backend time the report describes' }),
  countedThrough: withMeta(day, {
    description: 'The last day counted: to, or the day of asOf when to is later',
  }),
  outreach: outreachSection,
  generatedAt: z.optional(isoTime),
  itemsRead: z.optional(z.int()),
  smallCellsSuppressed: z.boolean(),
  definitionsVersion: z.string(),
  definitions: z.record(z.string(), z.unknown()),
};

export const naloxoneReportResponse = withMeta(
  z.looseObject({
    ...reportCommon,
    dispenseEvents: count,
    kitsDispensed: z.record(z.string(), count),
    contactRequests: count,
    useReports: count,
    survived: count,
    died: count,
    unknownOutcome: count,
    survivalRate: rate,
    reportRate: rate,
    emsCalled: count,
    emsNotCalled: count,
    emsUnanswered: count,
    dosesUsed: z.looseObject({ reports: count, doses: count, meanPerReport: rate }),
    survey: z.looseObject({
      surveys: count,
      firstTime: z.looseObject({ yes: count, no: count, unanswered: count }),
      forWhom: z.record(z.string(), count),
      zip3: withMeta(z.record(z.string(), count), {
        description: 'First three digits of the ZIP code; 000 for areas of 20,000 people or fewer',
      }),
    }),
    bySite: z.array(z.looseObject({ siteId: z.string() })),
    byDay: z.array(z.looseObject({ day })),
  }),
  { id: 'NaloxoneReport' },
);

const retention = z.looseObject({ retained: count, eligible: count, rate });
const overdoseRate = z.looseObject({
  overdoses: count,
  personMonths: measure,
  per1000MemberMonths: rate,
});

export const moudReportResponse = withMeta(
  z.looseObject({
    ...reportCommon,
    enrollments: count,
    activeAtTo: count,
    disenrollments: count,
    deaths: count,
    retention: z.looseObject({ '30': retention, '90': retention, '180': retention }),
    overdoseRate: z.looseObject({ before: overdoseRate, after: overdoseRate, reduction: rate }),
    bySite: z.array(z.looseObject({ siteId: z.string() })),
  }),
  { id: 'MoudReport' },
);

/** Success answers per route: status, then the JSON schema (or CSV as well, for reports). */
export const successResponses: Record<
  string,
  { status: number; description: string; schema: z.ZodMiniType; csv?: boolean }[]
> = {
  'GET /health': [{ status: 200, description: 'Ready', schema: healthResponse }],
  'GET /openapi.json': [{ status: 200, description: 'This document', schema: openApiResponse }],
  'POST /v1/kiosks': [
    {
      status: 201,
      description: 'Registered; the secret is shown this once',
      schema: kioskRegisteredResponse,
    },
  ],
  'GET /v1/kiosks': [
    { status: 200, description: 'A page of kiosks, each with its derived status', schema: kioskListResponse },
  ],
  'GET /v1/kiosks/{kioskId}': [
    { status: 200, description: 'The kiosk, with its derived status', schema: kioskDetailResponse },
  ],
  'POST /v1/kiosks/{kioskId}/secret': [
    {
      status: 200,
      description: 'A new secret, shown this once; the previous one works until previousSecretValidUntil',
      schema: secretRotatedResponse,
    },
  ],
  'GET /v1/lots/{lot}': [
    {
      status: 200,
      description: 'Every kiosk restocked with the lot: units held and given out',
      schema: lotResponse,
    },
  ],
  'POST /v1/kiosk/events': [
    { status: 201, description: 'Recorded for the first time', schema: eventRecordedResponse },
    { status: 200, description: 'The same event again: nothing changed', schema: eventRecordedResponse },
  ],
  'POST /v1/naloxone/use-reports': [
    { status: 201, description: 'Recorded for the first time', schema: useReportRecordedResponse },
    { status: 200, description: 'The same report again: nothing changed', schema: useReportRecordedResponse },
  ],
  'GET /v1/outreach/tasks': [
    { status: 200, description: 'Tasks, without contact details', schema: taskListResponse },
  ],
  'GET /v1/sites': [
    {
      status: 200,
      description: 'Every site id in use: where it was first seen, its counts',
      schema: siteListResponse,
    },
  ],
  'GET /v1/outreach/tasks/{taskId}': [
    { status: 200, description: 'The task with the contact details it needs', schema: taskDetailResponse },
  ],
  'POST /v1/outreach/tasks/{taskId}/complete': [
    {
      status: 200,
      description: 'Completed (or already completed with this outcome)',
      schema: taskCompletedResponse,
    },
  ],
  'POST /v1/outreach/tasks/{taskId}/claim': [
    { status: 200, description: 'Claimed by the caller (or already theirs)', schema: taskHeldResponse },
  ],
  'POST /v1/outreach/tasks/{taskId}/handover': [
    { status: 200, description: 'Held by the colleague now (or already)', schema: taskHeldResponse },
  ],
  'POST /v1/outreach/tasks/{taskId}/release': [
    { status: 200, description: 'Held by nobody now (or already)', schema: taskHeldResponse },
  ],
  'GET /v1/staff': [{ status: 200, description: 'The named staff, by group', schema: staffListResponse }],
  'GET /v1/me': [{ status: 200, description: 'The caller', schema: callerResponse }],
  'GET /v1/reports/naloxone': [
    {
      status: 200,
      description: 'The report (JSON, or CSV on request)',
      schema: naloxoneReportResponse,
      csv: true,
    },
  ],
  'GET /v1/reports/moud': [
    {
      status: 200,
      description: 'The report (JSON, or CSV on request)',
      schema: moudReportResponse,
      csv: true,
    },
  ],
  'POST /v1/moud/enrollments': [
    { status: 201, description: 'Enrolled; follow-up started', schema: enrollmentRecordedResponse },
    { status: 200, description: 'The same enrollment again', schema: enrollmentRecordedResponse },
  ],
  'POST /v1/moud/enrollments/{enrollmentId}/events': [
    { status: 201, description: 'Recorded for the first time', schema: eventRecordedResponse },
    { status: 200, description: 'The same event again: nothing changed', schema: eventRecordedResponse },
  ],
  'GET /v1/moud/enrollments/{enrollmentId}/access-log': [
    {
      status: 200,
      description:
        'Every consent given or changed and every read of the contact details, oldest first (entries of one instant in no particular order)',
      schema: accessLogResponse,
    },
  ],
};
