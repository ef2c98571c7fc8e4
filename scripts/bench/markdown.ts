/**
 * docs/benchmarks.md from one run's results: pure (no clock, no machine), so a test renders a given
 * result set and the orchestrator (scripts/bench.ts) only measures.
 */
import {
  ASSUMPTIONS,
  apiFronts,
  countyMonthly,
  dispenseOptions,
  KIOSK_TRACED_SHARE,
  logBytesPerRequest,
  perMillionDispenses,
  perThousandEnrollments,
  type RequestCost,
  TYPICAL_COUNTY,
} from './cost.js';
import { PRICES } from './prices.js';

export interface BenchResults {
  readonly date: string;
  readonly commit: string;
  readonly mode: string;
  readonly seconds: number;
  readonly machine: {
    cpu: string;
    cores: number;
    node: string;
    loadAverage: readonly number[];
    platform: string;
    /** scripts/bench.ts referenceWorkCpuMs at the start and the end of the run. */
    referenceCpuMs: { start: number; end: number };
  };
  readonly requests?: readonly {
    request: string;
    samples: number;
    roundTrips: number;
    byOperation: Record<string, number>;
    writeUnits: number;
    readUnits: number;
    notices: number;
    relayRoundTripsPerNotice?: number;
    medianMs: number;
    logLines: number;
    logBytes: number;
    logContextLines: number;
    note?: string;
  }[];
  readonly bundles?: readonly {
    name: string;
    bytes: number;
    gzipBytes: number;
    initCpuMs: number;
    /** Absent in results of runs before it was measured. */
    initCpuMsMiddleHalf?: readonly [number, number];
  }[];
  readonly bundleRuns?: number;
  readonly ingest?: readonly {
    via: string;
    inFlight: number;
    events: number;
    perSecond: number;
    p50Ms: number;
    conflictsPerEvent?: number;
  }[];
  readonly store?: readonly { operation: string; inFlight: number; perSecond: number; cpuMicros: number }[];
  readonly reports?: {
    readonly checkpoints: readonly {
      events: number;
      itemsRead: number;
      recordedInReport: number;
      reportRequests: { requests: number };
      reportLatencyMs: { median: number };
      populationSeconds: number;
      populationEventsPerSecond: number;
    }[];
    readonly config: Record<string, unknown>;
    readonly retriedAfter503?: number;
    readonly refused?: number;
    readonly refusals?: readonly string[];
  };
  readonly transitions?: { rows: { profile: string; transitions: number; endedOnDay: number | null }[] };
  /** Sections that failed or were skipped, and why. */
  readonly notes: Record<string, string>;
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const dec = (n: number, digits = 2) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const usd = (n: number) => `$${dec(n, n !== 0 && Math.abs(n) < 0.1 ? 4 : 2)}`;
const kb = (bytes: number) => `${dec(bytes / 1024, 0)} KB`;

function tableOf(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The measured request a cost needs, by the start of its name; undefined when it was not measured. */
function measured(results: BenchResults, prefix: string): RequestCost | undefined {
  return results.requests?.find((row) => row.request.startsWith(prefix));
}

/** Transitions per enrollment the cost uses: the engaged profile measured, else issue 12's figure on main. */
export function transitionsForCost(results: BenchResults): { transitions: number; source: string } {
  const engaged = results.transitions?.rows.find(
    (row) => /engaged/i.test(row.profile) && !/dis/i.test(row.profile),
  );
  return engaged
    ? { transitions: engaged.transitions, source: `measured (${engaged.profile})` }
    : {
        transitions: 96,
        source: 'issue 12’s count on main for an engaged enrollment (not measured in this run)',
      };
}

export function renderMarkdown(results: BenchResults): string {
  const out: string[] = [];
  const m = results.machine;
  out.push('# Benchmarks and cost', '');
  out.push(
    `Written by \`npm run bench${results.mode === 'default' ? '' : ` -- --${results.mode}`}\` (scripts/bench.ts) on ${results.date}, ` +
      `commit \`${results.commit}\`, in ${int(results.seconds)} s. Every figure below comes from this one run, on the ` +
      'embedded stack (dynalite, the same handlers, the same state machine); nothing is copied from an earlier run.',
    '',
  );
  out.push(
    tableOf(
      ['machine', ''],
      [
        ['CPU', m.cpu],
        ['cores', String(m.cores)],
        ['Node.js', m.node],
        ['platform', m.platform],
        ['load average at the start (1, 5, 15 min)', m.loadAverage.map((n) => dec(n)).join(', ')],
        [
          'a fixed piece of work, CPU ms at the start / the end (the CPU’s own speed in this run, not the whole machine’s)',
          `${dec(m.referenceCpuMs.start, 1)} / ${dec(m.referenceCpuMs.end, 1)}`,
        ],
      ],
    ),
    '',
  );
  for (const [section, note] of Object.entries(results.notes)) out.push(`- **${section}**: ${note}`);
  if (Object.keys(results.notes).length) out.push('');

  out.push('## DynamoDB round trips and capacity units per request', '');
  if (results.requests) {
    out.push(
      'Counted at the SDK: a middleware on the handlers’ DynamoDB client (the document client shares its stack) ' +
        'counts every call, and prices it from the sizes of the items it touched, read before and after through a client ' +
        'it does not count (scripts/bench/capacity.ts). The embedded engine reports no ConsumedCapacity for ' +
        'transactions or index writes, so the units are **computed the way DynamoDB bills them**: 1 WRU per KB written ' +
        '(2 in a transaction), plus each index entry written; 1 RRU per 4 KB read strongly consistent, 0.5 eventually, ' +
        'a Query by the size of what it evaluated. A transaction cancelled by its guard (a duplicate) is counted as if ' +
        'written: an upper bound. Each request is sent alone over HTTP and what it starts (a workflow until parked) ' +
        'is let finish, except the outbox stream: its relay publishes the notices after the answers, off the request ' +
        'path, and its DynamoDB calls per notice are the last column; the time is the embedded median, not AWS latency.',
      '',
    );
    out.push(
      tableOf(
        [
          'request',
          'round trips',
          'operations',
          'WRU',
          'RRU',
          'notices',
          'median ms',
          'n',
          'relay calls/notice',
          'log lines (bytes)',
        ],
        results.requests.map((row) => [
          row.note ? `${row.request} (${row.note})` : row.request,
          dec(row.roundTrips, Number.isInteger(row.roundTrips) ? 0 : 2),
          Object.entries(row.byOperation)
            .map(([op, n]) => `${op} ${dec(n, Number.isInteger(n) ? 0 : 2)}`)
            .join(' + '),
          dec(row.writeUnits, Number.isInteger(row.writeUnits) ? 0 : 2),
          dec(row.readUnits, Number.isInteger(row.readUnits) ? 0 : 2),
          dec(row.notices, Number.isInteger(row.notices) ? 0 : 2),
          dec(row.medianMs, 1),
          String(row.samples),
          row.notices ? dec(row.relayRoundTripsPerNotice ?? 0, 2) : '-',
          `${dec(row.logLines, Number.isInteger(row.logLines) ? 0 : 2)} (${dec(row.logBytes, 0)})`,
        ]),
      ),
      '',
    );
  } else out.push('Not measured in this run.', '');

  out.push('## Bundles and module init per function', '');
  if (results.bundles) {
    out.push(
      `Each function bundled as \`cdk deploy\` bundles it (lib/bundling), its size, gzip size, and the CPU a fresh ` +
        `\`node\` spends importing it over importing an empty module (median of ${results.bundleRuns ?? '?'}; ` +
        'in brackets the middle half of the samples, the 25th to the 75th percentile, the spread within this run). ' +
        'On a shared machine a median can move by more than that spread between runs hours apart, the code unchanged: ' +
        'compare functions within one run.',
      '',
    );
    out.push(
      tableOf(
        [
          'function',
          'bundle',
          'gzip',
          'init over bare node (CPU ms), median (middle half)',
          '≤ 400 KB',
          '≤ +40 ms',
        ],
        results.bundles.map((b) => [
          b.name,
          kb(b.bytes),
          kb(b.gzipBytes),
          b.initCpuMsMiddleHalf
            ? `${dec(b.initCpuMs, 1)} (${dec(b.initCpuMsMiddleHalf[0], 1)}–${dec(b.initCpuMsMiddleHalf[1], 1)})`
            : dec(b.initCpuMs, 1),
          b.bytes <= 400 * 1024 ? 'yes' : 'no',
          b.initCpuMs <= 40 ? 'yes' : 'no',
        ]),
      ),
      '',
    );
  } else out.push('Not measured in this run.', '');

  out.push('## Embedded ingest against the store’s raw conditional PutItem', '');
  if (results.ingest && results.store) {
    out.push(
      'New dispenses per second (no duplicates), over HTTP through the embedded gateway from kiosks in a process ' +
        'of their own (scripts/bench/kiosk-load.ts: a client in the backend’s process would bill its own CPU to the ' +
        'backend), and handed to the handler in-process (`direct`), against the embedded store’s conditional PutItem ' +
        'through the SDK wired in-process as the handlers’ client is (bench:store --in-process), at the same number ' +
        'in flight. Each event is built and signed before the clock starts (the kiosks’ work, not the backend’s). ' +
        'Conflicts: transactions the store cancelled because another one held one of their items (the ' +
        'kiosk, or a counter shared by the kiosks of a site and writer shard), per event sent; each is sent again, ' +
        'as DynamoDB would make it be. Events of one kiosk are planned and written in turn within the process ' +
        '(functions/core/in-turn.ts), so a kiosk with several events in flight does not conflict with itself.',
      '',
    );
    const rows: string[][] = [];
    for (const figure of results.ingest) {
      const put = results.store.find(
        (s) => s.operation === 'conditional PutItem' && s.inFlight === figure.inFlight,
      );
      rows.push([
        figure.via,
        String(figure.inFlight),
        int(figure.perSecond),
        dec(figure.p50Ms, 1),
        put ? int(put.perSecond) : '-',
        put ? `${dec((figure.perSecond / put.perSecond) * 100, 0)} %` : '-',
        figure.conflictsPerEvent === undefined ? '-' : dec(figure.conflictsPerEvent, 2),
      ]);
    }
    out.push(
      tableOf(
        [
          'ingest via',
          'in flight',
          'events/s',
          'p50 ms',
          'raw PutItem/s',
          'ingest / raw',
          'conflicts / event',
        ],
        rows,
      ),
      '',
    );
    out.push(
      tableOf(
        ['store operation', 'in flight', 'per second', 'CPU µs/op'],
        results.store.map((s) => [s.operation, String(s.inFlight), int(s.perSecond), int(s.cpuMicros)]),
      ),
      '',
    );
  } else out.push('Not measured in this run.', '');

  out.push('## Report items read against events recorded', '');
  if (results.reports) {
    const c = results.reports.config;
    out.push(
      `Events (97 % dispenses, 2 % restocks, 1 % faults, on ${c.sites} sites × ${c.days} days, ${c.kiosksPerSite} kiosks a site) ` +
        `handed to the kiosk-events handler in-process, ${c.concurrency} in flight, on the manual clock standing still, ` +
        'CPU-bound; then the naloxone report for the month. Population time is cumulative. ' +
        `An event answered 503 (too many concurrent changes to one kiosk) is sent again, as a kiosk would: ${int(results.reports.retriedAfter503 ?? 0)} times in this run. ` +
        (results.reports.refused
          ? `**${int(results.reports.refused)} events were refused** (first answers: ${(results.reports.refusals ?? []).map((answer) => `\`${answer.slice(0, 300)}\``).join('; ')}).`
          : 'No event was refused.') +
        results.reports.checkpoints
          .filter((p) => p.recordedInReport !== p.events)
          .map((p) => ` **At ${int(p.events)} events the report counts ${int(p.recordedInReport)}.**`)
          .join(''),
      '',
    );
    out.push(
      tableOf(
        [
          'events',
          'recorded in report',
          'items read',
          'DynamoDB requests',
          'report ms',
          'population',
          'events/s',
        ],
        results.reports.checkpoints.map((p) => [
          int(p.events),
          int(p.recordedInReport),
          int(p.itemsRead),
          String(p.reportRequests.requests),
          dec(p.reportLatencyMs.median, 1),
          `${int(p.populationSeconds)} s`,
          int(p.populationEventsPerSecond),
        ]),
      ),
      '',
    );
  } else out.push('Not measured in this run.', '');

  out.push('## Step Functions transitions per enrollment', '');
  if (results.transitions) {
    out.push(
      tableOf(
        ['profile', 'transitions', 'execution ended on day'],
        results.transitions.rows.map((r) => [
          r.profile,
          int(r.transitions),
          r.endedOnDay === null ? 'still running' : String(r.endedOnDay),
        ]),
      ),
      '',
    );
  } else out.push('Not measured in this run.', '');

  out.push(...renderCost(results));
  return `${out.join('\n').trimEnd()}\n`;
}

function renderCost(results: BenchResults): string[] {
  const out: string[] = ['## Cost', ''];
  const dispense = measured(results, 'new kiosk event');
  const heartbeat = measured(results, 'heartbeat');
  const enrollment = measured(results, 'enrollment');
  const moudEvent = measured(results, 'MOUD event');
  const taskListPage = measured(results, 'task list page');
  const taskCompletion = measured(results, 'task completion');
  if (!dispense || !heartbeat || !enrollment || !moudEvent || !taskListPage || !taskCompletion) {
    return [...out, 'Not computed: the request types it needs were not measured in this run.', ''];
  }
  out.push(
    `List prices of ${PRICES.region} on ${PRICES.date} (scripts/bench/prices.ts, each with its source), on demand, ` +
      'no free tier; computed by scripts/bench/cost.ts from the counts above. Assumed, not measured: ' +
      Object.entries(ASSUMPTIONS)
        .map(([name, value]) => `\`${name}\` ${value}`)
        .join(', ') +
      '.',
    '',
  );

