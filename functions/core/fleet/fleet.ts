import {
  fefoOrder,
  type LotEntry,
  type QuarantineEntry,
  type StockView,
  unlottedUnits,
} from '../kiosk/stock.js';
import {
  DEFAULT_EXPIRY_ALERT_DAYS,
  DEFAULT_OFFLINE_AFTER_MINUTES,
  FAULT_CODES,
  type FaultCode,
  SKUS,
  type Sku,
} from '../schemas.js';
import { type Condition, type ItemChange, mapChange, merge, noChange, type Value } from '../updates.js';
import { outside, rangeFor } from './storage-catalogue.js';

/**
 * The kiosk fleet's rules, in one place: when a kiosk is silent, what its status is, when its stock
 * is quarantined, which faults are open, when a lot's expiry alert is due, and how a secret rotates.
 * Everything that answers "offline", "overdue" or "low" is derived here, on the server, once.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
/** How long the previous secret keeps working after a rotation, in backend time (contract). */
export const SECRET_GRACE_MS = DAY_MS;

/** One open fault of a code: when it was first and last reported, and how often. */
export interface OpenFault {
  readonly firstOccurredAt: string;
  readonly lastOccurredAt: string;
  readonly lastEventId: string;
  readonly count: number;
  readonly temperatureC?: number;
}

/** What the fleet rules read of a kiosk item, besides its stock. */
export interface FleetState {
  readonly createdAt?: string;
  readonly offlineAfterMinutes?: number;
  readonly expiryAlertDays?: number;
  /** Backend time the last new event arrived. */
  readonly lastSeenAt?: string;
  /** When the kiosk goes (went) offline if nothing more arrives: lastSeenAt (or registration) + offlineAfterMinutes. */
  readonly silentAt?: string;
  /** 'online' while the silence sweep watches the kiosk (the sparse index key); gone once it is marked offline. */
  readonly watch?: string;
  /** The outage the sweep (or the kiosk's return) recorded: since when, counted up to when, ended when. */
  readonly offlineSince?: string;
  readonly accruedTo?: string;
  readonly outageEndedAt?: string;
  /** When the sweep next has offline time of this outage to count (the byOutage index's sort key). */
  readonly outageDueAt?: string;
  readonly openFaults?: Partial<Record<FaultCode, OpenFault>>;
  readonly lastTemperatureC?: number;
  readonly lastTemperatureAt?: string;
  readonly secretIssuedAt?: string;
  readonly secretConfirmedAt?: string;
  readonly previousSecretSealed?: string;
  readonly previousSecretUntil?: string;
}

export interface FleetKiosk extends StockView, FleetState {
  readonly kioskId: string;
  readonly siteId: string;
  readonly siteName?: string;
}

export const offlineAfterMinutesOf = (kiosk: FleetState) =>
  kiosk.offlineAfterMinutes ?? DEFAULT_OFFLINE_AFTER_MINUTES;
export const expiryAlertDaysOf = (kiosk: FleetState) => kiosk.expiryAlertDays ?? DEFAULT_EXPIRY_ALERT_DAYS;

/** When a kiosk last heard of at `heardAt` goes silent. */
export function silentAtOf(heardAt: string, offlineAfterMinutes: number): string {
  return new Date(Date.parse(heardAt) + offlineAfterMinutes * MINUTE_MS).toISOString();
}

/** The silence deadline as stored, or as it follows from what the item holds (items of earlier versions). */
export function silenceDeadline(kiosk: FleetState): string | undefined {
  if (kiosk.silentAt) return kiosk.silentAt;
  const heard = kiosk.lastSeenAt ?? kiosk.createdAt;
  return heard ? silentAtOf(heard, offlineAfterMinutesOf(kiosk)) : undefined;
}

/** Contract: offline once nothing has arrived for longer than offlineAfterMinutes. */
export function isSilent(kiosk: FleetState, now: Date): boolean {
  const deadline = silenceDeadline(kiosk);
  return deadline !== undefined && now.getTime() > Date.parse(deadline);
}

/** The fields a kiosk gets at registration: it is watched for silence from then on. */
export function registrationFleetFields(
  createdAt: string,
  offlineAfterMinutes: number,
  expiryAlertDays: number,
): Record<string, unknown> {
  return {
    offlineAfterMinutes,
    expiryAlertDays,
    silentAt: silentAtOf(createdAt, offlineAfterMinutes),
    watch: 'online',
    lotStock: {},
    quarantine: {},
    openFaults: {},
  };
}

