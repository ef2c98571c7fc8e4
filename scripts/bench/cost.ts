/**
 * What Bridgeway costs in AWS, computed from what the bench measured (capacity units, round trips,
 * notices, transitions) and the dated list prices of prices.ts. Pure functions: the tests check
 * them against hand-computed figures, and changing a price recomputes every table.
 *
 * What is assumed rather than measured is named in ASSUMPTIONS and printed with the tables.
 */
import {
  functions,
  lambdaSizing,
  metrics,
  type RouteDeclaration,
  routes,
  workflows,
} from '../../lib/manifest.js';
import { PRICES } from './prices.js';

export type Prices = typeof PRICES;

/** Per request of one type, as measured (requests.ts). */
export interface RequestCost {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly roundTrips: number;
  readonly notices: number;
  /** The handler's median time on the embedded backend, ms. */
  readonly medianMs: number;
  /** Log lines the functions wrote for it (application and EMF metric lines), and their bytes. */
  readonly logLines: number;
  readonly logBytes: number;
  /** Of those lines, the ones carrying the Lambda context, longer in AWS (`awsContextBytesPerLine`). */
  readonly logContextLines: number;
}

export const ASSUMPTIONS = {
  /** Lambda memory of the kiosk function, as deployed (lib/manifest.ts `lambdaSizing`; every function's today). */
  lambdaMemoryMb: lambdaSizing(functions.kioskEvents).memoryMb,
  /** In-region DynamoDB latency per round trip, added to the embedded time for Lambda's billed duration. */
  dynamoRoundTripMs: 10,
  /**
   * What a measured log line that carries the Lambda context lacks here: CloudFormation names a function
   * `<stack>-<logical id>-<suffix>`, about 55 characters against 11 embedded, in its name and its ARN,
   * and Powertools adds the X-Ray trace id to every line (54 bytes).
   */
  awsContextBytesPerLine: 146,
  /** Lambda's START, END and REPORT lines of an invocation (text format; REPORT with its X-Ray ids). */
  lambdaPlatformLogBytes: 358,
  lambdaPlatformLogEvents: 3,
  /** API Gateway's access log line in the stack's format (lib/stack.ts `accessLogFormat`), a kiosk route. */
  accessLogBytes: 242,
  /** Each log event counted 26 bytes more, as PutLogEvents counts a batch: an upper bound of what is billed. */
  logEventOverheadBytes: 26,
  /** Logs are kept a year (lib/stack.ts logRetention); storage billed on the ingested size (an upper bound). */
  logMonthsKept: 12,
  /** Share of staff requests X-Ray records: below one request a second, the default rule records every one. */
  xraySampledShare: 1,
  /** A kiosk sends a heartbeat every 15 minutes (the fleet sweep's unit). */
  heartbeatsPerKioskDay: 96,
  /** Over 180 days an engaged enrollment records doses every 14 days and 6 monthly injections. */
  moudEventsPerEnrollment: 19,
  /** Follow-up tasks per enrollment (72 h, 7, 30, 90, 180 days), each listed, completed and published once. */
  tasksPerEnrollment: 5,
  /** Task list pages a member of staff loads per task worked. */
  taskListPagesPerTask: 2,
  /** E-mail subscribers per outreach notice. */
  emailsPerNotice: 1,
  /** A county program's data (events, enrollments, counters, audit), for storage, PITR and backups. */
  countyDataGb: 0.5,
  /** Recovery points kept: 35 daily + 12 monthly (lib/stack.ts backup plan, prod), each a full copy. */
  backupCopies: 47,
  /** KMS requests a month the services make with the customer keys (DynamoDB, SNS, Logs cache data keys ~5 min). */
  kmsServiceRequestsMonth: 150_000,
  /** Counters folded from the stream: events per batch the stream consumer applies at once. */
  streamBatch: 100,
  /** Staff requests a month per member of staff (task lists, details, completions, reports). */
  staffRequestsPerStaffMonth: 1000,
} as const;

