import restrictedZip3 from '../../functions/core/metrics/zip3-restricted.json' with { type: 'json' };
import { addDays, dayNumber, utcDayOf } from './days.js';
import { KioskReplay } from './fleet-truth.js';
import type { EnrollmentBody, Fact, KioskEventBody, MoudEventBody, Plan, UseReportBody } from './plan.js';

/**
 * What the reports must say, computed from what the simulator generated and the backend
 * acknowledged (201, or 200 for a fact it already had). Written from the report definitions
 * (functions/core/metrics/*.ts, `definitions` in each report), not from the code that computes
 * them: nothing here imports it (only the list of restricted ZIP prefixes, which is data).
 * MOUD figures come from the set of each person's events, never from the order they arrived in.
 * The outreach figures come from the tasks as the task list shows them at the end.
 */

/** Every acknowledged fact, with its position in the order the backend recorded them. */
export type Acknowledged = ReadonlyMap<string, { readonly seq: number; readonly fact: Fact }>;

/** A task as `GET /v1/outreach/tasks` lists it. */
export interface ListedTask {
  readonly taskId: string;
  readonly kind: string;
  readonly siteId: string;
  readonly status: 'open' | 'completed';
  readonly createdAt: string;
  readonly completedAt?: string;
  readonly outcome?: string;
  readonly escalatedAt?: string;
  readonly kioskId?: string;
  readonly eventId?: string;
  readonly enrollmentId?: string;
}

export const CATALOGUE = [
  'naloxone-nasal-4mg',
  'naloxone-nasal-8mg',
  'naloxone-im-0.4mg',
  'fentanyl-test-strips',
  'xylazine-test-strips',
  'wound-care-kit',
] as const;

const isNaloxoneKit = (sku: string) => sku.startsWith('naloxone-');

interface NaloxoneCell {
  dispenseEvents: number;
  contactRequests: number;
  kits: number;
  survived: number;
  died: number;
  unknownOutcome: number;
}

const emptyCell = (): NaloxoneCell => ({
  dispenseEvents: 0,
  contactRequests: 0,
  kits: 0,
  survived: 0,
  died: 0,
  unknownOutcome: 0,
});

const rate = (numerator: number, denominator: number) => (denominator === 0 ? null : numerator / denominator);

function inOrder(acknowledged: Acknowledged, kind: Fact['kind']) {
  return [...acknowledged.values()].filter(({ fact }) => fact.kind === kind).sort((a, b) => a.seq - b.seq);
}

/** The last day counted: `to`, or the backend's today (the day of asOf) when that is earlier. */
const throughOf = (to: string, asOf: string) => [to, asOf.slice(0, 10)].sort()[0];

const OUTCOMES = ['reached', 'no-answer', 'declined', 're-engaged'] as const;

/** Median of whole hours from opening to completion; null without completions. */
function medianHours(tasks: readonly ListedTask[]): number | null {
  const hours = tasks
    .filter((task) => task.completedAt)
    .map((task) =>
      Math.floor((Date.parse(task.completedAt as string) - Date.parse(task.createdAt)) / 3_600_000),
    )
    .sort((a, b) => a - b);
  if (hours.length === 0) return null;
  const middle = Math.floor(hours.length / 2);
  return hours.length % 2 ? hours[middle] : (hours[middle - 1] + hours[middle]) / 2;
}

/** The outreach figures of tasks counted in a report's range. */
function outreachOf(tasks: readonly ListedTask[], byKind: Record<string, number>) {
  const outcomes = Object.fromEntries(
    OUTCOMES.map((outcome) => [outcome, tasks.filter((task) => task.outcome === outcome).length]),
  );
  return {
    opened: { total: tasks.length, byKind },
    outcomes,
    stillOpen: tasks.filter((task) => task.status === 'open').length,
    escalated: tasks.filter((task) => task.escalatedAt).length,
    medianHoursToCompletion: medianHours(tasks),
  };
}

const RESTRICTED = new Set(restrictedZip3.prefixes);
const zip3 = (zip: string) => (RESTRICTED.has(zip.slice(0, 3)) ? '000' : zip.slice(0, 3));