export interface NoticeDraft {
  readonly topic: 'restock' | 'kiosk-ops';
  readonly body: Record<string, string | number>;
}

export interface Liveness {
  readonly change: ItemChange;
  readonly notifications: readonly NoticeDraft[];
}

/**
 * A new event arrived at `now`: the kiosk is heard. Its silence deadline moves on; a kiosk the sweep
 * had marked offline (or one silent past its deadline that the sweep has not reached yet) is back,
 * which ends its outage and sends the one "heard again" message. Conditioned on the outage state the
 * plan saw, so a sweep marking the kiosk offline meanwhile makes the event plan again.
 */
export function livenessOf(kiosk: FleetKiosk, now: Date): Liveness {
  const at = now.toISOString();
  const heard: ItemChange = {
    actions: [
      { set: ['lastSeenAt'], value: at },
      { set: ['silentAt'], value: silentAtOf(at, offlineAfterMinutesOf(kiosk)) },
      { set: ['watch'], value: 'online' },
    ],
    conditions: [],
  };
  const back = (offlineSince: string): NoticeDraft => ({
    topic: 'kiosk-ops',
    body: {
      kind: 'kiosk-heard-again',
      kioskId: kiosk.kioskId,
      siteId: kiosk.siteId,
      offlineSince,
      ...(kiosk.lastSeenAt ? { lastSeenAt: kiosk.lastSeenAt } : {}),
      at,
    },
  });

  if (kiosk.offlineSince && !kiosk.outageEndedAt) {
    // Marked offline by the sweep: this event ends the outage.
    return {
      change: merge(heard, {
        actions: [
          { set: ['outageEndedAt'], value: at },
          { set: ['outageDueAt'], value: at },
        ],
        conditions: [
          { path: ['offlineSince'], op: '=', value: kiosk.offlineSince },
          { notExists: ['outageEndedAt'] },
        ],
      }),
      notifications: [back(kiosk.offlineSince)],
    };
  }
  const deadline = silenceDeadline(kiosk);
  if (!kiosk.offlineSince && deadline && isSilent(kiosk, now)) {
    // Silent past its deadline, back before the sweep came by: the outage is recorded all the same.
    return {
      change: merge(heard, {
        actions: [
          { set: ['offlineSince'], value: deadline },
          { set: ['accruedTo'], value: deadline },
          { set: ['outageEndedAt'], value: at },
          { set: ['outageDueAt'], value: at },
          { set: ['outage'], value: 'accrue' },
        ],
        conditions: [
          { notExists: ['offlineSince'] },
          kiosk.silentAt
            ? { path: ['silentAt'], op: '=', value: kiosk.silentAt }
            : { notExists: ['silentAt'] },
        ],
      }),
      notifications: [back(deadline)],
    };
  }
  // Heard while online (or while an ended outage waits for the sweep to count it).
  const condition: Condition = kiosk.offlineSince
    ? { exists: ['outageEndedAt'] }
    : { notExists: ['offlineSince'] };
  return { change: merge(heard, { actions: [], conditions: [condition] }), notifications: [] };
}

/** The label versions of what a kiosk holds of a SKU (undefined: stock judged by the current label). */
function versionsHeld(kiosk: StockView, sku: Sku): (string | undefined)[] {
  const versions: (string | undefined)[] = [];
  if (unlottedUnits(kiosk, sku) > 0) versions.push(undefined);
  for (const [, entry] of fefoOrder(kiosk.lotStock?.[sku])) versions.push(entry.labelVersion);
  return versions;
}

export interface QuarantinePlan {
  readonly change: ItemChange;
  readonly notifications: readonly NoticeDraft[];
  /** Units put in quarantine, per SKU (counted on the reading's day). */
  readonly units: Partial<Record<Sku, number>>;
}

/**
 * A temperature reading (heartbeat or fault) outside a stocked SKU's label range puts that SKU's
 * stock at the kiosk in quarantine: still counted, no longer available, one alert to `restock` to
 * swap it. A SKU already in quarantine, or with nothing in stock, is left as it is.
 */
