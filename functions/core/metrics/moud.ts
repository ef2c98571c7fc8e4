import type { AggregateRow } from '../aggregate-row.js';
import { countedThrough } from '../aggregates.js';
import { coverage, type HistoryEntry } from '../moud/moud-history.js';
import type { Medication } from '../schemas.js';
import { addCounters, Figures, outreachSection } from './figures.js';
import { type Cell, CSV_DEFINITION, SUPPRESSION_DEFINITION } from './suppression.js';

/**
 * The MOUD program's figures and their definitions, in one place: the code in
 * this module computes exactly what `moudDefinitions` says. Change one, change
 * the other, and bump the version.
 *
 * Counters are kept per enrollment day and site (aggregates `moud#YYYY-MM`,
 * `YYYY-MM-DD#site`), written in the same transaction as the enrollment or event:
 *   enrollments, priorOverdoses            one enrollment
 *   retained30 / retained90 / retained180  enrollees of that day whose treatment is continuous through day N
 *   od:<day>                               overdoses (fatal or not) of those enrollees on <day>
 *   end:<day>, died:<day>, disenrolled:<day>  those enrollees whose follow-up ended on <day>
 * Each enrollment keeps what it adds (functions/core/moud/enrollments.ts `contribution`, derived from its
 * whole history) and each event writes the difference, so the counters do not depend on the order
 * events were recorded in. The same rows also hold the outreach counters of the follow-up tasks
 * opened that day at that site (functions/core/staff/outreach.ts).
 * So a report reads days × sites items, whatever the number of events.
 */
export const MOUD_DEFINITIONS_VERSION = 'moud-2';

export const RETENTION_DAYS = [30, 90, 180] as const;
/** HEDIS POD: continuity breaks at a gap of this many consecutive days without coverage. */
export const GAP_DAYS = 8;
/** Average days in a month (365.25 / 12), for member-months. */
export const DAYS_PER_MONTH = 30.4375;

export const moudDefinitions = {
  cohort: {
    rule: 'enrollments whose enrolledOn is within [from, to] (and at siteId when given); every figure below is about this cohort',
  },
  enrollments: { numerator: 'enrollments in the cohort (each participantRef and enrolledOn once)' },
  activeAtTo: {
    numerator:
      'cohort members not disenrolled and not dead on or before to (countedThrough when to is after asOf)',
    exclusions:
      'follow-up ended on or before to: the earliest day of a disenrolled event or a fatal overdose (a death when both fall on one day), whatever order they were recorded in',
  },
  retention: {
    numerator:
      'eligible members whose treatment is continuous through day N (day 0 = enrolledOn): no run of ' +
      `${GAP_DAYS} or more consecutive days without coverage within days 0..N`,
    denominator:
      'cohort members whose day N falls on or before to and on or before the day of asOf (enrolledOn + N days <= countedThrough)',
    window: 'N = 30, 90 and 180 days',
    coverage:
      'a dose covers its daysSupply (default 1) days from its day; doses are taken in day order and one given while ' +
      'medication from earlier doses is still in hand covers from the day after that supply ends (supplies carried forward, ' +
      'as HEDIS and PDC count them; two doses on one day hold both supplies). An injection covers its own days: ' +
      'buprenorphine-er-monthly 31, buprenorphine-er-weekly 7, naltrexone-er 28, a daily medication 1; a visit 1 day',
    exclusions:
      'days before enrolledOn do not count (a supply given before it counts for the days it reaches past it); ' +
      'members who died or disenrolled stay in the denominator',
  },
  overdoseRateBefore: {
    numerator:
      'sum of overdosesPrior12m over the cohort (as reported at enrollment, meant to leave out the index overdose)',
    denominator: '12 member-months per cohort member',
    unit: 'per 1,000 member-months',
  },
  overdoseRateAfter: {
    numerator:
      'recorded overdose events, fatal or not, of cohort members on a day from enrolledOn through the earliest of to, ' +
      'the day of asOf, disenrollment and death',
    denominator: `member-months: days from enrolledOn through the earliest of to, the day of asOf, disenrollment and death, inclusive, / ${DAYS_PER_MONTH}`,
    unit: 'per 1,000 member-months',
    exclusions:
      'overdoses dated after the follow-up ended (its earliest ending, whatever order the events were recorded in)',
  },
  overdoseRateReduction: {
    rule: '1 - after / before; null when either rate is unknown or before is 0',
    caveat:
      'rates fall after any index overdose anyway (regression to the mean): the reduction is not an effect estimate',
  },
  outreach: {
    numerator:
      'follow-up tasks of enrollments opened within [from, to] at the site, by kind (checkpoint-72h ... checkpoint-180d, ' +
      'supply-gap, missed-injection, overdose-urgent); by outcome when completed (reached, no-answer, declined, re-engaged), ' +
      'still open, escalated once after 24 hours',
    median:
      'median of whole hours (rounded down) from a task opening to its completion, over the completed ones',
    window:
      'the day the task opened within [from, to]; outcomes as of asOf (these are tasks, not the enrollment cohort)',
  },
  asOf: {
    rule: 'figures describe what is recorded at asOf (the backend time); a range that reaches past its day is counted through that day (countedThrough): days not yet lived are neither person-time nor retention eligibility',
  },
  suppression: SUPPRESSION_DEFINITION,
  csv: CSV_DEFINITION,
} as const;

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Math.round(Date.parse(day) / DAY_MS);