const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

export interface CostLine {
  readonly item: string;
  readonly usd: number;
}

export interface Breakdown {
  readonly lines: CostLine[];
  readonly total: number;
}

const breakdown = (lines: CostLine[]): Breakdown => ({
  lines: lines.map((line) => ({ ...line, usd: round(line.usd, 4) })),
  total: round(
    lines.reduce((sum, line) => sum + line.usd, 0),
    4,
  ),
});

export type ApiFront = 'rest-waf' | 'http-api' | 'function-url-cloudfront-waf';

export interface FrontFigures {
  readonly front: ApiFront;
  readonly label: string;
  /** Per 1M requests: the front itself and the WAF in front of it. */
  readonly perMillion: number;
  readonly fixedMonthly: number;
  readonly refuses413BeforeLambda: boolean;
  readonly note: string;
}

/** The three ways to put the kiosk route on the internet, per 1M requests. */
export function apiFronts(prices: Prices = PRICES): FrontFigures[] {
  const waf = prices.waf.perMillionRequests;
  const wafFixed = prices.waf.perAclMonth + 2 * prices.waf.perRuleMonth;
  return [
    {
      front: 'rest-waf',
      label: 'REST API + WAF (today)',
      perMillion: prices.apiGateway.restPerMillion + waf,
      fixedMonthly: wafFixed,
      refuses413BeforeLambda: true,
      note: 'WAF on the stage answers 413 before any function runs (lib/waf.ts)',
    },
    {
      front: 'http-api',
      label: 'HTTP API',
      perMillion: prices.apiGateway.httpPerMillion,
      fixedMonthly: 0,
      refuses413BeforeLambda: false,
      note: 'HTTP APIs cannot have a WAF web ACL: a 10 MB body reaches Lambda, which must read it to refuse it',
    },
    {
      front: 'function-url-cloudfront-waf',
      label: 'Lambda function URL behind CloudFront + WAF',
      perMillion: prices.cloudfront.perMillionHttpsRequests + waf,
      fixedMonthly: wafFixed,
      refuses413BeforeLambda: true,
      note: 'WAF on the distribution (16 KB inspected by default = the kiosk limit); OAC needs x-amz-content-sha256 on POST',
    },
  ];
}

/** The share of kiosk requests X-Ray records: the kiosk route's sampling rule, declared in the manifest. */
export const KIOSK_TRACED_SHARE =
  (routes as readonly RouteDeclaration[]).find(
    (route) => route.method === 'POST' && route.path === '/v1/kiosk/events',
  )?.traceSampledShare ?? ASSUMPTIONS.xraySampledShare;

/** Lambda: one invocation and its billed duration (measured embedded time + a DynamoDB latency per round trip). */
export function lambdaUsd(request: RequestCost, prices: Prices = PRICES): number {
  const ms = Math.ceil(request.medianMs + request.roundTrips * ASSUMPTIONS.dynamoRoundTripMs);
  const gbSeconds = (ASSUMPTIONS.lambdaMemoryMb / 1024) * (ms / 1000);
  return prices.lambda.perMillionRequests / 1e6 + gbSeconds * prices.lambda.perGbSecondArm;
}

export const dynamoUsd = (writeUnits: number, readUnits: number, prices: Prices = PRICES) =>
  (writeUnits * prices.dynamodb.perMillionWriteUnits + readUnits * prices.dynamodb.perMillionReadUnits) / 1e6;

/**
 * CloudWatch Logs bytes of one API request: the lines its functions wrote (measured, with what AWS adds
 * to those carrying the Lambda context), Lambda's own three, and the access log line.
 */
