import { addDays, dayNumber, utcDayOf } from './days.js';
import { KioskReplay } from './fleet-truth.js';
import type { EnrollmentBody, Fact, KioskEventBody, MoudEventBody, Plan, UseReportBody } from './plan.js';

/**
 * What the reports must say, computed from what the simulator generated and
 * the backend acknowledged (201, or 200 for a fact it already had). Written
 * from the report definitions (functions/core/metrics/*.ts, `definitions` in
 * each report), not from the code that computes them: nothing here imports it.
 */

/** Every acknowledged fact, with its position in the order the backend recorded them. */
export type Acknowledged = ReadonlyMap<string, { readonly seq: number; readonly fact: Fact }>;

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
  useReports: number;
  survived: number;
  died: number;
  unknownOutcome: number;
  kits: number;
}

const emptyCell = (): NaloxoneCell => ({
  dispenseEvents: 0,
  contactRequests: 0,
  useReports: 0,
  survived: 0,
  died: 0,
  unknownOutcome: 0,
  kits: 0,
});

const rate = (numerator: number, denominator: number) => (denominator === 0 ? null : numerator / denominator);

function inOrder(acknowledged: Acknowledged, kind: Fact['kind']) {
  return [...acknowledged.values()].filter(({ fact }) => fact.kind === kind).sort((a, b) => a.seq - b.seq);
}

export function naloxoneTruth(plan: Plan, acknowledged: Acknowledged, from: string, to: string) {
  const siteOfKiosk = new Map(plan.kiosks.map((kiosk) => [kiosk.kioskId, kiosk.siteId]));
  // Stock per lot, quarantines and their swaps (scripts/sim/fleet-truth.ts): what a dispense could not cover.
  const replays = new Map(plan.kiosks.map((kiosk) => [kiosk.kioskId, new KioskReplay(kiosk.inventory)]));
  const kitsDispensed: Record<string, number> = Object.fromEntries(CATALOGUE.map((sku) => [sku, 0]));
  const total = emptyCell();
  const bySite = new Map<string, NaloxoneCell>();
  const byDay = new Map<string, NaloxoneCell>();
  let emsCalled = 0;
  let restockEvents = 0;
  let faultEvents = 0;
  let stockMismatchUnits = 0;
  const inRange = (day: string) => day >= from && day <= to;
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
      const { mismatch } = replay.dispense(event.items);
      if (counted) stockMismatchUnits += mismatch;
      if (!counted) continue;
      for (const cell of cellsOf(day, siteId)) {
        cell.dispenseEvents += 1;
        if (event.contactRequest) cell.contactRequests += 1;
        for (const { sku, quantity } of event.items) if (isNaloxoneKit(sku)) cell.kits += quantity;
      }
      for (const { sku, quantity } of event.items) kitsDispensed[sku] += quantity;
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
    for (const cell of cellsOf(report.usedOn, report.siteId ?? '(unknown)')) {
      cell.useReports += 1;
      if (report.outcome === 'survived') cell.survived += 1;
      else if (report.outcome === 'died') cell.died += 1;
      else cell.unknownOutcome += 1;
    }
    if (report.emsCalled === true) emsCalled += 1;
  }

  const sorted = <K extends 'siteId' | 'day'>(map: Map<string, NaloxoneCell>, key: K) =>
    [...map]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, cell]) => ({ [key]: name, ...cell }) as { [P in K]: string } & NaloxoneCell);

  return {
    from,
    to,
    dispenseEvents: total.dispenseEvents,
    kitsDispensed,
    naloxoneKitsDispensed: total.kits,
    contactRequests: total.contactRequests,
    useReports: total.useReports,
    survived: total.survived,
    died: total.died,
    unknownOutcome: total.unknownOutcome,
    survivalRate: rate(total.survived, total.survived + total.died),
    reportRate: rate(total.useReports, total.kits),
    emsCalled,
    restockEvents,
    faultEvents,
    stockMismatchUnits,
    bySite: sorted(bySite, 'siteId'),
    byDay: sorted(byDay, 'day'),
  };
}

export type NaloxoneTruth = ReturnType<typeof naloxoneTruth>;

/** HEDIS POD: treatment is continuous through day N unless 8 or more consecutive days lack coverage. */
const GAP = 8;
const RETENTION = [30, 90, 180] as const;
const DAYS_PER_MONTH = 365.25 / 12;

/** Days of coverage one recorded activity gives, from its own day on. */
function coverage(medication: EnrollmentBody['medication'], type: 'dose' | 'injection' | 'visit'): number {
  if (type === 'injection') {
    if (medication === 'buprenorphine-er-monthly') return 31;
    if (medication === 'buprenorphine-er-weekly') return 7;
    if (medication === 'naltrexone-er') return 28;
  }
  return 1;
}