  out.push('### API fronts for kiosks (per 1M requests)', '');
  out.push(
    tableOf(
      ['front', 'per 1M requests', 'fixed a month', '413 before Lambda', 'why'],
      apiFronts().map((f) => [
        f.label,
        usd(f.perMillion),
        usd(f.fixedMonthly),
        f.refuses413BeforeLambda ? 'yes' : '**no**',
        f.note,
      ]),
    ),
    '',
  );

  out.push('### Per 1M dispense events', '');
  const options = dispenseOptions(dispense.writeUnits);
  out.push(
    `Measured: ${dec(dispense.writeUnits, 2)} WRU and ${dec(dispense.readUnits, 2)} RRU a dispense, ` +
      `${dec(dispense.roundTrips, 0)} round trip(s), ${dec(dispense.logLines, 0)} log line(s) of ` +
      `${dec(dispense.logBytes, 0)} bytes (application and EMF metrics lines), ` +
      `${dec(logBytesPerRequest(dispense), 0)} bytes of CloudWatch Logs a dispense with what AWS adds ` +
      "(longer function names, the trace id, Lambda's START/END/REPORT lines, the access log line). " +
      'DynamoDB alone: ' +
      options
        .map(
          (o) =>
            `${o.option}: ${dec(o.writeUnits, 2)} WRU = ${usd(o.writeUnits * PRICES.dynamodb.perMillionWriteUnits)}`,
        )
        .join('; ') +
      '.',
    '',
  );
  const rows = perMillionDispenses(dispense);
  out.push(
    tableOf(
      ['write path', 'front', 'total per 1M', 'without X-Ray'],
      rows.map((r) => [r.option, r.front, usd(r.total), usd(r.withoutXray)]),
    ),
    '',
  );
  const best = rows.reduce((a, b) => (b.withoutXray < a.withoutXray ? b : a));
  const today = rows[0];
  out.push(
    `Today (${today?.front}, ${today?.option}, X-Ray recording ${KIOSK_TRACED_SHARE * 100} % of kiosk requests by the route's ` +
      `sampling rule): **${usd(today?.total ?? 0)}** per 1M dispenses, ${usd(today?.withoutXray ?? 0)} with no traces at all. ` +
      `≤ $3 is ${best.withoutXray <= 3 ? '' : '**not** '}reachable: the cheapest combination here is ` +
      `${usd(best.withoutXray)} (${best.front}; ${best.option}; no traces).`,
    '',
  );