export function naloxoneTruth(
  plan: Plan,
  acknowledged: Acknowledged,
  from: string,
  to: string,
  asOf: string,
  tasks: readonly ListedTask[],
) {
  const through = throughOf(to, asOf);
  const siteOfKiosk = new Map(plan.kiosks.map((kiosk) => [kiosk.kioskId, kiosk.siteId]));
  // Stock per lot, quarantines and their swaps (scripts/sim/fleet-truth.ts): what a dispense could not cover.
  const replays = new Map(plan.kiosks.map((kiosk) => [kiosk.kioskId, new KioskReplay(kiosk.inventory)]));
  const kitsDispensed: Record<string, number> = Object.fromEntries(CATALOGUE.map((sku) => [sku, 0]));
  const total = emptyCell();
  const bySite = new Map<string, NaloxoneCell>();
  const byDay = new Map<string, NaloxoneCell>();
  let useReports = 0;
  const ems = { called: 0, notCalled: 0, unanswered: 0 };
  const doses = { reports: 0, doses: 0 };
  let restockEvents = 0;
  let faultEvents = 0;
  let stockMismatchUnits = 0;
  const survey = {
    surveys: 0,
    firstTime: { yes: 0, no: 0, unanswered: 0 },
    forWhom: { self: 0, other: 0, both: 0, unspecified: 0, unanswered: 0 } as Record<string, number>,
    zip3: {} as Record<string, number>,
  };
  let zipUnanswered = 0;
  const dispenseDay = new Map<string, string>();
  const inRange = (day: string) => day >= from && day <= through;
  const cellsOf = (day: string, siteId: string) => {
    if (!bySite.has(siteId)) bySite.set(siteId, emptyCell());
    if (!byDay.has(day)) byDay.set(day, emptyCell());
    return [total, bySite.get(siteId) as NaloxoneCell, byDay.get(day) as NaloxoneCell];
  };

  // Kiosk events in the order the backend recorded them: stock is replayed to know what it could not cover.
  for (const { fact } of inOrder(acknowledged, 'kiosk-event')) {
    if (fact.kind !== 'kiosk-event') continue;
    const event: KioskEventBody = fact.event;
    const siteId = siteOfKiosk.get(fact.kioskId) as string;
    const day = utcDayOf(event.occurredAt);
    const replay = replays.get(fact.kioskId) as KioskReplay;
    const counted = inRange(day);
    if (event.type === 'dispense') {
      dispenseDay.set(`${fact.kioskId}/${event.eventId.toLowerCase()}`, day);
      const { mismatch } = replay.dispense(event.items);
      if (counted) stockMismatchUnits += mismatch;
      if (!counted) continue;
      for (const cell of cellsOf(day, siteId)) {
        cell.dispenseEvents += 1;
        if (event.contactRequest) cell.contactRequests += 1;
        for (const { sku, quantity } of event.items) if (isNaloxoneKit(sku)) cell.kits += quantity;
      }
      for (const { sku, quantity } of event.items) kitsDispensed[sku] += quantity;
      if (event.survey) {
        const answers = event.survey;
        survey.surveys += 1;
        if (answers.firstTime === true) survey.firstTime.yes += 1;
        else if (answers.firstTime === false) survey.firstTime.no += 1;
        else survey.firstTime.unanswered += 1;
        survey.forWhom[answers.forWhom ?? 'unanswered'] += 1;
        if (answers.zip) survey.zip3[zip3(answers.zip)] = (survey.zip3[zip3(answers.zip)] ?? 0) + 1;
        else zipUnanswered += 1;
      }
    } else if (event.type === 'restock') {
      replay.restock(event);
      if (!counted) continue;
      cellsOf(day, siteId);
      restockEvents += 1;
    } else if (event.type === 'fault') {
      replay.reading(event.temperatureC);
      if (!counted) continue;
      cellsOf(day, siteId);
      faultEvents += 1;
    } else {
      // A heartbeat changes no count; a reading outside a label range quarantines (and a swap follows).
      replay.reading(event.temperatureC);
    }
  }

  for (const { fact } of inOrder(acknowledged, 'use-report')) {
    if (fact.kind !== 'use-report') continue;
    const report: UseReportBody = fact.report;
    if (!inRange(report.usedOn)) continue;
    useReports += 1;
    for (const cell of cellsOf(report.usedOn, report.siteId ?? '(unknown)')) {
      if (report.outcome === 'survived') cell.survived += 1;
      else if (report.outcome === 'died') cell.died += 1;
      else cell.unknownOutcome += 1;
    }
    if (report.emsCalled === true) ems.called += 1;
    else if (report.emsCalled === false) ems.notCalled += 1;
    else ems.unanswered += 1;
    if (report.dosesUsed !== undefined) {
      doses.reports += 1;
      doses.doses += report.dosesUsed;
    }
  }

  // Kiosk contact tasks, counted on the day of the dispense that asked for them.
  const kioskTasks = tasks.filter((task) => {
    const day = task.kioskId && task.eventId ? dispenseDay.get(`${task.kioskId}/${task.eventId}`) : undefined;
    return day !== undefined && inRange(day);
  });

  const sorted = <K extends 'siteId' | 'day'>(map: Map<string, NaloxoneCell>, key: K) =>
    [...map]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, cell]) => ({ [key]: name, ...cell }) as { [P in K]: string } & NaloxoneCell);

  return {
    from,
    to,
    countedThrough: through,
    dispenseEvents: total.dispenseEvents,
    kitsDispensed,
    naloxoneKitsDispensed: total.kits,
    contactRequests: total.contactRequests,
    useReports,
    survived: total.survived,
    died: total.died,
    unknownOutcome: total.unknownOutcome,
    survivalRate: rate(total.survived, total.survived + total.died),
    reportRate: rate(useReports, total.kits),
    emsCalled: ems.called,
    emsNotCalled: ems.notCalled,
    emsUnanswered: ems.unanswered,
    dosesUsed: {
      reports: doses.reports,
      doses: doses.doses,
      meanPerReport: rate(doses.doses, doses.reports),
    },
    restockEvents,
    faultEvents,
    stockMismatchUnits,
    survey: { ...survey, zip3: { ...survey.zip3, unanswered: zipUnanswered } as Record<string, number> },
    outreach: outreachOf(kioskTasks, { 'kiosk-contact': kioskTasks.length }),
    bySite: sorted(bySite, 'siteId'),
    byDay: sorted(byDay, 'day'),
  };
}