/** Is treatment continuous through day `n` (day 0 = enrolledOn)? */
function continuousThrough(
  n: number,
  medication: EnrollmentBody['medication'],
  activities: readonly { day: number; type: 'dose' | 'injection' | 'visit' }[],
): boolean {
  // Coverage intervals from day 0 on, merged in order; any hole of GAP days or more within 0..n breaks it.
  const intervals = activities
    .filter((activity) => activity.day >= 0)
    .map((activity) => [activity.day, activity.day + coverage(medication, activity.type) - 1] as const)
    .sort((a, b) => a[0] - b[0]);
  let coveredThrough = -1;
  for (const [start, end] of intervals) {
    if (start > n) break;
    if (start - coveredThrough - 1 >= GAP) return false;
    coveredThrough = Math.max(coveredThrough, end);
  }
  return n - coveredThrough < GAP;
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

export function moudTruth(_plan: Plan, acknowledged: Acknowledged, from: string, to: string) {
  const enrollments = new Map<string, EnrollmentBody>();
  for (const { fact } of inOrder(acknowledged, 'enrollment')) {
    if (fact.kind === 'enrollment') enrollments.set(fact.enrollment.participantRef, fact.enrollment);
  }
  const eventsOf = new Map<string, MoudEventBody[]>();
  for (const { fact } of inOrder(acknowledged, 'moud-event')) {
    if (fact.kind !== 'moud-event') continue;
    const list = eventsOf.get(fact.participantRef) ?? [];
    list.push(fact.event);
    eventsOf.set(fact.participantRef, list);
  }

  const total = emptyTotals();
  const bySite = new Map<string, MoudTotals>();
  const toNumber = dayNumber(to);
  for (const enrollment of enrollments.values()) {
    if (enrollment.enrolledOn < from || enrollment.enrolledOn > to) continue;
    const start = dayNumber(enrollment.enrolledOn);
    let endedOn: string | undefined;
    let reason: 'died' | 'disenrolled' | undefined;
    const overdoseDays: string[] = [];
    const activities: { day: number; type: 'dose' | 'injection' | 'visit' }[] = [];
    // In the order recorded: only the first ending counts, and an overdose counts if it falls within follow-up as then known.
    for (const event of eventsOf.get(enrollment.participantRef) ?? []) {
      if (event.type === 'dose' || event.type === 'injection' || event.type === 'visit') {
        activities.push({ day: dayNumber(event.occurredOn) - start, type: event.type });
      }
      if (event.type === 'overdose') {
        const within =
          event.occurredOn >= enrollment.enrolledOn && (endedOn === undefined || event.occurredOn <= endedOn);
        if (within) overdoseDays.push(event.occurredOn);
      }
      if (
        endedOn === undefined &&
        (event.type === 'disenrolled' || (event.type === 'overdose' && event.fatal))
      ) {
        endedOn = [event.occurredOn, enrollment.enrolledOn].sort()[1];
        reason = event.type === 'disenrolled' ? 'disenrolled' : 'died';
      }
    }
    const endedByTo = endedOn !== undefined && endedOn <= to;
    const lastDay = endedByTo ? dayNumber(endedOn as string) : toNumber;
    if (!bySite.has(enrollment.siteId)) bySite.set(enrollment.siteId, emptyTotals());
    for (const totals of [total, bySite.get(enrollment.siteId) as MoudTotals]) {
      totals.enrollments += 1;
      totals.priorOverdoses += enrollment.overdosesPrior12m;
      if (!endedByTo) totals.activeAtTo += 1;
      if (endedByTo && reason === 'died') totals.deaths += 1;
      if (endedByTo && reason === 'disenrolled') totals.disenrollments += 1;
      totals.overdosesAfter += overdoseDays.filter((day) => day <= to).length;
      totals.personDays += lastDay - start + 1;
      for (const n of RETENTION) {
        if (addDays(enrollment.enrolledOn, n) > to) continue;
        totals.eligible[n] += 1;
        if (continuousThrough(n, enrollment.medication, activities)) totals.retained[n] += 1;
      }
    }
  }

  const per1000 = (events: number, months: number) => (months === 0 ? null : (events / months) * 1000);
  const beforeMonths = 12 * total.enrollments;
  const afterMonths = total.personDays / DAYS_PER_MONTH;
  const before = per1000(total.priorOverdoses, beforeMonths);
  const after = per1000(total.overdosesAfter, afterMonths);
  return {
    from,
    to,
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
