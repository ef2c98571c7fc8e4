import * as z from 'zod/mini';
import { canonicalUuid } from './canonical.js';
import type { Issue } from './errors.js';
import { knownLabelVersions } from './fleet/storage-catalogue.js';

/**
 * A copy of `schema` carrying `meta` (an OpenAPI component id, a description), as classic zod's `.meta()`
 * makes one: the copy inherits the original's metadata and the original keeps its own, so a schema
 * reused elsewhere is described only where this copy is used.
 */
export function withMeta<T extends z.ZodMiniType>(schema: T, meta: z.core.GlobalMeta): T {
  const copy = schema.clone();
  z.globalRegistry.add(copy, meta);
  return copy;
}

/**
 * `build`, run on the first call and remembered. Every validator here is built on first use, none at
 * a cold start: zod's constructors cost 50–100 µs each while the code is cold, 2–4 ms for a route's
 * schemas. A container builds only those of the routes it serves; the first request that validates
 * with one pays for it (a kiosk event's: about 4 ms). Each is declared with a `@__PURE__` annotation,
 * so that esbuild drops those a function never uses (it cannot prove zod's calls free of side effects).
 */
export function once<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => {
    built ??= { value: build() };
    return built.value;
  };
}

/** The program catalogue (contract: Kiosk events). */
export const SKUS = [
  'naloxone-nasal-4mg',
  'naloxone-nasal-8mg',
  'naloxone-im-0.4mg',
  'fentanyl-test-strips',
  'xylazine-test-strips',
  'wound-care-kit',
] as const;
export type Sku = (typeof SKUS)[number];

const sku = /* @__PURE__ */ once(() => z.enum(SKUS));
/** UUIDs are case-insensitive: they key things in one spelling, lower case. */
const guid = /* @__PURE__ */ once(() =>
  z.pipe(
    z.guid({ error: 'must be a UUID' }),
    z.transform((id: string) => id.toLowerCase()),
  ),
);

/** A string DynamoDB stores as sent: well-formed Unicode (no lone surrogate half). */
export const isWellFormed = (value: string): boolean => !/\p{Cs}/u.test(value);
/** Text a person or a program chose, stored as is: `max` characters, well-formed. */
export const text = (min: number, max: number) =>
  z
    .string()
    .check(z.minLength(min), z.maxLength(max), z.refine(isWellFormed, 'must be well-formed Unicode text'));

/** DynamoDB's sort-key limit (partition keys allow 2,048): an id within it fits any key it becomes part of. */
export const MAX_KEY_BYTES = 1024;
/**
 * An id taken from a path and looked up as a key: any id that fits a DynamoDB key is looked up (an
 * unknown one is a 404); one that cannot be a key at all is invalid.
 */
export const keyId = /* @__PURE__ */ once(() =>
  z.string().check(
    z.minLength(1),
    z.refine(isWellFormed, 'must be well-formed Unicode text'),
    z.refine(
      (id) => Buffer.byteLength(id, 'utf8') <= MAX_KEY_BYTES,
      `must be at most ${MAX_KEY_BYTES} bytes`,
    ),
  ),
);

/** Path parameters that name a kiosk or an enrollment: any id that fits a key is looked up (`keyId`). */
export const kioskIdParams = /* @__PURE__ */ once(() => z.strictObject({ kioskId: keyId() }));
export const enrollmentIdParams = /* @__PURE__ */ once(() => z.strictObject({ enrollmentId: keyId() }));
/** A task's id, looked up like the others; a UUID in whatever case it was sent, by its lowercase form. */
export const taskIdParams = /* @__PURE__ */ once(() =>
  z.strictObject({ taskId: z.pipe(keyId(), z.transform(canonicalUuid)) }),
);

/** DynamoDB stores 0 and magnitudes from 1e-130 to below 1e126; it refuses others (underflow, overflow). */
export function isStorableNumber(value: number): boolean {
  const magnitude = Math.abs(value);
  return Number.isFinite(value) && (magnitude === 0 || (magnitude >= 1e-130 && magnitude < 1e126));
}
export const storableNumber = () =>
  z.number().check(z.refine(isStorableNumber, 'must be 0 or between 1e-130 and 1e126 in magnitude'));
const isoDate = /* @__PURE__ */ once(() => z.iso.date({ error: 'must be a date YYYY-MM-DD' }));
export const isoDateTimeWithZone = /* @__PURE__ */ once(() =>
  z.iso.datetime({ offset: true, error: 'must be an ISO 8601 time with a zone' }),
);