export type NaloxoneTruth = ReturnType<typeof naloxoneTruth>;

/** HEDIS POD: treatment is continuous through day N unless 8 or more consecutive days lack coverage. */
const GAP = 8;
const RETENTION = [30, 90, 180] as const;
const DAYS_PER_MONTH = 365.25 / 12;

/** Days one injection covers from its own day; a dose covers its days' supply, a visit its day. */
function injectionCoverage(medication: EnrollmentBody['medication']): number {
  if (medication === 'buprenorphine-er-monthly') return 31;
  if (medication === 'buprenorphine-er-weekly') return 7;
  if (medication === 'naltrexone-er') return 28;
  return 1;
}

/**
 * The days from enrolledOn (day 0) on that recorded treatment covers: doses in day order, each
 * supply starting the day after the medication in hand runs out (carried forward); injections
 * and visits on their own days.
 */
function coveredDays(
  medication: EnrollmentBody['medication'],
  start: number,
  events: readonly MoudEventBody[],
): Set<number> {
  const covered = new Set<number>();
  const cover = (first: number, length: number) => {
    for (let d = first; d < first + length; d += 1) if (d >= 0) covered.add(d);
  };
  let supplyEnds = Number.NEGATIVE_INFINITY; // the last day medication from doses is in hand
  const doses = events
    .filter((event) => event.type === 'dose')
    .map((event) => ({ day: dayNumber(event.occurredOn) - start, supply: event.daysSupply ?? 1 }))
    .sort((a, b) => a.day - b.day);
  for (const { day, supply } of doses) {
    const first = Math.max(day, supplyEnds + 1);
    cover(first, supply);
    supplyEnds = first + supply - 1;
  }
  for (const event of events) {
    const day = dayNumber(event.occurredOn) - start;
    if (event.type === 'injection') cover(day, injectionCoverage(medication));
    if (event.type === 'visit') cover(day, 1);
  }
  return covered;
}

/** Continuous through day `n`: no run of GAP uncovered days within 0..n. */
function continuousThrough(n: number, covered: ReadonlySet<number>): boolean {
  let run = 0;
  for (let d = 0; d <= n; d += 1) {
    run = covered.has(d) ? 0 : run + 1;
    if (run >= GAP) return false;
  }
  return true;
}

interface MoudTotals {
  enrollments: number;
  activeAtTo: number;
  disenrollments: number;
  deaths: number;
  priorOverdoses: number;
  overdosesAfter: number;
  personDays: number;
  retained: Record<number, number>;
  eligible: Record<number, number>;
}

const emptyTotals = (): MoudTotals => ({
  enrollments: 0,
  activeAtTo: 0,
  disenrollments: 0,
  deaths: 0,
  priorOverdoses: 0,
  overdosesAfter: 0,
  personDays: 0,
  retained: { 30: 0, 90: 0, 180: 0 },
  eligible: { 30: 0, 90: 0, 180: 0 },
});

