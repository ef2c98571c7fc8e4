import { randomUUID } from 'node:crypto';
import { bodyLimitBytes } from '../../lib/manifest.js';
import { now } from '../adapters/clock.js';
import {
  getKiosk,
  getStoredEvent,
  type KioskRecord,
  type StoredEvent,
  writeKioskEvent,
} from '../adapters/kiosk/kiosk-store.js';
import { logger } from '../adapters/logger.js';
import { newNotification } from '../adapters/notices/outbox.js';
import { count } from '../adapters/observability.js';
import { sealer } from '../adapters/sealer.js';
import { backoff } from '../core/backoff.js';
import { canonicalJson, withCanonicalEventId } from '../core/canonical.js';
import {
  conflict,
  invalid,
  invalidJson,
  payloadTooLarge,
  unauthorized,
  unavailable,
} from '../core/errors.js';
import { acceptedSecrets } from '../core/fleet/fleet.js';
import { takingTurns } from '../core/in-turn.js';
import { parseJsonBytes, TOO_DEEP_MESSAGE } from '../core/json.js';
import { occurredAtProblem, planKioskEvent, storedEventFields } from '../core/kiosk/kiosk-events.js';
import { fingerprint, signatureIsValid } from '../core/kiosk/signing.js';
import { type KioskEvent, kioskEventSchema } from '../core/schemas.js';
import { type HttpAnswer, type HttpRequest, json, routeGroup, validate } from '../http/route.js';

/** Contract: a kiosk body over 16 KiB (measured in raw bytes) is refused before any other check. */
export const KIOSK_BODY_LIMIT_BYTES = bodyLimitBytes.kiosk;
/** Concurrent events that race for the same stock re-plan from the item DynamoDB hands back. */
const MAX_ATTEMPTS = 40;

/**
 * Kiosk records as this container last read, wrote or was handed them. The signature is checked
 * against them locally, and every write is conditioned on the kiosk's version it was planned from,
 * so a record another container changed costs one more round trip (the write hands the item back),
 * never a wrong write. A new secret this copy does not know yet is read afresh when a signature fails.
 */
const kiosks = new Map<string, { kiosk: KioskRecord; readAt: number }>();
/** How long a record is trusted before it is read again anyway (real milliseconds). */
const KIOSK_CACHE_MS = 60_000;

/** One kiosk's events are planned and written one after the other within this container (core/in-turn.ts). */
const inTurn = takingTurns();

/** Reads under way, so that a burst of a new kiosk's events reads it once. */
const reading = new Map<string, Promise<KioskRecord | undefined>>();

async function kioskOf(kioskId: string, fresh = false): Promise<KioskRecord | undefined> {
  const cached = kiosks.get(kioskId);
  if (!fresh && cached && Date.now() - cached.readAt < KIOSK_CACHE_MS) return cached.kiosk;
  const under = fresh ? undefined : reading.get(kioskId);
  if (under) return under;
  const read = getKiosk(kioskId).then(
    (kiosk) => {
      reading.delete(kioskId);
      remember(kiosk);
      return kiosk;
    },
    (error) => {
      reading.delete(kioskId);
      throw error;
    },
  );
  reading.set(kioskId, read);
  return read;
}

function remember(kiosk: KioskRecord | undefined): void {
  if (!kiosk) return;
  // Requests of one container finish in any order: a copy never replaces a newer one.
  const held = kiosks.get(kiosk.kioskId)?.kiosk;
  if (held && versionOf(held) > versionOf(kiosk)) return;
  trust(kiosk);
}

/**
 * Keeps `kiosk` as this container's copy, whatever it held: what DynamoDB just handed back from a
 * refused write is the item as it is. A held copy newer than the table's can only be left from before
 * the table was restored from a backup; kept, every write planned from it would be refused until the
 * container ends.
 */
function trust(kiosk: KioskRecord): void {
  if (kiosks.size > 10_000) kiosks.clear();
  kiosks.set(kiosk.kioskId, { kiosk, readAt: Date.now() });
}

const versionOf = (kiosk: KioskRecord) => (kiosk as { version?: number }).version ?? -1;