export function quarantineFor(
  kiosk: FleetKiosk,
  temperatureC: number | undefined,
  eventId: string,
  now: Date,
): QuarantinePlan {
  if (temperatureC === undefined) return { change: noChange, notifications: [], units: {} };
  const at = now.toISOString();
  const entries: Record<string, Value> = {};
  const conditions: Condition[] = [];
  const notifications: NoticeDraft[] = [];
  const units: Partial<Record<Sku, number>> = {};
  for (const sku of SKUS) {
    const held = kiosk.stock[sku] ?? 0;
    if (held <= 0 || kiosk.quarantine?.[sku]) continue;
    const range = rangeFor(sku, versionsHeld(kiosk, sku));
    if (!range || !outside(range, temperatureC)) continue;
    entries[sku] = { since: at, temperatureC, eventId, units: held } satisfies QuarantineEntry;
    units[sku] = held;
    // The units counted are the units held: a dispense meanwhile makes the plan start again.
    conditions.push({ path: ['stock', sku], op: '=', value: held });
    if (kiosk.quarantine !== undefined) conditions.push({ notExists: ['quarantine', sku] });
    notifications.push({
      topic: 'restock',
      body: {
        kind: 'quarantine',
        kioskId: kiosk.kioskId,
        siteId: kiosk.siteId,
        sku,
        units: held,
        temperatureC,
        minC: range.minC,
        maxC: range.maxC,
        at,
      },
    });
  }
  const change = merge(mapChange('quarantine', { set: entries }, kiosk.quarantine !== undefined), {
    actions: [],
    conditions,
  });
  return { change, notifications, units };
}

/** The kiosk's last temperature reading, shown to staff. */
export function temperatureReading(temperatureC: number | undefined, now: Date): ItemChange {
  if (temperatureC === undefined) return noChange;
  return {
    actions: [
      { set: ['lastTemperatureC'], value: temperatureC },
      { set: ['lastTemperatureAt'], value: now.toISOString() },
    ],
    conditions: [],
  };
}

/** A fault stays open (status `faulted`) until a restock (a service visit) that occurred after it. */
export function openFault(
  kiosk: FleetKiosk,
  fault: { code: FaultCode; occurredAt: string; eventId: string; temperatureC?: number },
): ItemChange {
  const known = kiosk.openFaults?.[fault.code];
  const occurred = new Date(fault.occurredAt).toISOString();
  const entry = {
    firstOccurredAt: known && known.firstOccurredAt < occurred ? known.firstOccurredAt : occurred,
    lastOccurredAt: known && known.lastOccurredAt > occurred ? known.lastOccurredAt : occurred,
    lastEventId: known && known.lastOccurredAt > occurred ? known.lastEventId : fault.eventId,
    count: (known?.count ?? 0) + 1,
    ...(fault.temperatureC !== undefined ? { temperatureC: fault.temperatureC } : {}),
  } satisfies OpenFault;
  return mapChange('openFaults', { set: { [fault.code]: entry } }, kiosk.openFaults !== undefined);
}

/** A restock closes the faults reported before it occurred; a fault reported since stays open. */
export function clearFaults(kiosk: FleetKiosk, restockOccurredAt: string): ItemChange {
  const occurred = new Date(restockOccurredAt).toISOString();
  const cleared = (Object.entries(kiosk.openFaults ?? {}) as [FaultCode, OpenFault][]).filter(
    ([, fault]) => fault.lastOccurredAt <= occurred,
  );
  if (cleared.length === 0) return noChange;
  return {
    actions: cleared.map(([code]) => ({ remove: ['openFaults', code] })),
    conditions: cleared.map(([code, fault]) => ({
      path: ['openFaults', code, 'lastOccurredAt'],
      op: '=',
      value: fault.lastOccurredAt,
    })),
  };
}

/** The first request signed with a rotated secret confirms the kiosk has it. */
export function confirmSecret(
  kiosk: FleetKiosk & { secretSealed?: string },
  verifiedSealed: string | undefined,
  now: Date,
): ItemChange {
  if (
    !verifiedSealed ||
    !kiosk.secretIssuedAt ||
    kiosk.secretConfirmedAt ||
    kiosk.secretSealed !== verifiedSealed
  )
    return noChange;
  return {
    actions: [{ set: ['secretConfirmedAt'], value: now.toISOString() }],
    conditions: [{ path: ['secretSealed'], op: '=', value: verifiedSealed }],
  };
}