export function moudTruth(
  _plan: Plan,
  acknowledged: Acknowledged,
  from: string,
  to: string,
  asOf: string,
  tasks: readonly ListedTask[],
) {
  const through = throughOf(to, asOf);
  const enrollments = new Map<string, EnrollmentBody>();
  const eventsOf = new Map<string, MoudEventBody[]>();
  for (const { fact } of acknowledged.values()) {
    if (fact.kind === 'enrollment') enrollments.set(fact.enrollment.participantRef, fact.enrollment);
    if (fact.kind === 'moud-event')
      eventsOf.set(fact.participantRef, [...(eventsOf.get(fact.participantRef) ?? []), fact.event]);
  }

  const total = emptyTotals();
  const bySite = new Map<string, MoudTotals>();
  const throughNumber = dayNumber(through);
  for (const enrollment of enrollments.values()) {
    if (enrollment.enrolledOn < from || enrollment.enrolledOn > through) continue;
    const start = dayNumber(enrollment.enrolledOn);
    const events = eventsOf.get(enrollment.participantRef) ?? [];
    // The follow-up ends on the earliest disenrollment or death (not before enrolledOn); a death wins a tie.
    const endings = events
      .filter((event) => event.type === 'disenrolled' || (event.type === 'overdose' && event.fatal))
      .map((event) => ({
        day: [event.occurredOn, enrollment.enrolledOn].sort()[1],
        reason: event.type === 'disenrolled' ? ('disenrolled' as const) : ('died' as const),
      }))
      .sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : a.reason === 'died' ? -1 : 1));
    const end = endings[0];
    const overdoses = events.filter(
      (event) =>
        event.type === 'overdose' &&
        event.occurredOn >= enrollment.enrolledOn &&
        (!end || event.occurredOn <= end.day) &&
        event.occurredOn <= through,
    ).length;
    const endedBy = end && end.day <= through ? end : undefined;
    const lastDay = endedBy ? dayNumber(endedBy.day) : throughNumber;
    const covered = coveredDays(enrollment.medication, start, events);
    if (!bySite.has(enrollment.siteId)) bySite.set(enrollment.siteId, emptyTotals());
    for (const totals of [total, bySite.get(enrollment.siteId) as MoudTotals]) {
      totals.enrollments += 1;
      totals.priorOverdoses += enrollment.overdosesPrior12m;
      if (!endedBy) totals.activeAtTo += 1;
      if (endedBy?.reason === 'died') totals.deaths += 1;
      if (endedBy?.reason === 'disenrolled') totals.disenrollments += 1;
      totals.overdosesAfter += overdoses;
      totals.personDays += lastDay - start + 1;
      for (const n of RETENTION) {
        if (addDays(enrollment.enrolledOn, n) > through) continue;
        totals.eligible[n] += 1;
        if (continuousThrough(n, covered)) totals.retained[n] += 1;
      }
    }
  }

  // Follow-up tasks, counted on the day they opened.
  const followUps = tasks.filter((task) => {
    const day = task.createdAt.slice(0, 10);
    return task.enrollmentId && day >= from && day <= through;
  });
  const byKind: Record<string, number> = {};
  for (const task of [...followUps].sort((a, b) => (a.kind < b.kind ? -1 : 1)))
    byKind[task.kind] = (byKind[task.kind] ?? 0) + 1;

  const per1000 = (events: number, months: number) => (months === 0 ? null : (events / months) * 1000);
  const beforeMonths = 12 * total.enrollments;
  const afterMonths = total.personDays / DAYS_PER_MONTH;
  const before = per1000(total.priorOverdoses, beforeMonths);
  const after = per1000(total.overdosesAfter, afterMonths);
  return {
    from,
    to,
    countedThrough: through,
    enrollments: total.enrollments,
    activeAtTo: total.activeAtTo,
    disenrollments: total.disenrollments,
    deaths: total.deaths,
    retention: Object.fromEntries(
      RETENTION.map((n) => [
        String(n),
        {
          retained: total.retained[n],
          eligible: total.eligible[n],
          rate: rate(total.retained[n], total.eligible[n]),
        },
      ]),
    ) as Record<'30' | '90' | '180', { retained: number; eligible: number; rate: number | null }>,
    overdoseRate: {
      before: { overdoses: total.priorOverdoses, personMonths: beforeMonths, per1000MemberMonths: before },
      after: { overdoses: total.overdosesAfter, personMonths: afterMonths, per1000MemberMonths: after },
      reduction: before === null || after === null || before === 0 ? null : 1 - after / before,
    },
    outreach: outreachOf(followUps, byKind),
    bySite: [...bySite]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([siteId, totals]) => ({
        siteId,
        enrollments: totals.enrollments,
        activeAtTo: totals.activeAtTo,
        retained30: totals.retained[30],
        eligible30: totals.eligible[30],
        overdosesAfter: totals.overdosesAfter,
      })),
  };
}

export type MoudTruth = ReturnType<typeof moudTruth>;
