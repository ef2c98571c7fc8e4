import type { AggregateRow } from '../aggregate-row.js';
import { countedThrough } from '../aggregates.js';
import { coverage, type HistoryEntry } from '../moud-history.js';
import type { Medication } from '../schemas.js';
import { type Cell, cells, SMALL_CELL_LIMIT } from './suppression.js';

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
 * so a report reads days × sites items, whatever the number of events.
 */
export const MOUD_DEFINITIONS_VERSION = 'moud-1';

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
    numerator: 'cohort members not disenrolled and not dead on or before to',
    exclusions: 'follow-up ended by a disenrolled event or a fatal overdose on or before to',
  },
  retention: {
    numerator:
      'eligible members whose treatment is continuous through day N (day 0 = enrolledOn): no run of ' +
      `${GAP_DAYS} or more consecutive days without coverage within days 0..N`,
    denominator: 'cohort members whose day N falls on or before to (enrolledOn + N days <= to)',
    window: 'N = 30, 90 and 180 days',
    coverage:
      'each recorded activity covers days from its day on: injection of buprenorphine-er-monthly 31 days, ' +
      'buprenorphine-er-weekly 7, naltrexone-er 28; a dose, a visit, or an injection of a daily medication 1 day',
    exclusions:
      'activity recorded before enrolledOn does not count; members who died or disenrolled stay in the denominator',
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
      'disenrollment and death',
    denominator: `member-months: days from enrolledOn through the earliest of to, disenrollment and death, inclusive, / ${DAYS_PER_MONTH}`,
    unit: 'per 1,000 member-months',
    exclusions: 'overdoses recorded for a day after the follow-up ended',
  },
  overdoseRateReduction: {
    rule: '1 - after / before; null when either rate is unknown or before is 0',
    caveat:
      'rates fall after any index overdose anyway (regression to the mean): the reduction is not an effect estimate',
  },
  smallCells: {
    rule: `bySite cells under ${SMALL_CELL_LIMIT} (0 included) are shown as "<${SMALL_CELL_LIMIT}" unless raw=true; top-level figures are always exact`,
  },
} as const;

const DAY_MS = 86_400_000;
const dayNumber = (day: string) => Math.round(Date.parse(day) / DAY_MS);

/**
 * For each N of RETENTION_DAYS: is treatment continuous through day N, that is, no run of
 * GAP_DAYS or more uncovered days within days 0..N (coverage: functions/core/moud-history.ts,
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

function figures(totals: Totals) {
  const beforeMonths = 12 * totals.enrollments;
  const afterMonths = totals.personDays / DAYS_PER_MONTH;
  const before = per1000(totals.priorOverdoses, beforeMonths);
  const after = per1000(totals.overdosesAfter, afterMonths);
  return {
    enrollments: totals.enrollments,
    activeAtTo: totals.activeAtTo,
    disenrollments: totals.disenrollments,
    deaths: totals.deaths,
    retention: Object.fromEntries(
      RETENTION_DAYS.map((n) => [
        String(n),
        {
          retained: totals.retained[n],
          eligible: totals.eligible[n],
          rate: ratio(totals.retained[n], totals.eligible[n]),
        },
      ]),
    ) as Record<'30' | '90' | '180', { retained: number; eligible: number; rate: number | null }>,
    overdoseRate: {
      before: { overdoses: totals.priorOverdoses, personMonths: beforeMonths, per1000MemberMonths: before },
      after: { overdoses: totals.overdosesAfter, personMonths: afterMonths, per1000MemberMonths: after },
      reduction: before === null || after === null || before === 0 ? null : 1 - after / before,
    },
  };
}

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
  return {
    from: options.from,
    to: options.to,
    asOf: options.asOf,
    countedThrough: through,
    ...(options.siteId ? { siteId: options.siteId } : {}),
    ...figures(total),
    bySite: [...bySite]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([siteId, totals]) => ({ siteId, ...siteCells(totals, options.raw) })),
    smallCellsSuppressed: !options.raw,
    definitionsVersion: MOUD_DEFINITIONS_VERSION,
    definitions: moudDefinitions,
  };
}

/** Per-site counts, small cells suppressed; rates are left out where their counts are suppressed. */
function siteCells(totals: Totals, raw: boolean): Record<string, Cell | number | null> {
  const counts = cells(
    {
      enrollments: totals.enrollments,
      activeAtTo: totals.activeAtTo,
      retained30: totals.retained[30],
      eligible30: totals.eligible[30],
      overdosesAfter: totals.overdosesAfter,
    },
    raw,
  );
  return { ...counts };
}

export type MoudReport = ReturnType<typeof moudReport>;