/**
 * For each N of RETENTION_DAYS: is treatment continuous through day N, that is, no run of
 * GAP_DAYS or more uncovered days within days 0..N (coverage: functions/core/moud/moud-history.ts,
 * supplies carried forward; days before enrolledOn do not count, supplies reaching past it do)?
 */
export function retentionFlags(
  medication: Medication,
  enrolledOn: string,
  history: readonly HistoryEntry[],
): Record<(typeof RETENTION_DAYS)[number], boolean> {
  const horizon = Math.max(...RETENTION_DAYS);
  const covered = new Array<boolean>(horizon + 1).fill(false);
  for (const [start, end] of coverage(medication, enrolledOn, history)) {
    for (let d = Math.max(0, start); d <= Math.min(end, horizon); d += 1) covered[d] = true;
  }
  // The day each run of uncovered days reaches GAP_DAYS in length: continuity is broken from then on.
  let run = 0;
  let brokenOn = Number.POSITIVE_INFINITY;
  for (let d = 0; d <= horizon; d += 1) {
    run = covered[d] ? 0 : run + 1;
    if (run >= GAP_DAYS) {
      brokenOn = d;
      break;
    }
  }
  return { 30: brokenOn > 30, 90: brokenOn > 90, 180: brokenOn > 180 };
}

export interface MoudReportOptions {
  readonly from: string;
  readonly to: string;
  readonly siteId?: string;
  readonly raw: boolean;
  /** The backend time the report describes: nothing after its day is counted. */
  readonly asOf: string;
}

interface Totals {
  enrollments: number;
  activeAtTo: number;
  priorOverdoses: number;
  overdosesAfter: number;
  personDays: number;
  deaths: number;
  disenrollments: number;
  eligible: Record<number, number>;
  retained: Record<number, number>;
}

function emptyTotals(): Totals {
  return {
    enrollments: 0,
    activeAtTo: 0,
    priorOverdoses: 0,
    overdosesAfter: 0,
    personDays: 0,
    deaths: 0,
    disenrollments: 0,
    eligible: { 30: 0, 90: 0, 180: 0 },
    retained: { 30: 0, 90: 0, 180: 0 },
  };
}

/** Adds one aggregate row (an enrollment day at a site) to the totals, as of `to`. */
function add(totals: Totals, row: AggregateRow, to: string): void {
  const counters = row.counters;
  const enrolled = counters.enrollments ?? 0;
  const toNumber = dayNumber(to);
  const enrolledNumber = dayNumber(row.day);
  totals.enrollments += enrolled;
  totals.priorOverdoses += counters.priorOverdoses ?? 0;
  let ended = 0;
  let personDays = enrolled * (toNumber - enrolledNumber + 1);
  for (const [name, value] of Object.entries(counters)) {
    const [kind, day] = name.split(':');
    if (!day || day > to) continue;
    if (kind === 'end') {
      ended += value;
      personDays -= value * (toNumber - dayNumber(day));
    } else if (kind === 'od') totals.overdosesAfter += value;
    else if (kind === 'died') totals.deaths += value;
    else if (kind === 'disenrolled') totals.disenrollments += value;
  }
  totals.activeAtTo += enrolled - ended;
  totals.personDays += personDays;
  for (const n of RETENTION_DAYS) {
    if (enrolledNumber + n > toNumber) continue;
    totals.eligible[n] += enrolled;
    totals.retained[n] += counters[`retained${n}`] ?? 0;
  }
}

const per1000 = (events: number, months: number) => (months === 0 ? null : (events / months) * 1000);
const ratio = (numerator: number, denominator: number) =>
  denominator === 0 ? null : numerator / denominator;

/** Measures shown per site. */
const SITE_MEASURES = ['enrollments', 'activeAtTo', 'retained30', 'eligible30', 'overdosesAfter'] as const;
type SiteMeasure = (typeof SITE_MEASURES)[number];
const siteMeasures = (totals: Totals): Record<SiteMeasure, number> => ({
  enrollments: totals.enrollments,
  activeAtTo: totals.activeAtTo,
  retained30: totals.retained[30],
  eligible30: totals.eligible[30],
  overdosesAfter: totals.overdosesAfter,
});
/** Where each per-site measure's total is shown. */
const TOTAL_OF: Record<SiteMeasure, string> = {
  enrollments: 'enrollments',
  activeAtTo: 'activeAtTo',
  retained30: 'retention.30.retained',
  eligible30: 'retention.30.eligible',
  overdosesAfter: 'overdoseRate.after.overdoses',
};