/**
 * Rotating a secret. The secret in use becomes the previous one, valid 24 hours of backend time;
 * but when the current secret came from a rotation no request has used yet while the previous one is
 * still valid (an answer lost on its way to the administrator, then asked again), the kiosk is still
 * on the previous one: it stays, and only the unused secret is replaced. A retried write therefore
 * never locks a kiosk out.
 */
export function rotationChanges(
  newSealed: string,
  now: Date,
  hasFingerprintKey: boolean,
): { replace: ItemChange; keep: ItemChange } {
  const at = now.toISOString();
  const until = new Date(now.getTime() + SECRET_GRACE_MS).toISOString();
  // A kiosk of an earlier version fingerprints its events with its first secret: that stays the key.
  const fingerprint: ItemChange = hasFingerprintKey
    ? noChange
    : {
        actions: [{ set: ['fingerprintSealed'], from: ['secretSealed'] }],
        conditions: [{ notExists: ['fingerprintSealed'] }],
      };
  const replace: ItemChange = {
    actions: [
      { set: ['previousSecretSealed'], from: ['secretSealed'] },
      { set: ['previousSecretUntil'], value: until },
      { set: ['secretSealed'], value: newSealed },
      { set: ['secretIssuedAt'], value: at },
      { remove: ['secretConfirmedAt'] },
    ],
    conditions: [
      { exists: ['kioskId'] },
      {
        anyOf: [
          { notExists: ['secretIssuedAt'] },
          { exists: ['secretConfirmedAt'] },
          { notExists: ['previousSecretUntil'] },
          { path: ['previousSecretUntil'], op: '<=', value: at },
        ],
      },
    ],
  };
  const keep: ItemChange = {
    actions: [
      { set: ['previousSecretUntil'], value: until },
      { set: ['secretSealed'], value: newSealed },
      { set: ['secretIssuedAt'], value: at },
    ],
    conditions: [
      { exists: ['kioskId'] },
      { exists: ['secretIssuedAt'] },
      { notExists: ['secretConfirmedAt'] },
      { path: ['previousSecretUntil'], op: '>', value: at },
    ],
  };
  return { replace: merge(replace, fingerprint), keep: merge(keep, fingerprint) };
}

/** The secrets a request may be signed with now: the current one, and the previous one in its grace period. */
export function acceptedSecrets(
  kiosk: { secretSealed: string; previousSecretSealed?: string; previousSecretUntil?: string },
  now: Date,
): string[] {
  const accepted = [kiosk.secretSealed];
  if (
    kiosk.previousSecretSealed &&
    kiosk.previousSecretUntil &&
    now.getTime() < Date.parse(kiosk.previousSecretUntil)
  )
    accepted.push(kiosk.previousSecretSealed);
  return accepted;
}

/** When the one expiry alert of a lot at a kiosk is due: `days` before its expiry date, at 00:00 UTC. */
export function expiryAlertAt(expiresOn: string, days: number): string {
  return new Date(Date.parse(`${expiresOn}T00:00:00.000Z`) - days * DAY_MS).toISOString();
}

/** Seconds of an interval per UTC day, for the offline-hours counters. */
export function secondsByDay(from: string, to: string): { day: string; seconds: number }[] {
  const out: { day: string; seconds: number }[] = [];
  let start = Date.parse(from);
  const end = Date.parse(to);
  while (start < end) {
    const dayStart = Math.floor(start / DAY_MS) * DAY_MS;
    const stop = Math.min(end, dayStart + DAY_MS);
    const seconds = Math.round((stop - start) / 1000);
    if (seconds > 0) out.push({ day: new Date(dayStart).toISOString().slice(0, 10), seconds });
    start = stop;
  }
  return out;
}

/** The start of the UTC day of `now`. */
export const startOfUtcDay = (now: Date) => new Date(Math.floor(now.getTime() / DAY_MS) * DAY_MS);

/** The first UTC midnight after `at`. */
export const nextUtcMidnight = (at: string) =>
  new Date(Math.floor(Date.parse(at) / DAY_MS) * DAY_MS + DAY_MS).toISOString();