export const kioskRegistrationSchema = /* @__PURE__ */ once(() =>
  withMeta(
    z.strictObject({
      kioskId: z.string().check(z.regex(/^[A-Za-z0-9-]{3,64}$/, 'must match ^[A-Za-z0-9-]{3,64}$')),
      siteId: text(1, 100),
      siteName: z.optional(text(1, 200)),
      lowStockThreshold: z.int().check(z.gte(0), z.lte(100_000)),
      inventory: z.optional(z.partialRecord(sku(), z.int().check(z.gte(0), z.lte(100_000)))),
      /** Silence longer than this (backend minutes) makes the kiosk offline: one kiosk-ops message, one when heard again. */
      offlineAfterMinutes: z.optional(z.int().check(z.gte(1), z.lte(525_600))),
      /** Days before a lot expires at this kiosk when one restock alert goes out. */
      expiryAlertDays: z.optional(z.int().check(z.gte(0), z.lte(365))),
    }),
    { id: 'KioskRegistration' },
  ),
);
export const DEFAULT_OFFLINE_AFTER_MINUTES = 1440;
export const DEFAULT_EXPIRY_ALERT_DAYS = 30;
export type KioskRegistration = z.infer<ReturnType<typeof kioskRegistrationSchema>>;

const dispenseItem = /* @__PURE__ */ once(() =>
  z.strictObject({ sku: sku(), quantity: z.int().check(z.gte(1), z.lte(10)) }),
);
/** A lot as printed on the box: any text a kiosk sends, kept as sent. */
const lot = /* @__PURE__ */ once(() => text(1, 64));
const restockItem = /* @__PURE__ */ once(() =>
  z
    .strictObject({
      sku: sku(),
      quantity: z.int().check(z.gte(1), z.lte(500)),
      lot: z.optional(lot()),
      expiresOn: z.optional(isoDate()),
      /** The label version printed on this stock (functions/core/fleet/storage-catalogue.ts); default the current one. */
      labelVersion: z.optional(text(1, 64)),
    })
    .check(
      z.superRefine((item, ctx) => {
        if (item.labelVersion === undefined) return;
        const known = knownLabelVersions(item.sku);
        if (!known.includes(item.labelVersion))
          ctx.addIssue({
            code: 'custom',
            path: ['labelVersion'],
            message: known.length
              ? `must be one of ${known.join(', ')} for ${item.sku}`
              : `${item.sku} has no label versions`,
          });
      }),
    ),
);

const eventBase = () => ({
  eventId: guid(),
  occurredAt: isoDateTimeWithZone(),
});

export const dispenseEventSchema = /* @__PURE__ */ once(() =>
  z.strictObject({
    ...eventBase(),
    type: z.literal('dispense'),
    items: z.array(dispenseItem()).check(z.minLength(1), z.maxLength(10)),
    survey: z.optional(
      z.strictObject({
        zip: z.optional(z.string().check(z.regex(/^\d{5}$/, 'must be 5 digits'))),
        firstTime: z.optional(z.boolean()),
        forWhom: z.optional(z.enum(['self', 'other', 'both', 'unspecified'])),
      }),
    ),
    contactRequest: z.optional(
      z.strictObject({
        phone: z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 phone number')),
        topic: z.enum(['treatment', 'naloxone-training', 'other']),
      }),
    ),
  }),
);

export const restockEventSchema = /* @__PURE__ */ once(() =>
  z.strictObject({
    ...eventBase(),
    type: z.literal('restock'),
    items: z.array(restockItem()).check(z.minLength(1), z.maxLength(10)),
    lot: z.optional(lot()),
    expiresOn: z.optional(isoDate()),
  }),
);

export const FAULT_CODES = ['vend_failure', 'door_open', 'temperature', 'offline', 'other'] as const;

export const faultEventSchema = /* @__PURE__ */ once(() =>
  z.strictObject({
    ...eventBase(),
    type: z.literal('fault'),
    code: z.enum(FAULT_CODES),
    detail: z.optional(text(0, 500)),
    temperatureC: z.optional(storableNumber().check(z.gte(-100), z.lte(150))),
  }),
);

/** Contract (Kiosk fleet): a kiosk says it is alive, with its cabinet temperature if it has a sensor. */
export const heartbeatEventSchema = /* @__PURE__ */ once(() =>
  z.strictObject({
    ...eventBase(),
    type: z.literal('heartbeat'),
    temperatureC: z.optional(storableNumber().check(z.gte(-100), z.lte(150))),
  }),
);