  const transitions = transitionsForCost(results);
  out.push('### Per 1,000 enrollments over 180 days', '');
  out.push(`Transitions per enrollment: ${int(transitions.transitions)}, ${transitions.source}.`, '');
  const inputs = {
    enrollment,
    moudEvent,
    taskListPage,
    taskCompletion,
    transitions: transitions.transitions,
  };
  const thousand = perThousandEnrollments(inputs);
  out.push(
    tableOf(
      ['item', 'USD'],
      [...thousand.lines.map((l) => [l.item, usd(l.usd)]), ['**total**', `**${usd(thousand.total)}**`]],
    ),
    '',
  );

  out.push(
    `### A county program a month (${TYPICAL_COUNTY.kiosks} kiosks, ${int(TYPICAL_COUNTY.dispensesPerYear)} dispenses and ` +
      `${TYPICAL_COUNTY.enrollmentsPerYear} enrollments a year, ${TYPICAL_COUNTY.staff} staff; today's front)`,
    '',
  );
  const county = countyMonthly(TYPICAL_COUNTY, {
    ...inputs,
    dispense,
    heartbeat,
    staffRequest: taskListPage,
  });
  out.push(
    tableOf(
      ['item', 'USD a month'],
      [...county.lines.map((l) => [l.item, usd(l.usd)]), ['**total**', `**${usd(county.total)}**`]],
    ),
    '',
  );
  out.push(
    '### Recommendation',
    '',
    'Put the kiosk route (`POST /v1/kiosk/events`, the only high-volume one) behind **CloudFront + WAF in front of a ' +
      'Lambda function URL**, and keep the staff routes on the REST API with its Cognito authorizer and WAF. It is the ' +
      'cheapest front that keeps the 413-before-Lambda protection: CloudFront’s web ACL inspects 16 KB of body by ' +
      'default, exactly the kiosk limit, and answers a larger body 413 with the same rule as lib/waf.ts (oversize ' +
      'handling MATCH). An HTTP API is cheaper still but cannot carry a WAF, so a 10 MB body would be read and paid ' +
      'for inside Lambda. What changing it takes: a function URL on kioskEvents with AWS_IAM auth and CloudFront origin ' +
      'access control (so the URL cannot be called around the WAF); kiosks then send `x-amz-content-sha256` (the ' +
      'SHA-256 of the body they already sign), a contract change for kiosk vendors; a CLOUDFRONT-scope web ACL ' +
      '(us-east-1) with the kiosk rule; the handler reading the function URL event shape (payload 2.0) besides the ' +
      'REST proxy event; new infra tests and cdk-nag acknowledgements. Not done in this change: the stack’s front is unchanged.',
    '',
    'X-Ray would be the largest per-request line while traffic is under one request a second (the default rule ' +
      'records every request then: $5 per 1M): the kiosk route has its own sampling rule (`traceSampledShare` in ' +
      'lib/manifest.ts, an X-Ray sampling rule on the API stage: 1 %, no reservoir), $0.05 per 1M. The rest of the gap to ≤ $3 per 1M is the write path (folding counters, and stock, from the table’s stream in ' +
      'batches, as computed above) and the logs: about 1.5 KB a request ingested and kept a year is about $1.29 per 1M; ' +
      'no API access log line for kiosk requests that succeed, or a shorter retention, is the last step.',
    '',
  );
  return out;
}