export const KIOSK_STATUSES = ['offline', 'faulted', 'quarantined', 'low-stock', 'ok'] as const;
export type KioskStatus = (typeof KIOSK_STATUSES)[number];
/** Everything that holds for a kiosk, not only the most pressing (its `status`). */
export const KIOSK_CONDITIONS = [
  'offline',
  'faulted',
  'quarantined',
  'expired-stock',
  'low-stock',
  'expiring-stock',
] as const;
export type KioskCondition = (typeof KIOSK_CONDITIONS)[number];

export interface LotAnswer {
  readonly lot: string | null;
  readonly units: number;
  readonly expiresOn: string | null;
  readonly labelVersion: string | null;
  readonly expired: boolean;
  /** Within the kiosk's expiry alert window (and not expired yet). */
  readonly expiringSoon: boolean;
}

export interface SkuAnswer {
  readonly units: number;
  readonly available: number;
  readonly quarantined: number;
  readonly lowStock: boolean;
  readonly lots: readonly LotAnswer[];
  readonly quarantine: { readonly since: string; readonly temperatureC: number } | null;
}

export interface KioskAnswer {
  readonly kioskId: string;
  readonly siteId: string;
  readonly siteName: string | null;
  readonly status: KioskStatus;
  readonly conditions: readonly KioskCondition[];
  readonly lastSeenAt: string | null;
  readonly offlineAfterMinutes: number;
  /** When the kiosk goes offline if nothing more arrives (or went, when `offline`). */
  readonly offlineAt: string | null;
  readonly offlineSince: string | null;
  readonly lowStockThreshold: number;
  readonly expiryAlertDays: number;
  readonly stock: Readonly<Record<string, SkuAnswer>>;
  readonly openFaults: readonly {
    readonly code: FaultCode;
    readonly firstOccurredAt: string;
    readonly lastOccurredAt: string;
    readonly count: number;
  }[];
  readonly lastTemperatureC: number | null;
  readonly lastTemperatureAt: string | null;
  readonly registeredAt: string | null;
  readonly secretRotatedAt: string | null;
  /** Until when the secret in use before the last rotation is still accepted (null: none is). */
  readonly previousSecretValidUntil: string | null;
}

const today = (now: Date) => now.toISOString().slice(0, 10);

function lotAnswer(lot: string | null, entry: LotEntry, now: Date, alertDays: number): LotAnswer {
  const expiresOn = entry.expiresOn ?? null;
  const expired = expiresOn !== null && expiresOn < today(now);
  const expiringSoon =
    expiresOn !== null && !expired && Date.parse(expiryAlertAt(expiresOn, alertDays)) <= now.getTime();
  return {
    lot,
    units: entry.units,
    expiresOn,
    labelVersion: entry.labelVersion ?? null,
    expired,
    expiringSoon,
  };
}

/**
 * A kiosk as staff see it (list and detail alike): stock per SKU and per lot, what is available and
 * what is quarantined, when it was last heard, its open faults, and its status, derived here from
 * the stored item and the backend time `now` (it is never stored, so it cannot go stale).
 */