export const kioskEventSchema = /* @__PURE__ */ once(() =>
  withMeta(
    z.discriminatedUnion(
      'type',
      [dispenseEventSchema(), restockEventSchema(), faultEventSchema(), heartbeatEventSchema()],
      { error: 'must be one of dispense, restock, fault, heartbeat' },
    ),
    { id: 'KioskEvent' },
  ),
);
export type KioskEvent = z.infer<ReturnType<typeof kioskEventSchema>>;
export type DispenseEvent = z.infer<ReturnType<typeof dispenseEventSchema>>;
export type RestockEvent = z.infer<ReturnType<typeof restockEventSchema>>;
export type FaultEvent = z.infer<ReturnType<typeof faultEventSchema>>;
export type HeartbeatEvent = z.infer<ReturnType<typeof heartbeatEventSchema>>;
export type FaultCode = (typeof FAULT_CODES)[number];

export const useReportSchema = /* @__PURE__ */ once(() =>
  withMeta(
    z.strictObject({
      reportId: guid(),
      usedOn: isoDate(),
      siteId: z.optional(text(1, 100)),
      outcome: z.enum(['survived', 'died', 'unknown']),
      emsCalled: z.optional(z.boolean()),
      dosesUsed: z.optional(z.int().check(z.gte(1), z.lte(20))),
    }),
    { id: 'NaloxoneUseReport' },
  ),
);
export type UseReport = z.infer<ReturnType<typeof useReportSchema>>;

export const TASK_OUTCOMES = ['reached', 'no-answer', 'declined', 're-engaged'] as const;
export const taskCompletionSchema = /* @__PURE__ */ once(() =>
  withMeta(z.strictObject({ outcome: z.enum(TASK_OUTCOMES) }), { id: 'TaskCompletion' }),
);
export type TaskOutcome = (typeof TASK_OUTCOMES)[number];

/** A page of a listing: `limit` items at most (default 100), from where `next` (a cursor it handed out) says. */
const pageQueryFields = {
  limit: /* @__PURE__ */ once(() =>
    z.optional(
      z
        .pipe(
          z.string().check(z.regex(/^\d{1,3}$/, 'must be an integer from 1 to 500')),
          z.transform<string, number>(Number),
        )
        .check(z.refine((n) => n >= 1 && n <= 500, 'must be an integer from 1 to 500')),
    ),
  ),
  next: /* @__PURE__ */ once(() => z.optional(z.string().check(z.minLength(1), z.maxLength(8192)))),
};
const pageQuery = () => ({ limit: pageQueryFields.limit(), next: pageQueryFields.next() });
export const DEFAULT_PAGE_LIMIT = 100;

export const siteListQuerySchema = /* @__PURE__ */ once(() =>
  withMeta(z.object(pageQuery()), { id: 'SiteListQuery' }),
);

export const kioskListQuerySchema = /* @__PURE__ */ once(() =>
  withMeta(z.object(pageQuery()), { id: 'KioskListQuery' }),
);

export const taskListQuerySchema = /* @__PURE__ */ once(() =>
  withMeta(
    z.object({
      status: z.optional(z.enum(['open', 'completed'])),
      siteId: withMeta(z.optional(text(1, 100)), { description: 'Only tasks of this site' }),
      kind: withMeta(z.optional(text(1, 64)), {
        description: 'Only tasks of this kind (kiosk-contact, a checkpoint, overdose-urgent, …)',
      }),
      overdue: withMeta(
        z.optional(z.literal('true', { error: 'must be true (leave it out for every task)' })),
        { description: 'Only tasks due before the backend clock’s now' },
      ),
      mine: withMeta(z.optional(z.enum(['true', 'false'])), {
        description: 'true: only tasks the caller holds (claimed, or handed to them)',
      }),
      ...pageQuery(),
    }),
    { id: 'TaskListQuery' },
  ),
);
export type TaskListQuery = z.infer<ReturnType<typeof taskListQuerySchema>>;

/** Whom an open task goes to: a colleague's username (`GET /v1/staff`), e-mail address in AWS. */
export const taskHandoverSchema = /* @__PURE__ */ once(() =>
  withMeta(
    z.strictObject({
      to: z.pipe(
        text(1, 128),
        z.transform((name: string) => name.toLowerCase()),
      ),
    }),
    { id: 'TaskHandover' },
  ),
);