export function moudReport(allRows: readonly AggregateRow[], options: MoudReportOptions) {
  const through = countedThrough(options.to, options.asOf);
  const rows = allRows.filter(
    (row) =>
      row.day >= options.from && row.day <= through && (!options.siteId || row.siteId === options.siteId),
  );
  const total = emptyTotals();
  const bySite = new Map<string, Totals>();
  for (const row of rows) {
    add(total, row, through);
    if (!bySite.has(row.siteId)) bySite.set(row.siteId, emptyTotals());
    add(bySite.get(row.siteId) as Totals, row, through);
  }
  // Sites with enrollees in the cohort (rows holding only outreach counters are not cohort sites).
  const sites = [...bySite]
    .filter(([, totals]) => totals.enrollments > 0)
    .map(([siteId]) => siteId)
    .sort((a, b) => a.localeCompare(b));

  const f = new Figures();
  for (const measure of SITE_MEASURES) {
    const id = f.count(TOTAL_OF[measure], siteMeasures(total)[measure]);
    f.sum(
      id,
      sites.map((site) =>
        f.count(`bySite[${site}].${measure}`, siteMeasures(bySite.get(site) as Totals)[measure]),
      ),
    );
  }
  const disenrollments = f.count('disenrollments', total.disenrollments);
  const deaths = f.count('deaths', total.deaths);
  // activeAtTo = enrollments - disenrollments - deaths
  f.relations.push([
    ['enrollments', 1],
    ['activeAtTo', -1],
    [disenrollments, -1],
    [deaths, -1],
  ]);
  for (const n of RETENTION_DAYS) {
    if (n === 30) continue;
    f.count(`retention.${n}.retained`, total.retained[n]);
    f.count(`retention.${n}.eligible`, total.eligible[n]);
  }
  const priorOverdoses = f.count('overdoseRate.before.overdoses', total.priorOverdoses);
  const outreachCounters = addCounters(rows, (name) => name.startsWith('outreach:'));
  const kinds = [...outreachCounters.keys()]
    .filter((name) => name.startsWith('outreach:opened:'))
    .map((name) => name.slice('outreach:opened:'.length))
    .sort();
  const outreach = outreachSection(
    f,
    outreachCounters,
    kinds.map((kind) => [
      kind,
      f.count(`outreach.opened.byKind.${kind}`, outreachCounters.get(`outreach:opened:${kind}`) ?? 0),
    ]),
  );
  f.suppress(options.raw);

  const beforeMonths = 12 * total.enrollments;
  const afterMonths = total.personDays / DAYS_PER_MONTH;
  const before = per1000(total.priorOverdoses, beforeMonths);
  const after = per1000(total.overdosesAfter, afterMonths);
  const everything = ['enrollments', priorOverdoses, 'overdoseRate.after.overdoses'];
  return {
    from: options.from,
    to: options.to,
    asOf: options.asOf,
    countedThrough: through,
    ...(options.siteId ? { siteId: options.siteId } : {}),
    enrollments: f.cell('enrollments'),
    activeAtTo: f.cell('activeAtTo'),
    disenrollments: f.cell(disenrollments),
    deaths: f.cell(deaths),
    retention: Object.fromEntries(
      RETENTION_DAYS.map((n) => {
        const retained = `retention.${n}.retained`;
        const eligible = `retention.${n}.eligible`;
        return [
          String(n),
          {
            retained: f.cell(retained),
            eligible: f.cell(eligible),
            rate: f.derived([retained, eligible], ratio(total.retained[n], total.eligible[n])),
          },
        ];
      }),
    ),
    overdoseRate: {
      before: {
        overdoses: f.cell(priorOverdoses),
        // 12 × enrollments: shown with the enrollments.
        personMonths: f.derived(['enrollments'], beforeMonths),
        per1000MemberMonths: f.derived(['enrollments', priorOverdoses], before),
      },
      after: {
        overdoses: f.cell('overdoseRate.after.overdoses'),
        personMonths: f.derived(['enrollments'], afterMonths),
        per1000MemberMonths: f.derived(['enrollments', 'overdoseRate.after.overdoses'], after),
      },
      reduction: f.derived(
        everything,
        before === null || after === null || before === 0 ? null : 1 - after / before,
      ),
    },
    outreach: outreach(),
    bySite: sites.map((siteId) => ({
      siteId,
      ...(Object.fromEntries(
        SITE_MEASURES.map((measure) => [measure, f.cell(`bySite[${siteId}].${measure}`)]),
      ) as Record<SiteMeasure, Cell>),
    })),
    smallCellsSuppressed: !options.raw,
    definitionsVersion: MOUD_DEFINITIONS_VERSION,
    definitions: moudDefinitions,
  };
}

export type MoudReport = ReturnType<typeof moudReport>;
