import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical.js';
import { checkpoints } from './followup.js';
import type { Enrollment, EnrollmentEvent } from './schemas.js';

/**
 * The id of an enrollment is derived from what identifies it (participant and
 * day), so a retried enrollment finds itself without an extra lookup.
 */
export function enrollmentIdOf(participantRef: string, enrolledOn: string): string {
  return `E-${createHash('sha256').update(`${participantRef}\u0000${enrolledOn}`).digest('hex').slice(0, 24)}`;
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

export function urgentTaskId(enrollmentId: string, eventId: string): string {
  return `T-${enrollmentId}-overdose-${eventId}`;
}