export function logBytesPerRequest(request: RequestCost): number {
  const events = request.logLines + ASSUMPTIONS.lambdaPlatformLogEvents + 1;
  return (
    request.logBytes +
    request.logContextLines * ASSUMPTIONS.awsContextBytesPerLine +
    ASSUMPTIONS.lambdaPlatformLogBytes +
    ASSUMPTIONS.accessLogBytes +
    events * ASSUMPTIONS.logEventOverheadBytes
  );
}

/** Logs ingested and kept, X-Ray: what every API request costs besides its front, function and table. */
function observabilityLines(
  requests: number,
  request: RequestCost,
  prices: Prices,
  tracedShare: number,
): CostLine[] {
  const gb = (requests * logBytesPerRequest(request)) / 1e9;
  return [
    { item: 'CloudWatch Logs ingest', usd: gb * prices.cloudwatch.logsIngestPerGb },
    {
      item: `CloudWatch Logs kept ${ASSUMPTIONS.logMonthsKept} months`,
      usd: gb * prices.cloudwatch.logsStoragePerGbMonth * ASSUMPTIONS.logMonthsKept,
    },
    {
      item: `X-Ray traces (${tracedShare * 100} % recorded)`,
      usd: (requests * tracedShare * prices.xray.perMillionTracesRecorded) / 1e6,
    },
  ];
}

/** Cost of `requests` API requests of one measured type through `front`. */
export function requestsCost(
  requests: number,
  request: RequestCost,
  front: FrontFigures,
  prices: Prices = PRICES,
  /** The share X-Ray records: the route's sampling rule (lib/manifest.ts), else the default rule's. */
  tracedShare: number = ASSUMPTIONS.xraySampledShare,
): Breakdown {
  return breakdown([
    { item: front.label, usd: (requests * front.perMillion) / 1e6 },
    { item: 'Lambda requests and duration', usd: requests * lambdaUsd(request, prices) },
    { item: 'DynamoDB writes', usd: dynamoUsd(requests * request.writeUnits, 0, prices) },
    { item: 'DynamoDB reads', usd: dynamoUsd(0, requests * request.readUnits, prices) },
    { item: 'SNS publishes', usd: (requests * request.notices * prices.sns.perMillionPublishes) / 1e6 },
    ...observabilityLines(requests, request, prices, tracedShare),
  ]);
}

export interface DispenseOption {
  readonly option: string;
  readonly writeUnits: number;
  /** Lambda invocations per event besides the request's own (stream consumers). */
  readonly extraInvocations: number;
}

/**
 * The write paths a dispense could take, in write units per event: as measured; the stock guard
 * and event kept transactional with counters folded from the table's stream in batches; and one
 * conditional put with stock and counters both folded from the stream. Stream reads by Lambda are
 * free; each batch costs a Lambda invocation and one standard write per folded item.
 */
export function dispenseOptions(measuredWriteUnits: number, itemsInTransaction = 3): DispenseOption[] {
  const perItem = measuredWriteUnits / itemsInTransaction; // 2 WRU a small item, transactional
  const batch = ASSUMPTIONS.streamBatch;
  return [
    {
      option: `as measured (${itemsInTransaction} items, transactional)`,
      writeUnits: measuredWriteUnits,
      extraInvocations: 0,
    },
    {
      option: `event + stock transactional, counters folded from the stream (batches of ${batch})`,
      writeUnits: round(measuredWriteUnits - perItem + 1 / batch, 4),
      extraInvocations: 1 / batch,
    },
    {
      option: `one conditional put, stock and counters folded from the stream (batches of ${batch})`,
      writeUnits: round(1 + 2 / batch, 4),
      extraInvocations: 1 / batch,
    },
  ];
}