export function kioskAnswer(kiosk: FleetKiosk & { createdAt?: string }, now: Date): KioskAnswer {
  const alertDays = expiryAlertDaysOf(kiosk);
  const stock: Record<string, SkuAnswer> = {};
  const conditions = new Set<KioskCondition>();
  for (const sku of SKUS) {
    const units = kiosk.stock[sku];
    if (units === undefined) continue;
    const quarantine = kiosk.quarantine?.[sku];
    const lots: LotAnswer[] = [];
    const loose = unlottedUnits(kiosk, sku);
    if (loose > 0) lots.push(lotAnswer(null, { units: loose }, now, alertDays));
    for (const [lot, entry] of fefoOrder(kiosk.lotStock?.[sku]))
      lots.push(lotAnswer(lot, entry, now, alertDays));
    const available = quarantine ? 0 : units;
    const lowStock = available <= kiosk.lowStockThreshold;
    stock[sku] = {
      units,
      available,
      quarantined: quarantine ? units : 0,
      lowStock,
      lots,
      quarantine: quarantine ? { since: quarantine.since, temperatureC: quarantine.temperatureC } : null,
    };
    if (quarantine) conditions.add('quarantined');
    if (lowStock) conditions.add('low-stock');
    if (lots.some((lot) => lot.expired && lot.units > 0)) conditions.add('expired-stock');
    if (lots.some((lot) => lot.expiringSoon && lot.units > 0)) conditions.add('expiring-stock');
  }
  const openFaults = FAULT_CODES.flatMap((code) => {
    const fault = kiosk.openFaults?.[code];
    return fault
      ? [
          {
            code,
            firstOccurredAt: fault.firstOccurredAt,
            lastOccurredAt: fault.lastOccurredAt,
            count: fault.count,
          },
        ]
      : [];
  });
  if (openFaults.length) conditions.add('faulted');
  const silent = isSilent(kiosk, now);
  if (silent) conditions.add('offline');
  const ordered = KIOSK_CONDITIONS.filter((condition) => conditions.has(condition));
  const status: KioskStatus = silent
    ? 'offline'
    : openFaults.length
      ? 'faulted'
      : conditions.has('quarantined')
        ? 'quarantined'
        : conditions.has('low-stock')
          ? 'low-stock'
          : 'ok';
  const offlineAt = silenceDeadline(kiosk) ?? null;
  const graceLeft =
    kiosk.previousSecretSealed &&
    kiosk.previousSecretUntil &&
    now.getTime() < Date.parse(kiosk.previousSecretUntil);
  return {
    kioskId: kiosk.kioskId,
    siteId: kiosk.siteId,
    siteName: kiosk.siteName ?? null,
    status,
    conditions: ordered,
    lastSeenAt: kiosk.lastSeenAt ?? null,
    offlineAfterMinutes: offlineAfterMinutesOf(kiosk),
    offlineAt,
    offlineSince: silent
      ? kiosk.offlineSince && !kiosk.outageEndedAt
        ? kiosk.offlineSince
        : offlineAt
      : null,
    lowStockThreshold: kiosk.lowStockThreshold,
    expiryAlertDays: alertDays,
    stock,
    openFaults,
    lastTemperatureC: kiosk.lastTemperatureC ?? null,
    lastTemperatureAt: kiosk.lastTemperatureAt ?? null,
    registeredAt: kiosk.createdAt ?? null,
    secretRotatedAt: kiosk.secretIssuedAt ?? null,
    previousSecretValidUntil: graceLeft ? (kiosk.previousSecretUntil ?? null) : null,
  };
}

/** One kiosk row of a lot, as stored (functions/adapters/fleet/fleet-store.ts). */
export interface LotRowState {
  readonly kioskId: string;
  readonly siteId: string;
  readonly sku: string;
  readonly restocked?: number;
  readonly dispensed?: number;
  readonly removed?: number;
  readonly expiresOn?: string;
  readonly labelVersion?: string;
  readonly lastRestockedAt?: string;
  readonly expiryAlertSentAt?: string;
}

/**
 * Where a lot went: per kiosk and SKU, the units restocked, given out (dispensed), removed (swapped out
 * of quarantine) and still held, and the totals. Units given out are what a recall has to trace.
 */
export function lotAnswerOf(lot: string, rows: readonly LotRowState[], now: Date) {
  const kiosks = rows
    .map((row) => {
      const restocked = row.restocked ?? 0;
      const dispensed = row.dispensed ?? 0;
      const removed = row.removed ?? 0;
      return {
        kioskId: row.kioskId,
        siteId: row.siteId,
        sku: row.sku,
        restocked,
        dispensed,
        removed,
        held: Math.max(0, restocked - dispensed - removed),
        expiresOn: row.expiresOn ?? null,
        expired: row.expiresOn !== undefined && row.expiresOn < today(now),
        labelVersion: row.labelVersion ?? null,
        lastRestockedAt: row.lastRestockedAt ?? null,
        expiryAlertSentAt: row.expiryAlertSentAt ?? null,
      };
    })
    .sort((a, b) => (a.kioskId === b.kioskId ? (a.sku < b.sku ? -1 : 1) : a.kioskId < b.kioskId ? -1 : 1));
  const total = (pick: (row: (typeof kiosks)[number]) => number) =>
    kiosks.reduce((sum, row) => sum + pick(row), 0);
  return {
    lot,
    kiosks,
    totals: {
      kiosks: new Set(kiosks.map((row) => row.kioskId)).size,
      holding: new Set(kiosks.filter((row) => row.held > 0).map((row) => row.kioskId)).size,
      restocked: total((row) => row.restocked),
      dispensed: total((row) => row.dispensed),
      removed: total((row) => row.removed),
      held: total((row) => row.held),
    },
  };
}
