/**
 * The one declaration of what Bridgeway is made of: tables, topics, functions
 * (one per route group), the routes they serve and who may call them.
 *
 * Plain data, no behaviour. `lib/stack.ts` turns it into AWS resources and
 * `lib/embedded/` plays it on one machine, so the two cannot drift apart.
 */

export type Role = 'admin' | 'outreach';
export type KeyType = 'S' | 'N';

export interface KeyAttribute {
  readonly name: string;
  readonly type: KeyType;
}

export interface TableDeclaration {
  /** Environment variable through which handlers learn the physical table name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  readonly indexes?: readonly {
    readonly indexName: string;
    readonly partitionKey: KeyAttribute;
    readonly sortKey?: KeyAttribute;
    /**
     * Attributes copied into the index besides the keys (INCLUDE projection; none: KEYS_ONLY); all of them
     * when left out.
     * An index whose key moves with every write (a heartbeat's silence deadline) copies only what its
     * reader needs, so each write to it stays small.
     */
    readonly include?: readonly string[];
  }[];
  /** Attribute holding an expiry epoch (seconds), when items are kept for a limited time. */
  readonly timeToLiveAttribute?: string;
  /**
   * A change stream (DynamoDB Streams; embedded, the store writes one in the same batch as each commit),
   * with the item as it is after the change: what a function's `stream` trigger reads.
   */
  readonly stream?: 'NEW_IMAGE';
}

