import { createHash } from 'node:crypto';
import { addCounter, type Counters } from '../aggregates.js';
import { canonicalJson } from '../canonical.js';
import { RETENTION_DAYS, retentionFlags } from '../metrics/moud.js';
import type { Enrollment, EnrollmentEvent, Medication } from '../schemas.js';
import { enrollmentTaskId } from '../staff/tasks.js';
import { checkpoints } from './followup.js';
import {
  type Consent,
  consentOn,
  type FollowUpEnd,
  followUpEnd,
  type HistoryEntry,
  historyEntryOf,
  withinFollowUp,
} from './moud-history.js';

/**
 * The id of an enrollment is derived from what identifies it (participant and day), so a retried
 * enrollment finds itself without an extra lookup: a keyed HMAC of this message (adapters/ids.ts),
 * never a plain hash, which anyone could reverse by trying participant refs and days.
 */
export function enrollmentIdMessage(participantRef: string, enrolledOn: string): string {
  return `enrollment\u0000${participantRef}\u0000${enrolledOn}`;
}

/** The enrollment id from the MAC of its message: 128 bits, hex. */
export function enrollmentIdFromMac(mac: Uint8Array): string {
  return `E-${Buffer.from(mac).toString('hex').slice(0, 32)}`;
}

/** `enrolledOn` at the backend's time of day now: the origin of every checkpoint. */
export function enrolledAtOf(enrolledOn: string, now: Date): string {
  return `${enrolledOn}T${now.toISOString().slice(11)}`;
}

/**
 * Fingerprint of everything but the contact details: the phone number is
 * compared by opening the sealed copy, never kept in a guessable hash.
 */
export function enrollmentFingerprint(enrollment: Enrollment): string {
  const { contact: _contact, ...rest } = enrollment;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export function eventFingerprint(event: EnrollmentEvent): string {
  return createHash('sha256').update(canonicalJson(event)).digest('hex');
}

export function enrollmentAnswer(enrollmentId: string, enrolledAt: string) {
  return { enrollmentId, followUps: checkpoints(enrolledAt) };
}

/** The urgent task an overdose event opens: one per event, its id opaque (core/tasks.ts). */
export function urgentTaskId(
  enrollment: { readonly enrollmentId: string; readonly taskKey?: string },
  eventId: string,
): string {
  return enrollmentTaskId(enrollment, `overdose-${eventId}`);
}

/** What of an enrollment its cohort figures depend on, besides its history. */
export interface EnrollmentFacts {
  readonly enrolledOn: string;
  readonly medication: string;
  readonly overdosesPrior12m: number;
}

/**
 * Everything one enrollment adds to the cohort counters of its enrollment day and site (see
 * functions/core/metrics/moud.ts), derived from its whole recorded history:
 *   enrollments 1, priorOverdoses, medication:<m> 1   the enrollment itself
 *   retained30 / retained90 / retained180              1 when treatment is continuous through day N
 *   od:<day>                                           overdoses (fatal or not) within the follow-up
 *   end:<day> and died:<day> or disenrolled:<day>       the day the follow-up ended (followUpEnd)
 * A pure function of the set of entries: the same history in any order gives the same counters.
 */
export function contribution(facts: EnrollmentFacts, history: readonly HistoryEntry[]): Counters {
  const counters: Counters = {};
  addCounter(counters, 'enrollments');
  if (facts.overdosesPrior12m) addCounter(counters, 'priorOverdoses', facts.overdosesPrior12m);
  addCounter(counters, `medication:${facts.medication}`);
  const retained = retentionFlags(facts.medication as Medication, facts.enrolledOn, history);
  for (const n of RETENTION_DAYS) if (retained[n]) addCounter(counters, `retained${n}`);
  const end = followUpEnd(facts.enrolledOn, history);
  for (const entry of history) {
    if (entry.type === 'overdose' && withinFollowUp(facts.enrolledOn, end, entry.day))
      addCounter(counters, `od:${entry.day}`);
  }
  if (end) {
    addCounter(counters, `end:${end.on}`);
    addCounter(counters, `${end.reason}:${end.on}`);
  }
  return counters;
}

/** The counter changes that turn `before` into `after` (zeros left out). */
export function counterDiff(before: Readonly<Counters>, after: Readonly<Counters>): Counters {
  const diff: Counters = {};
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const change = (after[name] ?? 0) - (before[name] ?? 0);
    if (change !== 0) diff[name] = change;
  }
  return diff;
}