/** Cost per 1M dispenses for each write path and each front. */
export function perMillionDispenses(
  dispense: RequestCost,
  prices: Prices = PRICES,
): { option: string; front: string; total: number; withoutXray: number }[] {
  const rows: { option: string; front: string; total: number; withoutXray: number }[] = [];
  for (const option of dispenseOptions(dispense.writeUnits)) {
    for (const front of apiFronts(prices)) {
      const cost = requestsCost(
        1e6,
        { ...dispense, writeUnits: option.writeUnits },
        front,
        prices,
        KIOSK_TRACED_SHARE,
      );
      const extra = option.extraInvocations * 1e6 * lambdaUsd({ ...dispense, roundTrips: 1 }, prices);
      const xray = cost.lines.find((line) => line.item.startsWith('X-Ray'))?.usd ?? 0;
      rows.push({
        option: option.option,
        front: front.label,
        total: round(cost.total + extra),
        withoutXray: round(cost.total + extra - xray),
      });
    }
  }
  return rows;
}

export interface EnrollmentInputs {
  readonly enrollment: RequestCost;
  readonly moudEvent: RequestCost;
  readonly taskListPage: RequestCost;
  readonly taskCompletion: RequestCost;
  /** Step Functions state transitions over the 180 days (measured, or the stated fallback). */
  readonly transitions: number;
}

/** 1,000 enrollments followed for 180 days, staff requests through REST + WAF (they stay there). */
export function perThousandEnrollments(inputs: EnrollmentInputs, prices: Prices = PRICES): Breakdown {
  const n = 1000;
  const front = apiFronts(prices)[0] as FrontFigures;
  const parts: [number, RequestCost][] = [
    [n, inputs.enrollment],
    [n * ASSUMPTIONS.moudEventsPerEnrollment, inputs.moudEvent],
    [n * ASSUMPTIONS.tasksPerEnrollment * ASSUMPTIONS.taskListPagesPerTask, inputs.taskListPage],
    [n * ASSUMPTIONS.tasksPerEnrollment, inputs.taskCompletion],
  ];
  const lines = new Map<string, number>();
  for (const [count, request] of parts) {
    for (const line of requestsCost(count, request, front, prices).lines) {
      lines.set(line.item, (lines.get(line.item) ?? 0) + line.usd);
    }
  }
  const notices = n * ASSUMPTIONS.tasksPerEnrollment;
  // Every Lambda Task state is an invocation; about half the transitions are Task states.
  const stepInvocations = (n * inputs.transitions) / 2;
  return breakdown([
    ...[...lines].map(([item, usd]) => ({ item, usd })),
    {
      item: 'Step Functions transitions',
      usd: ((n * inputs.transitions) / 1000) * prices.stepFunctions.perThousandTransitions,
    },
    { item: 'Lambda (workflow steps)', usd: stepInvocations * lambdaUsd(inputs.taskCompletion, prices) },
    {
      item: 'SNS outreach notices and e-mails',
      usd:
        (notices * prices.sns.perMillionPublishes) / 1e6 +
        (notices * ASSUMPTIONS.emailsPerNotice * prices.sns.perMillionEmailDeliveries) / 1e6,
    },
  ]);
}

