import type { EnrollmentEvent, Medication } from '../schemas.js';

/**
 * An enrollment's recorded history, and what follows from it whatever the order in which it
 * was recorded: coverage (days' supply carried forward), the end of the follow-up, the consent
 * in force on a day. Every MOUD figure and every follow-up decision is derived from the whole
 * history through the functions here, never from the event that happened to arrive last, so
 * late and back-dated entries change nothing but what they add.
 */
export type HistoryEntry =
  | { readonly type: 'dose'; readonly day: string; readonly daysSupply: number }
  | { readonly type: 'injection' | 'visit' | 'missed-visit' | 'disenrolled'; readonly day: string }
  | { readonly type: 'overdose'; readonly day: string; readonly fatal: boolean }
  | { readonly type: 'consent'; readonly day: string; readonly outreach: boolean; readonly part2: boolean };

export interface Consent {
  readonly outreach: boolean;
  readonly part2: boolean;
}

/** What an event adds to the history: its day and meaning, never its id or who recorded it. */
export function historyEntryOf(event: EnrollmentEvent): HistoryEntry {
  const day = event.occurredOn;
  switch (event.type) {
    case 'dose':
      return { type: 'dose', day, daysSupply: event.daysSupply ?? 1 };
    case 'overdose':
      return { type: 'overdose', day, fatal: event.fatal === true };
    case 'consent':
      return {
        type: 'consent',
        day,
        outreach: event.consent?.outreach === true,
        part2: event.consent?.part2 === true,
      };
    default:
      return { type: event.type, day };
  }
}

/**
 * One entry as it is kept on the enrollment item (a list of short strings, so that years of
 * daily doses stay far below DynamoDB's 400 KB item limit): `2026-03-01 dose 14`,
 * `2026-03-05 overdose nonfatal`, `2026-03-09 consent outreach=false part2=true`, `2026-03-09 visit`.
 */
export function encodeEntry(entry: HistoryEntry): string {
  switch (entry.type) {
    case 'dose':
      return `${entry.day} dose ${entry.daysSupply}`;
    case 'overdose':
      return `${entry.day} overdose ${entry.fatal ? 'fatal' : 'nonfatal'}`;
    case 'consent':
      return `${entry.day} consent outreach=${entry.outreach} part2=${entry.part2}`;
    default:
      return `${entry.day} ${entry.type}`;
  }
}

export function decodeEntry(text: string): HistoryEntry {
  const [day, type, ...rest] = text.split(' ');
  switch (type) {
    case 'dose':
      return { type, day, daysSupply: Number(rest[0] ?? 1) };
    case 'overdose':
      return { type, day, fatal: rest[0] === 'fatal' };
    case 'consent':
      return { type, day, outreach: rest.includes('outreach=true'), part2: rest.includes('part2=true') };
    case 'injection':
    case 'visit':
    case 'missed-visit':
    case 'disenrolled':
      return { type, day };
    default:
      throw new Error(`not a history entry: ${text}`);
  }
}

const DAY_MS = 86_400_000;
/** Days from `from` to `day` (negative before it). */
export const daysBetween = (from: string, day: string): number =>
  Math.round((Date.parse(day) - Date.parse(from)) / DAY_MS);

/**
 * Days one administration covers from its own day (HEDIS POD days of coverage): an injection of
 * buprenorphine-er-monthly 31, buprenorphine-er-weekly 7, naltrexone-er 28; a visit, and an
 * injection of a daily medication, 1. A dose covers its `daysSupply` (see `coverage`).
 */
export function coverageDays(medication: Medication, type: 'dose' | 'injection' | 'visit'): number {
  if (type !== 'injection') return 1;
  if (medication === 'buprenorphine-er-monthly') return 31;
  if (medication === 'buprenorphine-er-weekly') return 7;
  if (medication === 'naltrexone-er') return 28;
  return 1;
}

/** Inclusive day indexes from enrolledOn (day 0); negative before it. */
export type Interval = readonly [start: number, end: number];