/** The newest copy of a kiosk this container holds: `known`, or one a later write of this container left. */
function newest(known: KioskRecord): KioskRecord {
  const held = kiosks.get(known.kioskId)?.kiosk;
  return held && versionOf(held) > versionOf(known) ? held : known;
}

/** Tests: forget every kiosk record this container holds. */
export function forgetKiosks(): void {
  kiosks.clear();
}

/** Opened secrets by their sealed form (a kiosk has at most two in use: current and previous). */
const secrets = new Map<string, string>();

async function open(kioskId: string, sealed: string): Promise<string> {
  const cached = secrets.get(sealed);
  if (cached !== undefined) return cached;
  const secret = await sealer().open(sealed, `kiosk-secret:${kioskId}`);
  if (secrets.size > 10_000) secrets.clear();
  secrets.set(sealed, secret);
  return secret;
}

/**
 * The secret the request was signed with: the current one, or the previous one within the 24 hours
 * (backend time) after a rotation. Undefined when neither signed it.
 */
async function signingSecret(
  kiosk: KioskRecord,
  signed: { timestamp: string; signature: string },
  raw: Buffer,
): Promise<{ sealed: string; secret: string } | undefined> {
  for (const sealed of acceptedSecrets(kiosk, now())) {
    const secret = await open(kiosk.kioskId, sealed);
    if (signatureIsValid(secret, signed, raw, Date.now())) return { sealed, secret };
  }
  return undefined;
}

function header(request: HttpRequest, name: string): string | undefined {
  const headers = request.event.headers ?? {};
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  return key ? (headers[key] ?? undefined) : undefined;
}

function validEvent(body: unknown): KioskEvent {
  const event = validate(kioskEventSchema(), body, 'invalid_event');
  const problem = occurredAtProblem(event.occurredAt, now());
  if (problem) throw invalid('invalid_event', [{ path: 'occurredAt', message: problem }]);
  return event;
}

function sameOrConflict(stored: StoredEvent, bodyFingerprint: string, body: unknown): HttpAnswer {
  const eventId = String(stored.eventId);
  if (stored.fingerprint === bodyFingerprint) {
    count('kioskEventDuplicates');
    return json(200, { eventId, status: 'duplicate' });
  }
  validEvent(body);
  throw conflict('event_id_conflict', 'This eventId was already recorded with a different event.');
}

async function recordKioskEvent(request: HttpRequest): Promise<HttpAnswer> {
  const raw = request.rawBody;
  if (raw.length > KIOSK_BODY_LIMIT_BYTES) throw payloadTooLarge(KIOSK_BODY_LIMIT_BYTES);
  const kioskId = header(request, 'x-kiosk-id');
  const timestamp = header(request, 'x-kiosk-timestamp');
  const signature = header(request, 'x-kiosk-signature');
  if (!kioskId || !timestamp || !signature || !/^[A-Za-z0-9-]{3,64}$/.test(kioskId)) throw unauthorized();

  const parsed = parseJsonBytes(raw);
  // UUIDs are case-insensitive: an upper-case eventId keys the same event as its lower-case form.
  const body: unknown = parsed.ok ? withCanonicalEventId(parsed.value) : undefined;
  const claimedId = (body as { eventId?: unknown } | null)?.eventId;
  const eventId = typeof claimedId === 'string' && claimedId.length <= 64 ? claimedId : undefined;

  // No round trip in the common case: the kiosk as this container knows it, read afresh only when
  // it is not known yet or the signature fails (a rotated secret).
  let kiosk = await kioskOf(kioskId);
  if (!kiosk) throw unauthorized();
  let signing = await signingSecret(kiosk, { timestamp, signature }, raw);
  if (!signing) {
    kiosk = await kioskOf(kioskId, true);
    if (!kiosk) throw unauthorized();
    signing = await signingSecret(kiosk, { timestamp, signature }, raw);
  }
  if (!signing) throw unauthorized();
  // Duplicates are told apart by an HMAC of the body under the kiosk's fingerprint key, which a secret
  // rotation leaves as it is (kiosks of earlier versions: their first secret), so a retry stays a retry.
  const fingerprintKey = await open(kiosk.kioskId, kiosk.fingerprintSealed ?? kiosk.secretSealed);
  if (!parsed.ok && parsed.problem === 'not-json') throw invalidJson();
  if (!parsed.ok) throw invalid('invalid_event', [{ path: '', message: TOO_DEEP_MESSAGE }]);

  const bodyFingerprint = fingerprint(fingerprintKey, canonicalJson(body));
  let event: KioskEvent;
  try {
    event = validEvent(body);
  } catch (error) {
    // A retry of an event recorded while its occurredAt was in the window is still a duplicate: the
    // one case that reads the stored event first (a valid event finds it through its write's guard).
    const stored = eventId ? await getStoredEvent(kioskId, eventId) : undefined;
    if (stored) return sameOrConflict(stored, bodyFingerprint, body);
    throw error;
  }

  const taskId = randomUUID();
  const contact =
    event.type === 'dispense' && event.contactRequest
      ? {
          contactId: taskId,
          sealed: await sealer().seal(JSON.stringify(event.contactRequest), `contact:${taskId}`),
        }
      : undefined;

  const accepted: AcceptedEvent = {
    event,
    body,
    bodyFingerprint,
    signedBy: signing.sealed,
    writeId: randomUUID(),
    taskId,
    contact,
  };
  const known = kiosk;
  return inTurn(kioskId, () => recordInTurn(known, accepted));
}