/** Resources billed by the month whatever the traffic, counted from the manifest. */
export function fixedMonthly(staff: number, prices: Prices = PRICES): Breakdown {
  const functionCount = Object.keys(functions).length;
  const workflowCount = Object.keys(workflows).length;
  // lib/ops.ts: API 5xx rate (a metric-math alarm over 2 metrics), errors and throttles per function,
  // the DLQ, failed and timed-out executions per workflow, outbox age, follow-ups restarted, no kiosk events.
  const alarmMetrics = 2 + 2 * functionCount + 1 + 2 * workflowCount + 3;
  const scheduledRuns = Object.values(functions).reduce(
    (sum, fn) =>
      sum + ('scheduleMinutes' in fn && fn.scheduleMinutes ? (30 * 24 * 60) / fn.scheduleMinutes : 0),
    0,
  );
  const gb = ASSUMPTIONS.countyDataGb;
  return breakdown([
    { item: 'KMS: 4 customer keys (data, sealing, id HMAC, ops topic)', usd: 4 * prices.kms.perKeyMonth },
    {
      item: 'KMS requests by the services',
      usd: (ASSUMPTIONS.kmsServiceRequestsMonth / 10_000) * prices.kms.perTenThousandRequests,
    },
    { item: 'WAF web ACL and its 2 rules', usd: prices.waf.perAclMonth + 2 * prices.waf.perRuleMonth },
    { item: `Cognito Plus, ${staff} staff`, usd: staff * prices.cognito.plusPerMau },
    {
      item: `CloudWatch alarms (${alarmMetrics} alarm metrics)`,
      usd: alarmMetrics * prices.cloudwatch.perStandardAlarmMonth,
    },
    { item: 'CloudWatch dashboard', usd: prices.cloudwatch.perDashboardMonth },
    {
      item: `CloudWatch custom metrics (${Object.keys(metrics.names).length})`,
      usd: Object.keys(metrics.names).length * prices.cloudwatch.perCustomMetricMonth,
    },
    {
      item: `Scheduled runs (${Math.round(scheduledRuns).toLocaleString('en-US')} a month)`,
      usd: scheduledRuns * (prices.lambda.perMillionRequests / 1e6),
    },
    { item: `DynamoDB storage (${gb} GB)`, usd: gb * prices.dynamodb.storagePerGbMonth },
    { item: `Point-in-time recovery (${gb} GB)`, usd: gb * prices.dynamodb.pitrPerGbMonth },
    {
      item: `AWS Backup (${ASSUMPTIONS.backupCopies} recovery points)`,
      usd: gb * ASSUMPTIONS.backupCopies * prices.backup.warmStoragePerGbMonth,
    },
  ]);
}

export interface CountyProgram {
  readonly kiosks: number;
  readonly dispensesPerYear: number;
  readonly enrollmentsPerYear: number;
  readonly staff: number;
}

export const TYPICAL_COUNTY: CountyProgram = {
  kiosks: 50,
  dispensesPerYear: 20_000,
  enrollmentsPerYear: 500,
  staff: 20,
};

/** A county program's monthly bill, today's front, fixed costs included. */
export function countyMonthly(
  program: CountyProgram,
  measured: { dispense: RequestCost; heartbeat: RequestCost; staffRequest: RequestCost } & EnrollmentInputs,
  prices: Prices = PRICES,
): Breakdown {
  const front = apiFronts(prices)[0] as FrontFigures;
  const dispenses = requestsCost(
    program.dispensesPerYear / 12,
    measured.dispense,
    front,
    prices,
    KIOSK_TRACED_SHARE,
  );
  const heartbeats = requestsCost(
    program.kiosks * ASSUMPTIONS.heartbeatsPerKioskDay * 30,
    measured.heartbeat,
    front,
    prices,
    KIOSK_TRACED_SHARE,
  );
  const staffRequests = requestsCost(
    program.staff * ASSUMPTIONS.staffRequestsPerStaffMonth,
    measured.staffRequest,
    front,
    prices,
  );
  const enrollments = perThousandEnrollments(measured, prices);
  const fixed = fixedMonthly(program.staff, prices);
  return breakdown([
    {
      item: `${Math.round(program.dispensesPerYear / 12).toLocaleString('en-US')} dispenses`,
      usd: dispenses.total,
    },
    {
      item: `${(program.kiosks * ASSUMPTIONS.heartbeatsPerKioskDay * 30).toLocaleString('en-US')} heartbeats`,
      usd: heartbeats.total,
    },
    {
      item: `${Math.round(program.enrollmentsPerYear / 12)} new enrollments (their 180 days)`,
      usd: (enrollments.total * program.enrollmentsPerYear) / 12 / 1000,
    },
    {
      item: `${(program.staff * ASSUMPTIONS.staffRequestsPerStaffMonth).toLocaleString('en-US')} other staff requests`,
      usd: staffRequests.total,
    },
    ...fixed.lines,
  ]);
}