/** Claim and release take no body; an empty object is accepted too. */
export const emptyBodySchema = /* @__PURE__ */ once(() => withMeta(z.strictObject({}), { id: 'Empty' }));

export const reportQuerySchema = /* @__PURE__ */ once(() =>
  z
    .object({
      from: isoDate(),
      to: isoDate(),
      siteId: z.optional(text(1, 100)),
      format: z.optional(z.enum(['json', 'csv'])),
      raw: z.optional(z.enum(['true', 'false'])),
    })
    .check(
      z.refine((q) => q.from <= q.to, { path: ['from'], message: 'must not be after to' }),
      // A report reads one partition per month: ten years is plenty and keeps one request bounded.
      z.refine((q) => Date.parse(q.to) - Date.parse(q.from) <= 3660 * 86_400_000, {
        path: ['to'],
        message: 'the range may span at most 3,660 days',
      }),
    ),
);
export type ReportQuery = z.infer<ReturnType<typeof reportQuerySchema>>;

/** zod's issues in the contract's shape: one per broken field, `path` dotted. */
export function toIssues(error: z.core.$ZodError): Issue[] {
  return error.issues.flatMap((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: [...base, key].join('.'), message: 'is not allowed' }));
    }
    return [{ path: base.join('.'), message: issue.message }];
  });
}

export const MEDICATIONS = [
  'buprenorphine-sublingual',
  'buprenorphine-er-weekly',
  'buprenorphine-er-monthly',
  'methadone',
  'naltrexone-er',
] as const;
export type Medication = (typeof MEDICATIONS)[number];

export const enrollmentSchema = /* @__PURE__ */ once(() =>
  withMeta(
    z.strictObject({
      participantRef: text(1, 64),
      siteId: text(1, 100),
      enrolledOn: isoDate(),
      medication: z.enum(MEDICATIONS),
      overdosesPrior12m: z.int().check(z.gte(0), z.lte(50)),
      consent: z.strictObject({ outreach: z.boolean(), part2: z.boolean() }),
      contact: z.optional(
        z.strictObject({
          phone: z.string().check(z.regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 phone number')),
        }),
      ),
    }),
    { id: 'MoudEnrollment' },
  ),
);
export type Enrollment = z.infer<ReturnType<typeof enrollmentSchema>>;

export const ENROLLMENT_EVENT_TYPES = [
  'dose',
  'injection',
  'visit',
  'missed-visit',
  'overdose',
  'disenrolled',
  'consent',
] as const;
export type EnrollmentEventType = (typeof ENROLLMENT_EVENT_TYPES)[number];

/** Contract: a dose may carry `daysSupply`, an integer 1-90 (default 1). */
export const MAX_DAYS_SUPPLY = 90;

export const enrollmentEventSchema = /* @__PURE__ */ once(() =>
  withMeta(
    z
      .strictObject({
        eventId: guid(),
        type: z.enum(ENROLLMENT_EVENT_TYPES),
        occurredOn: isoDate(),
        fatal: z.optional(z.boolean()),
        daysSupply: withMeta(z.optional(z.int().check(z.gte(1), z.lte(MAX_DAYS_SUPPLY))), {
          description: 'dose only: days of medication the person holds from occurredOn (default 1)',
        }),
        consent: withMeta(z.optional(z.strictObject({ outreach: z.boolean(), part2: z.boolean() })), {
          description: 'consent event only: the consent in force from occurredOn on',
        }),
      })
      .check(
        z.superRefine((event, ctx) => {
          if (event.type === 'overdose' && event.fatal === undefined) {
            ctx.addIssue({ code: 'custom', path: ['fatal'], message: 'is required for an overdose' });
          }
          if (event.type !== 'overdose' && event.fatal !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['fatal'], message: 'is only allowed for an overdose' });
          }
          if (event.type !== 'dose' && event.daysSupply !== undefined) {
            ctx.addIssue({ code: 'custom', path: ['daysSupply'], message: 'is only allowed for a dose' });
          }
          if (event.type === 'consent' && event.consent === undefined) {
            ctx.addIssue({ code: 'custom', path: ['consent'], message: 'is required for a consent event' });
          }
          if (event.type !== 'consent' && event.consent !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['consent'],
              message: 'is only allowed for a consent event',
            });
          }
        }),
      ),
    { id: 'MoudEnrollmentEvent' },
  ),
);
export type EnrollmentEvent = z.infer<ReturnType<typeof enrollmentEventSchema>>;