/** A signed, valid event, ready to be planned against its kiosk. */
interface AcceptedEvent {
  readonly event: KioskEvent;
  readonly body: unknown;
  readonly bodyFingerprint: string;
  /** The sealed secret the signature was made with. */
  readonly signedBy: string;
  readonly writeId: string;
  readonly taskId: string;
  readonly contact?: { readonly contactId: string; readonly sealed: string };
}

/** Plans and writes one event, in turn with this container's other events of the kiosk (core/in-turn.ts). */
async function recordInTurn(known: KioskRecord, accepted: AcceptedEvent): Promise<HttpAnswer> {
  const { event, body, bodyFingerprint, signedBy, writeId, taskId, contact } = accepted;
  const kioskId = known.kioskId;
  let view = newest(known);
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt += 1) {
    const at = now();
    const plan = planKioskEvent(view, event, at, () => taskId, { verifiedSecret: signedBy });
    const notifications = plan.notifications.map((draft) =>
      newNotification(
        draft.topic,
        draft.body,
        at,
        `kiosk-event/${view.kioskId}/${event.eventId}/${draft.body.kind}/${draft.body.sku ?? ''}`,
      ),
    );
    const outcome = await writeKioskEvent({
      kiosk: view,
      eventItem: {
        ...storedEventFields(event),
        eventId: event.eventId,
        fingerprint: bodyFingerprint,
        writeId,
      },
      plan,
      notifications,
      contact,
      now: at,
    });
    if (outcome.status === 'exists') return sameOrConflict(outcome.stored, bodyFingerprint, body);
    if (outcome.status === 'recorded') {
      remember(outcome.kiosk);
      // Nothing else to do: the outbox table's stream publishes the notices this transaction wrote.
      count('kioskEventsRecorded');
      if (plan.task) count('tasksOpened');
      const quarantined = notifications.filter((n) => n.attributes.kind === 'quarantine').length;
      if (quarantined) count('stockQuarantined', quarantined);
      logger.info('kiosk event recorded', { kioskId, eventId: event.eventId, type: event.type, attempt });
      return json(201, { eventId: event.eventId, status: 'recorded' });
    }
    if (outcome.contended) {
      // A transaction on the same kiosk or counters was in flight (a kiosk flushing a queue): back off,
      // then plan from the newest copy held, not from one older than the wait.
      await backoff(attempt, 5, 1_000);
      view = newest(outcome.kiosk);
    } else {
      // The version moved on and came back with the item: plan again from it at once, since waiting
      // would only let it move on again. It is the kiosk as it is now, even when this container held a
      // copy with a higher version (trust()); at worst a fresh read that raced it costs one more attempt.
      trust(outcome.kiosk);
      view = outcome.kiosk;
    }
  }
  logger.warn('kiosk event gave up after repeated stock conflicts', { kioskId, eventId: event.eventId });
  throw unavailable('Too many concurrent changes to this kiosk; nothing was recorded, retry later.');
}

export const handler = routeGroup('kioskEvents', { 'POST /v1/kiosk/events': recordKioskEvent });