/**
 * The days recorded treatment covers, as sorted, merged intervals of day indexes from enrolledOn.
 *
 * Doses are medication in hand: taken in order of their day, each covers `daysSupply` days from
 * its day or, when medication from earlier doses is still in hand, from the day after that supply
 * ends (HEDIS and PDC carry overlapping supplies forward; an early refill extends coverage, and
 * two doses on one day hold both supplies). Injections and visits cover their own days
 * (`coverageDays`): a depot injection given early does not stack. Sorting by day first makes the
 * result a function of the set of entries, whatever order they were recorded in.
 */
export function coverage(
  medication: Medication,
  enrolledOn: string,
  history: readonly HistoryEntry[],
): Interval[] {
  const intervals: [number, number][] = [];
  const doses = history
    .filter((entry): entry is Extract<HistoryEntry, { type: 'dose' }> => entry.type === 'dose')
    .map((entry) => ({ index: daysBetween(enrolledOn, entry.day), supply: entry.daysSupply }))
    .sort((a, b) => a.index - b.index);
  let inHandUntil = Number.NEGATIVE_INFINITY;
  for (const { index, supply } of doses) {
    const start = Math.max(index, inHandUntil + 1);
    inHandUntil = start + supply - 1;
    intervals.push([start, inHandUntil]);
  }
  for (const entry of history) {
    if (entry.type !== 'injection' && entry.type !== 'visit') continue;
    const start = daysBetween(enrolledOn, entry.day);
    intervals.push([start, start + coverageDays(medication, entry.type) - 1]);
  }
  intervals.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const merged: [number, number][] = [];
  for (const [start, end] of intervals) {
    const last = merged.at(-1);
    if (last && start <= last[1] + 1) last[1] = Math.max(last[1], end);
    else merged.push([start, end]);
  }
  return merged;
}

export interface FollowUpEnd {
  readonly on: string;
  readonly reason: 'disenrolled' | 'died';
}

/**
 * When the follow-up ended: the earliest day of a `disenrolled` event or a fatal overdose (not
 * before enrolledOn). A disenrollment and a death on the same day end it as a death. Undefined
 * while neither is recorded.
 */
export function followUpEnd(enrolledOn: string, history: readonly HistoryEntry[]): FollowUpEnd | undefined {
  let end: FollowUpEnd | undefined;
  for (const entry of history) {
    const reason =
      entry.type === 'disenrolled'
        ? ('disenrolled' as const)
        : entry.type === 'overdose' && entry.fatal
          ? ('died' as const)
          : undefined;
    if (!reason) continue;
    const on = entry.day < enrolledOn ? enrolledOn : entry.day;
    if (!end || on < end.on || (on === end.on && reason === 'died')) end = { on, reason };
  }
  return end;
}

/**
 * The consent in force on `day`: the one of the latest `consent` event on or before it, else the
 * enrollment's own. Consent events of one day are read together, the most protective way (each of
 * outreach and part2 holds only if every one of them gives it), so their recording order does
 * not matter.
 */
export function consentOn(enrollment: Consent, history: readonly HistoryEntry[], day: string): Consent {
  let latest: string | undefined;
  for (const entry of history) {
    if (entry.type === 'consent' && entry.day <= day && (!latest || entry.day > latest)) latest = entry.day;
  }
  if (!latest) return enrollment;
  const sameDay = history.filter(
    (entry): entry is Extract<HistoryEntry, { type: 'consent' }> =>
      entry.type === 'consent' && entry.day === latest,
  );
  return {
    outreach: sameDay.every((entry) => entry.outreach),
    part2: sameDay.every((entry) => entry.part2),
  };
}

/** Whether an overdose on `day` falls within the follow-up: from enrolledOn through its end, if it ended. */
export function withinFollowUp(enrolledOn: string, end: FollowUpEnd | undefined, day: string): boolean {
  return day >= enrolledOn && (!end || day <= end.on);
}
