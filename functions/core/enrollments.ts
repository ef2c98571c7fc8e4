import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { checkpoints } from './followup.js';
import { type Activity, RETENTION_DAYS, retentionFlags } from './metrics/moud.js';
import type { Enrollment, EnrollmentEvent, Medication } from './schemas.js';
import { enrollmentTaskId } from './tasks.js';

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

/** Which activity set an event adds its day to. */
export function activityAttribute(
  type: EnrollmentEvent['type'],
): 'doseDays' | 'injectionDays' | 'visitDays' | undefined {
  if (type === 'dose') return 'doseDays';
  if (type === 'injection') return 'injectionDays';
  if (type === 'visit') return 'visitDays';
  return undefined;
}

/** The urgent task an overdose event opens: one per event, its id opaque (core/tasks.ts). */
export function urgentTaskId(
  enrollment: { readonly enrollmentId: string; readonly taskKey?: string },
  eventId: string,
): string {
  return enrollmentTaskId(enrollment, `overdose-${eventId}`);
}

/** What the event changes, decided from the enrollment as last read. */
export interface EnrollmentChange {
  readonly activity?: {
    readonly attribute: 'doseDays' | 'injectionDays' | 'visitDays';
    readonly day: string;
  };
  readonly overdose: boolean;
  readonly ended?: { readonly on: string; readonly reason: 'disenrolled' | 'died' };
  /** Retention flags after the event (stored on the enrollment; their changes move the cohort counters). */
  readonly retained: Record<string, boolean>;
  /** Counter changes on the cohort row (the enrollment's day and site). */
  readonly counters: Record<string, number>;
}

export interface EnrollmentSnapshot {
  readonly enrolledOn: string;
  readonly medication: string;
  readonly doseDays?: Iterable<string>;
  readonly injectionDays?: Iterable<string>;
  readonly visitDays?: Iterable<string>;
  readonly endedOn?: string;
  readonly retained?: Record<string, boolean>;
}

/**
 * The cohort counters an event moves (see functions/core/metrics/moud.ts): retention flags that
 * flip, an overdose within the follow-up, the day the follow-up ended. Only the first ending counts.
 */
export function planEnrollmentEvent(
  enrollment: EnrollmentSnapshot,
  event: EnrollmentEvent,
): EnrollmentChange {
  const counters: Record<string, number> = {};
  const attribute = activityAttribute(event.type);
  const days = {
    dose: new Set(enrollment.doseDays ?? []),
    injection: new Set(enrollment.injectionDays ?? []),
    visit: new Set(enrollment.visitDays ?? []),
  };
  if (attribute) days[event.type as 'dose' | 'injection' | 'visit'].add(event.occurredOn);
  const activities: Activity[] = (['dose', 'injection', 'visit'] as const).flatMap((type) =>
    [...days[type]].map((day) => ({ day, type })),
  );
  const retained = retentionFlags(enrollment.medication as Medication, enrollment.enrolledOn, activities);
  const before = enrollment.retained ?? {};
  for (const n of RETENTION_DAYS) {
    const was = before[String(n)] === true;
    if (retained[n] !== was) counters[`retained${n}`] = retained[n] ? 1 : -1;
  }

  const withinFollowUp =
    event.occurredOn >= enrollment.enrolledOn &&
    (!enrollment.endedOn || event.occurredOn <= enrollment.endedOn);
  const overdose = event.type === 'overdose';
  if (overdose && withinFollowUp) counters[`od:${event.occurredOn}`] = 1;

  let ended: EnrollmentChange['ended'];
  if (!enrollment.endedOn && (event.type === 'disenrolled' || (event.type === 'overdose' && event.fatal))) {
    // The later of two ISO days (strings: Math.max does not apply). An ending cannot precede the enrollment.
    // biome-ignore lint/complexity/useMathMinMax: compares YYYY-MM-DD strings
    const on = event.occurredOn < enrollment.enrolledOn ? enrollment.enrolledOn : event.occurredOn;
    ended = { on, reason: event.type === 'disenrolled' ? 'disenrolled' : 'died' };
    counters[`end:${on}`] = 1;
    counters[`${ended.reason}:${on}`] = 1;
  }
  return {
    activity: attribute ? { attribute, day: event.occurredOn } : undefined,
    overdose,
    ended,
    retained: Object.fromEntries(RETENTION_DAYS.map((n) => [String(n), retained[n]])),
    counters,
  };
}