/** An event as it was stored by versions that kept no history on the enrollment. */
export interface StoredEvent {
  readonly type: EnrollmentEvent['type'];
  readonly occurredOn: string;
  readonly fatal?: boolean;
  readonly daysSupply?: number;
  readonly consent?: Consent;
}

/**
 * What an enrollment recorded by an earlier version (no `contribution` kept on it) has added to
 * the cohort counters: its own counters, the retention flags it kept, and the overdoses and the
 * end as that version counted them, in the order the events were recorded (an overdose counted
 * when it fell within the follow-up as then known; the first ending recorded). The first event
 * recorded since replaces it with `contribution`, by difference.
 */
export function legacyContribution(
  facts: EnrollmentFacts & { readonly retained?: Readonly<Record<string, boolean>> },
  eventsInRecordedOrder: readonly StoredEvent[],
): Counters {
  const counters: Counters = {};
  addCounter(counters, 'enrollments');
  if (facts.overdosesPrior12m) addCounter(counters, 'priorOverdoses', facts.overdosesPrior12m);
  addCounter(counters, `medication:${facts.medication}`);
  for (const n of RETENTION_DAYS)
    if (facts.retained?.[String(n)] === true) addCounter(counters, `retained${n}`);
  let endedOn: string | undefined;
  for (const event of eventsInRecordedOrder) {
    const day = event.occurredOn;
    if (event.type === 'overdose' && day >= facts.enrolledOn && (!endedOn || day <= endedOn))
      addCounter(counters, `od:${day}`);
    if (!endedOn && (event.type === 'disenrolled' || (event.type === 'overdose' && event.fatal))) {
      // biome-ignore lint/complexity/useMathMinMax: compares YYYY-MM-DD strings
      endedOn = day < facts.enrolledOn ? facts.enrolledOn : day;
      addCounter(counters, `end:${endedOn}`);
      addCounter(counters, `${event.type === 'disenrolled' ? 'disenrolled' : 'died'}:${endedOn}`);
    }
  }
  return counters;
}

/** The enrollment as an event is planned against: its facts, history and what it has added so far. */
export interface EnrollmentSnapshot extends EnrollmentFacts {
  readonly consent: Consent;
  readonly history: readonly HistoryEntry[];
  readonly contribution: Readonly<Counters>;
}

/** What recording one event changes. */
export interface EnrollmentChange {
  readonly entry: HistoryEntry;
  /** The whole history with the event. */
  readonly history: readonly HistoryEntry[];
  /** The enrollment's contribution after the event, and the counter changes that get there. */
  readonly contribution: Counters;
  readonly counters: Counters;
  readonly end?: FollowUpEnd;
  /**
   * A non-fatal overdose not dated after the end of the follow-up (as the whole history now says):
   * an urgent task opens at once. (One dated before enrolledOn opens one too, as the contract has
   * every non-fatal overdose do; it is not counted in the figures.)
   */
  readonly urgent: boolean;
  /** Outreach consent in force on `today` before and after the event. */
  readonly outreachBefore: boolean;
  readonly outreachAfter: boolean;
}

/**
 * What an event changes, decided from the whole history with it: the contribution is derived
 * again from everything recorded and written as the difference, so the counters after any set
 * of events are the same whatever order they came in.
 */
export function planEnrollmentEvent(
  enrollment: EnrollmentSnapshot,
  event: EnrollmentEvent,
  today: string,
): EnrollmentChange {
  const entry = historyEntryOf(event);
  const history = [...enrollment.history, entry];
  const after = contribution(enrollment, history);
  const end = followUpEnd(enrollment.enrolledOn, history);
  return {
    entry,
    history,
    contribution: after,
    counters: counterDiff(enrollment.contribution, after),
    end,
    urgent: entry.type === 'overdose' && !entry.fatal && (!end || entry.day <= end.on),
    outreachBefore: consentOn(enrollment.consent, enrollment.history, today).outreach,
    outreachAfter: consentOn(enrollment.consent, history, today).outreach,
  };
}