export const tables = {
  /**
   * Kiosk registration, sealed HMAC secrets (current and previous), stock per SKU and per lot, low-stock
   * flags, quarantines, open faults and liveness (functions/core/fleet/fleet.ts).
   */
  kiosks: {
    envVar: 'TABLE_KIOSKS',
    partitionKey: { name: 'kioskId', type: 'S' },
    indexes: [
      {
        // Sparse: kiosks the silence sweep watches (`watch` = online), by when each goes silent. The sweep
        // reads the ones past their deadline and one more (the next deadline), never the whole fleet.
        indexName: 'bySilence',
        partitionKey: { name: 'watch', type: 'S' },
        sortKey: { name: 'silentAt', type: 'S' },
        include: ['siteId', 'lastSeenAt', 'offlineAfterMinutes'],
      },
      {
        // Sparse: outages whose offline time is still to be counted into the report (`outage` = accrue), by
        // when the next part is due: the next UTC midnight while the kiosk is offline, at once when it is back.
        indexName: 'byOutage',
        partitionKey: { name: 'outage', type: 'S' },
        sortKey: { name: 'outageDueAt', type: 'S' },
        include: ['siteId', 'offlineSince', 'accruedTo', 'outageEndedAt'],
      },
    ],
  },
  /**
   * One row per lot, kiosk and SKU: units restocked, dispensed and removed (quarantine swaps), expiry.
   * Answers recalls (GET /v1/lots/{lot}: one query) and lists lots whose expiry alert is due.
   */
  kioskLots: {
    envVar: 'TABLE_KIOSK_LOTS',
    partitionKey: { name: 'lot', type: 'S' },
    sortKey: { name: 'kioskSku', type: 'S' },
    indexes: [
      {
        // Sparse: lots whose one expiry alert has not gone out yet, by when it is due.
        indexName: 'byExpiryAlert',
        partitionKey: { name: 'alertWatch', type: 'S' },
        sortKey: { name: 'alertAt', type: 'S' },
      },
    ],
  },
  /** Every recorded kiosk event; the key is the idempotency guard. */
  kioskEvents: {
    envVar: 'TABLE_KIOSK_EVENTS',
    partitionKey: { name: 'kioskId', type: 'S' },
    sortKey: { name: 'eventId', type: 'S' },
  },
  /** Naloxone use reports; the key is the idempotency guard. */
  useReports: { envVar: 'TABLE_USE_REPORTS', partitionKey: { name: 'reportId', type: 'S' } },
  /** Counters maintained at write time, read by reports (pk = metric#month, sk = day#site). */
  aggregates: {
    envVar: 'TABLE_AGGREGATES',
    partitionKey: { name: 'pk', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
  },
  /**
   * Outreach tasks; no contact details. Listed through `byStatusShard`: partition `<status>#<shard>`
   * (TASK_SHARDS shards per status, by a hash of the task id, so neither status is a hot partition),
   * sorted by `dueAt`; a page merges the shards in due order (functions/core/paging.ts).
   */
  tasks: {
    envVar: 'TABLE_TASKS',
    partitionKey: { name: 'taskId', type: 'S' },
    indexes: [
      {
        indexName: 'byStatusShard',
        partitionKey: { name: 'statusShard', type: 'S' },
        sortKey: { name: 'dueAt', type: 'S' },
      },
    ],
  },
  /** Contact details, sealed with the sealing key, kept apart from everything else. */
  contacts: { envVar: 'TABLE_CONTACTS', partitionKey: { name: 'contactId', type: 'S' } },
  /** Who read which contact details, when; consent changes; raw report requests. Subject `enrollment:<id>` is an enrollment's access log. */
  audit: {
    envVar: 'TABLE_AUDIT',
    partitionKey: { name: 'subject', type: 'S' },
    sortKey: { name: 'entryId', type: 'S' },
  },
  /** MOUD enrollments: consent, schedule inputs, recorded activity days, follow-up state. */
  enrollments: {
    envVar: 'TABLE_ENROLLMENTS',
    partitionKey: { name: 'enrollmentId', type: 'S' },
    indexes: [
      {
        // Sparse: only follow-ups still running, by when their workflow next wakes by itself.
        // The follow-up sweep reads the overdue ones only (a few items), never every enrollment.
        indexName: 'byFollowUpDue',
        partitionKey: { name: 'followUpActive', type: 'S' },
        sortKey: { name: 'parkedUntil', type: 'S' },
      },
      {
        // Sparse: running follow-ups with a supply check ahead, by when it falls due (written with the
        // event that moves it, and by the workflow's plan). The follow-up sweep wakes the ones due, so
        // no workflow wakes to re-check supply. Keys only: the sweep needs nothing else.
        indexName: 'bySupplyDue',
        partitionKey: { name: 'followUpActive', type: 'S' },
        sortKey: { name: 'supplyDueAt', type: 'S' },
        include: [],
      },
    ],
  },
  /** Every recorded enrollment event; the key is the idempotency guard. */
  enrollmentEvents: {
    envVar: 'TABLE_ENROLLMENT_EVENTS',
    partitionKey: { name: 'enrollmentId', type: 'S' },
    sortKey: { name: 'eventId', type: 'S' },
  },
  /**
   * Every site id in use (kiosks, use reports, enrollments): where it was first seen and how often it
   * is used, kept in the same transaction as the fact, so that an administrator can spot a typo.
   */
  sites: { envVar: 'TABLE_SITES', partitionKey: { name: 'siteId', type: 'S' } },
  /**
   * Notifications, each written in the same transaction as the fact it announces. The table's stream
   * publishes them (the `outboxRelay` trigger), so no request waits for SNS or deletes a row; a row is
   * marked published and kept until `expiresAt` (TTL), long enough for a redelivered stream record to
   * find its mark. Sparse `byUnpublished`: the rows no publish has confirmed yet, oldest first — what
   * the relay's schedule republishes and what the age alarm measures.
   */
  outbox: {
    envVar: 'TABLE_OUTBOX',
    partitionKey: { name: 'messageId', type: 'S' },
    indexes: [
      {
        indexName: 'byUnpublished',
        partitionKey: { name: 'unpublished', type: 'S' },
        sortKey: { name: 'createdAt', type: 'S' },
      },
    ],
    timeToLiveAttribute: 'expiresAt',
    stream: 'NEW_IMAGE',
  },
} as const satisfies Record<string, TableDeclaration>;

export type TableName = keyof typeof tables;

export const topics = {
  restock: { envVar: 'TOPIC_RESTOCK_ARN', displayName: 'Bridgeway restock alerts' },
  'kiosk-ops': { envVar: 'TOPIC_KIOSK_OPS_ARN', displayName: 'Bridgeway kiosk operations' },
  outreach: { envVar: 'TOPIC_OUTREACH_ARN', displayName: 'Bridgeway outreach tasks' },
  'outreach-escalation': {
    envVar: 'TOPIC_OUTREACH_ESCALATION_ARN',
    displayName: 'Bridgeway outreach escalations',
  },
} as const;

export type TopicName = keyof typeof topics;

/**
 * Step Functions state machines. `definition` names the builder in lib/workflows that
 * both the CDK stack and the embedded runtime use; `stepFunction` is the Lambda
 * that runs its Task states.
 */
export const workflows = {
  followUp: {
    envVar: 'FOLLOW_UP_STATE_MACHINE_ARN',
    stepFunction: 'followUpSteps',
    topics: ['outreach', 'outreach-escalation'],
  },
} as const;

export type WorkflowName = keyof typeof workflows;

/** Application-level encryption key for kiosk secrets and contact details. */
export const sealingKey = { envVar: 'SEALING_KEY_ID' } as const;

/**
 * HMAC key for ids derived from what identifies a person (an enrollment from its participant and
 * day): keyed, so an id cannot be turned back into them by trying candidates. In AWS a KMS HMAC key
 * (`kms:GenerateMac` only; the key never leaves KMS); embedded, derived from the local sealing key.
 */
export const idKey = { envVar: 'ID_KEY_ID' } as const;

/**
 * Who the staff are, by group: in AWS the Cognito user pool (`cognito-idp:ListUsersInGroup` on it,
 * nothing else), embedded the role tokens' users and DATA_DIR/staff.json (npm run staff).
 */
export const staffDirectory = { envVar: 'STAFF_USER_POOL_ID' } as const;

/**
 * The staff web app (web/; lib/web.ts in AWS): the one browser origin the API allows in CORS, told to
 * the functions that serve staff routes. Embedded, the page is served by the gateway itself: same origin.
 */
export const webApp = { originEnvVar: 'WEB_ORIGIN' } as const;

export type TableAccess = 'read' | 'write' | 'readWrite';

export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/**
 * A function run by a table's stream (AWS: an event source mapping; embedded: lib/embedded/dynamo/streams.ts),
 * with the same batch semantics in both: records in order, a batch retried from its first failed
 * record (partial batch responses), split in two when the function fails as a whole, and after
 * `retryAttempts` retries set aside (AWS: its description to an SQS dead-letter queue) and passed.
 */
export interface StreamTrigger {
  readonly table: TableName;
  /** Only these changes reach the function (an event filter: the others are never delivered). */
  readonly events: readonly StreamEventName[];
  readonly batchSize: number;
  readonly retryAttempts: number;
  /** Records older than this are set aside rather than delivered (AWS: MaximumRecordAgeInSeconds). */
  readonly maxRecordAgeSeconds: number;
}
export type WorkflowUse = 'start' | 'wake' | 'describe';

export interface FunctionDeclaration {
  /** Handler module, relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  readonly tables: Partial<Record<TableName, TableAccess>>;
  readonly topics: readonly TopicName[];
  /** `seal` encrypts, `open` decrypts with the sealing key. */
  readonly sealing: readonly ('seal' | 'open')[];
  /** Derives ids with the id key (`kms:GenerateMac`). */
  readonly idMac?: boolean;
  /** Reads who the staff are (manifest `staffDirectory`): colleagues to hand a task to. */
  readonly staffDirectory?: boolean;
  readonly timeoutSeconds?: number;
  readonly memoryMb?: number;
  /** Run on a schedule, in minutes, besides (or instead of) serving routes. */
  readonly scheduleMinutes?: number;
  /** `start` starts executions, `wake` sends task success to a parked one, `describe` reads an execution's status. */
  readonly workflows?: Partial<Record<WorkflowName, readonly WorkflowUse[]>>;
  /** Run by a table's stream (only this function may read that stream). */
  readonly stream?: StreamTrigger;
}

export const functions = {
  meta: {
    entry: 'functions/meta/handler.ts',
    description: 'Health check and the OpenAPI document',
    tables: {},
    topics: [],
    sealing: [],
  },
  kiosks: {
    entry: 'functions/kiosks/handler.ts',
    description: 'Registers kiosks and rotates their secrets',
    // Rotation reads the kiosk first (an unknown one costs no write); it never opens a secret.
    tables: { kiosks: 'readWrite', sites: 'write' },
    topics: [],
    sealing: ['seal'],
  },
  kioskEvents: {
    entry: 'functions/kiosk-events/handler.ts',
    description:
      'Records signed kiosk events: stock, lots, quarantine, liveness, aggregates, alerts, contacts',
    tables: {
      kiosks: 'readWrite',
      kioskEvents: 'readWrite',
      kioskLots: 'write',
      aggregates: 'write',
      tasks: 'write',
      contacts: 'write',
      // Outbox rows only: the table's stream publishes them (outboxRelay).
      outbox: 'write',
    },
    topics: [],
    sealing: ['seal', 'open'],
  },
  useReports: {
    entry: 'functions/use-reports/handler.ts',
    description: 'Records naloxone use reports',
    tables: { useReports: 'readWrite', aggregates: 'write', sites: 'write' },
    topics: [],
    sealing: [],
  },
  tasks: {
    entry: 'functions/tasks/handler.ts',
    description: 'Lists, shows, claims, releases and completes outreach tasks',
    tables: {
      tasks: 'readWrite',
      contacts: 'read',
      audit: 'write',
      enrollments: 'readWrite',
      aggregates: 'write',
    },
    topics: [],
    sealing: ['open'],
    workflows: { followUp: ['wake'] },
  },
  /**
   * Apart from `tasks`, which opens contact details: this one reads who the staff are (Cognito, 5 ms
   * of init and 34 KB the task list does not need) and neither function can do both.
   */
  staff: {
    entry: 'functions/staff/handler.ts',
    description: 'Lists the named staff and hands outreach tasks to them',
    // A hand-over reads the task, changes its holder and appends the audit entry in one transaction.
    tables: { tasks: 'readWrite', audit: 'write' },
    topics: [],
    sealing: [],
    staffDirectory: true,
  },
  enrollments: {
    entry: 'functions/enrollments/handler.ts',
    description: 'Records MOUD enrollments and their events; starts and wakes the follow-up workflow',
    tables: {
      enrollments: 'readWrite',
      enrollmentEvents: 'readWrite',
      tasks: 'write',
      contacts: 'readWrite',
      aggregates: 'write',
      sites: 'write',
      // Writes notices, and deletes a withdrawn enrollment's unpublished ones; the stream publishes.
      outbox: 'write',
      audit: 'write',
    },
    topics: [],
    sealing: ['seal', 'open'],
    idMac: true,
    workflows: { followUp: ['start', 'wake'] },
  },
  followUpSteps: {
    entry: 'functions/follow-up/handler.ts',
    description: 'Task states of the MOUD follow-up workflow: plan, mark notified, park',
    tables: { enrollments: 'readWrite', tasks: 'readWrite', aggregates: 'write' },
    topics: [],
    sealing: [],
    workflows: { followUp: ['wake'] },
    timeoutSeconds: 30,
  },
  followUpSweep: {
    entry: 'functions/follow-up-sweep/handler.ts',
    description:
      'Restarts MOUD follow-ups whose workflow execution died (failed, timed out, never started) and says so; wakes those whose supply check fell due',
    tables: { enrollments: 'readWrite' },
    topics: [],
    sealing: [],
    workflows: { followUp: ['start', 'describe', 'wake'] },
    scheduleMinutes: 60,
  },
  accessLog: {
    entry: 'functions/access-log/handler.ts',
    description:
      "Answers an enrollment's access log: consent recorded and changed, every read of its contact details",
    tables: { audit: 'read', enrollments: 'read' },
    topics: [],
    sealing: [],
  },
  fleet: {
    entry: 'functions/fleet/handler.ts',
    description: 'Lists kiosks with their status, stock per lot and faults; answers where a lot went',
    tables: { kiosks: 'read', kioskLots: 'read' },
    topics: [],
    sealing: [],
  },
  fleetSweep: {
    entry: 'functions/fleet-sweep/handler.ts',
    description:
      'Marks silent kiosks offline (one kiosk-ops message), counts offline time, sends lot expiry alerts',
    tables: { kiosks: 'readWrite', kioskLots: 'readWrite', aggregates: 'write', outbox: 'write' },
    topics: [],
    sealing: [],
    scheduleMinutes: 15,
  },
  sites: {
    entry: 'functions/sites/handler.ts',
    description: 'Lists every site id in use, where it was first seen and how often it is used',
    tables: { sites: 'read' },
    topics: [],
    sealing: [],
  },
  reports: {
    entry: 'functions/reports/handler.ts',
    description: 'Answers the administrator reports from pre-aggregated counters',
    tables: { aggregates: 'read', audit: 'write' },
    topics: [],
    sealing: [],
  },
  outboxRelay: {
    entry: 'functions/outbox-relay/handler.ts',
    description:
      'Publishes outbox rows from the table stream; republishes rows the stream left unconfirmed; escalates kiosk contact tasks open for 24 hours',
    tables: { outbox: 'readWrite', tasks: 'readWrite', aggregates: 'write' },
    topics: ['restock', 'kiosk-ops', 'outreach', 'outreach-escalation'],
    sealing: [],
    scheduleMinutes: 5,
    // New rows only: its own publish marks (MODIFY) and TTL expiry (REMOVE) never come back to it.
    stream: {
      table: 'outbox',
      events: ['INSERT'],
      batchSize: 25,
      retryAttempts: 8,
      maxRecordAgeSeconds: 6 * 3600,
    },
  },
} as const satisfies Record<string, FunctionDeclaration>;

export type FunctionName = keyof typeof functions;

/** What a function gets in AWS unless it says otherwise (`memoryMb`). */
export const DEFAULT_MEMORY_MB = 256;

/**
 * The memory and timeout a function gets: its own, else 256 MB and 10 s (60 s on a schedule). The
 * stack deploys them; the embedded runtime's Lambda context reports the memory; the cost model bills it.
 */
export function lambdaSizing(declaration: FunctionDeclaration): { memoryMb: number; timeoutSeconds: number } {
  const scheduled = declaration.scheduleMinutes !== undefined;
  return {
    memoryMb: declaration.memoryMb ?? DEFAULT_MEMORY_MB,
    timeoutSeconds: declaration.timeoutSeconds ?? (scheduled ? 60 : 10),
  };
}

/** Who may call a route: a signed kiosk, staff in one of the roles, or anyone. */
export type RouteAuth =
  | { readonly kind: 'kiosk' }
  | { readonly kind: 'staff'; readonly roles: readonly Role[] }
  | { readonly kind: 'public' };

/**
 * The largest request body each kind of caller may send, in bytes. The embedded gateway refuses a
 * larger one while it streams in (413, before anything else is read), the WAF web ACL refuses it in
 * AWS (where API Gateway itself accepts 10 MB), and the handlers check again.
 */
export const bodyLimitBytes = {
  /** Contract: a kiosk body over 16 KiB is answered 413 before any other check. */
  kiosk: 16_384,
  staff: 64 * 1024,
  /** Public routes are reads: they take no body worth the name. */
  public: 16_384,
} as const satisfies Record<RouteAuth['kind'], number>;

export interface RouteDeclaration {
  readonly method: 'GET' | 'POST';
  /** API Gateway style path, parameters in braces. */
  readonly path: string;
  readonly function: FunctionName;
  readonly auth: RouteAuth;
  readonly summary: string;
  /**
   * The share of this route's requests X-Ray records (an X-Ray sampling rule on the API stage, no
   * reservoir). Absent: X-Ray's default rule (the first request each second, then 5 %), which at a
   * program's traffic, well under a request a second, records nearly every request.
   */
  readonly traceSampledShare?: number;
}

const admin = { kind: 'staff', roles: ['admin'] } as const;
const staff = { kind: 'staff', roles: ['admin', 'outreach'] } as const;

export const routes = [
  {
    method: 'GET',
    path: '/health',
    function: 'meta',
    auth: { kind: 'public' },
    summary: 'Readiness and the backend clock',
  },
  {
    method: 'GET',
    path: '/openapi.json',
    function: 'meta',
    auth: { kind: 'public' },
    summary: 'This API as OpenAPI 3.1',
  },
  { method: 'POST', path: '/v1/kiosks', function: 'kiosks', auth: admin, summary: 'Register a kiosk' },
  {
    method: 'GET',
    path: '/v1/kiosks',
    function: 'fleet',
    auth: admin,
    summary: 'A page of kiosks: status, stock per SKU and lot, last heard, open faults',
  },
  {
    method: 'GET',
    path: '/v1/kiosks/{kioskId}',
    function: 'fleet',
    auth: admin,
    summary: 'One kiosk: status, stock per SKU and lot, last heard, open faults',
  },
  {
    method: 'POST',
    path: '/v1/kiosks/{kioskId}/secret',
    function: 'kiosks',
    auth: admin,
    summary: 'Rotate a kiosk secret: the new one is shown once, the old one works 24 more hours',
  },
  {
    method: 'GET',
    path: '/v1/lots/{lot}',
    function: 'fleet',
    auth: admin,
    summary: 'Where a lot went: the kiosks that hold it, and the units given out from each (recalls)',
  },
  {
    method: 'POST',
    path: '/v1/kiosk/events',
    function: 'kioskEvents',
    auth: { kind: 'kiosk' },
    summary: 'Record a signed kiosk event',
    // The program's volume (dispenses and 96 heartbeats a kiosk a day): tracing each would cost more
    // than the API front (docs/benchmarks.md); 1 % still traces thousands a month.
    traceSampledShare: 0.01,
  },
  {
    method: 'POST',
    path: '/v1/naloxone/use-reports',
    function: 'useReports',
    auth: staff,
    summary: 'Record a naloxone use report',
  },
  {
    method: 'GET',
    path: '/v1/outreach/tasks',
    function: 'tasks',
    auth: staff,
    summary: 'List outreach tasks',
  },
  {
    method: 'GET',
    path: '/v1/outreach/tasks/{taskId}',
    function: 'tasks',
    auth: staff,
    summary: 'Show one outreach task with its contact details',
  },
  {
    method: 'POST',
    path: '/v1/outreach/tasks/{taskId}/complete',
    function: 'tasks',
    auth: staff,
    summary: 'Complete an outreach task',
  },
  {
    method: 'POST',
    path: '/v1/outreach/tasks/{taskId}/claim',
    function: 'tasks',
    auth: staff,
    summary: 'Claim an open outreach task: it is yours to work',
  },
  {
    method: 'POST',
    path: '/v1/outreach/tasks/{taskId}/handover',
    function: 'staff',
    auth: staff,
    summary: 'Hand an open outreach task to a colleague',
  },
  {
    method: 'POST',
    path: '/v1/outreach/tasks/{taskId}/release',
    function: 'tasks',
    auth: staff,
    summary: 'Release a claimed outreach task: nobody holds it',
  },
  {
    method: 'GET',
    path: '/v1/staff',
    function: 'staff',
    auth: staff,
    summary: 'The named staff, by group: colleagues to hand a task to',
  },
  {
    method: 'GET',
    path: '/v1/me',
    function: 'meta',
    auth: staff,
    summary: 'Who the caller is: username and groups',
  },
  {
    method: 'GET',
    path: '/v1/reports/naloxone',
    function: 'reports',
    auth: admin,
    summary: 'Naloxone program report',
  },
  {
    method: 'GET',
    path: '/v1/reports/moud',
    function: 'reports',
    auth: admin,
    summary: 'MOUD program report: enrollments, retention, overdose rates',
  },
  {
    method: 'GET',
    path: '/v1/sites',
    function: 'sites',
    auth: admin,
    summary: 'Every site id in use: where it was first seen and how often it is used',
  },
  {
    method: 'POST',
    path: '/v1/moud/enrollments',
    function: 'enrollments',
    auth: staff,
    summary: 'Enroll a person in MOUD follow-up',
  },
  {
    method: 'POST',
    path: '/v1/moud/enrollments/{enrollmentId}/events',
    function: 'enrollments',
    auth: staff,
    summary: 'Record a MOUD enrollment event',
  },
  {
    method: 'GET',
    path: '/v1/moud/enrollments/{enrollmentId}/access-log',
    function: 'accessLog',
    auth: admin,
    summary: "An enrollment's access log: consent given and changed, every read of its contact details",
  },
] as const satisfies readonly RouteDeclaration[];

export type Route = (typeof routes)[number];

/**
 * Metrics the functions emit (Powertools Metrics, CloudWatch embedded metric format) in this
 * namespace, with the function's service name (the stack name) as their one dimension. The
 * operations alarms and dashboard (lib/ops.ts) read the same names. Counts only: no metric
 * carries a phone number, a name or anything a person typed.
 */
export const metrics = {
  namespace: 'Bridgeway',
  names: {
    kioskEventsRecorded: 'KioskEventsRecorded',
    kioskEventDuplicates: 'KioskEventDuplicates',
    moudEventsRecorded: 'MoudEventsRecorded',
    moudEventDuplicates: 'MoudEventDuplicates',
    notificationsPublished: 'NotificationsPublished',
    tasksOpened: 'TasksOpened',
    tasksEscalated: 'TasksEscalated',
    /** Follow-ups whose execution had died, restarted by the follow-up sweep. */
    followUpsRestarted: 'FollowUpsRestarted',
    /** Age of the oldest notification no publish has confirmed yet, after a relay run (0 when there is none). */
    outboxOldestAgeSeconds: 'OutboxOldestAgeSeconds',
    outboxPending: 'OutboxPending',
    /** Kiosks the fleet sweep marked offline (one kiosk-ops message each). */
    kiosksSilent: 'KiosksSilent',
    /** Lot expiry alerts the fleet sweep sent to restock. */
    lotExpiryAlerts: 'LotExpiryAlerts',
    /** SKUs put in quarantine at a kiosk by a temperature reading outside their label range. */
    stockQuarantined: 'StockQuarantined',
  },
} as const;

export type MetricName = keyof typeof metrics.names;
