import type { Condition, ItemChange } from '../updates.js';
import {
  type FleetKiosk,
  type LotRowState,
  nextUtcMidnight,
  offlineAfterMinutesOf,
  secondsByDay,
  startOfUtcDay,
} from './fleet.js';

/**
 * What the fleet sweep (functions/fleet-sweep/handler.ts) does to one item, as data: pure, so the rules
 * are tested without DynamoDB, and every change is conditioned on what the sweep read (an event that
 * arrives meanwhile wins; the next run looks again).
 */

const DAY_MS = 86_400_000;
/** Days of offline time counted in one transaction (each day is one counter item). */
export const OUTAGE_DAYS_PER_WRITE = 40;

export interface OutageStep {
  readonly days: readonly { readonly day: string; readonly seconds: number }[];
  readonly change: ItemChange;
}

/**
 * The offline time of an outage still to be counted: from where it was counted to (for an outage
 * still running) the start of today, UTC (each day counted once it is over), or (for an outage that
 * ended) its end, after which the outage leaves the index. Seconds per UTC day, per kiosk.
 */
export function outageCount(kiosk: FleetKiosk, now: Date): { steps: OutageStep[]; ongoing: boolean } {
  const since = kiosk.accruedTo ?? kiosk.offlineSince;
  const ended = kiosk.outageEndedAt;
  if (!kiosk.offlineSince || !since) {
    return {
      steps: [
        {
          days: [],
          change: { actions: [{ remove: ['outage'] }], conditions: [{ notExists: ['offlineSince'] }] },
        },
      ],
      ongoing: false,
    };
  }
  const upTo = ended ?? startOfUtcDay(now).toISOString();
  const counted: Condition = kiosk.accruedTo
    ? { path: ['accruedTo'], op: '=', value: kiosk.accruedTo }
    : { notExists: ['accruedTo'] };
  const days = upTo > since ? secondsByDay(since, upTo) : [];
  const steps: OutageStep[] = [];
  let from = counted;
  for (let i = 0; i < days.length || (ended && i === 0); i += OUTAGE_DAYS_PER_WRITE) {
    const chunk = days.slice(i, i + OUTAGE_DAYS_PER_WRITE);
    const last = i + OUTAGE_DAYS_PER_WRITE >= days.length;
    const to = last
      ? upTo
      : new Date(Date.parse(`${chunk[chunk.length - 1]?.day}T00:00:00.000Z`) + DAY_MS).toISOString();
    const finish = last && ended !== undefined;
    steps.push({
      days: chunk,
      change: finish
        ? {
            actions: [
              { remove: ['outage'] },
              { remove: ['offlineSince'] },
              { remove: ['accruedTo'] },
              { remove: ['outageEndedAt'] },
              { remove: ['outageDueAt'] },
            ],
            conditions: [from, { path: ['outageEndedAt'], op: '=', value: ended }],
          }
        : {
            actions: [
              { set: ['accruedTo'], value: to },
              { set: ['outageDueAt'], value: nextUtcMidnight(to) },
            ],
            conditions: [from],
          },
    });
    from = { path: ['accruedTo'], op: '=', value: to };
  }
  return { steps, ongoing: ended === undefined };
}

/** A kiosk past its silence deadline: offline from the deadline on, out of the silence index. */
export function silenceChange(kiosk: FleetKiosk): ItemChange {
  const since = kiosk.silentAt as string;
  return {
    actions: [
      { remove: ['watch'] },
      { set: ['offlineSince'], value: since },
      { set: ['accruedTo'], value: since },
      { set: ['outageDueAt'], value: nextUtcMidnight(since) },
      { set: ['outage'], value: 'accrue' },
    ],
    conditions: [
      { path: ['watch'], op: '=', value: 'online' },
      { path: ['silentAt'], op: '=', value: since },
      // An outage that ended and is not counted yet is counted first (the next run marks this one).
      { notExists: ['offlineSince'] },
    ],
  };
}

/** The one kiosk-ops message of a silence: ids, site and times only. */
export function silenceNotice(kiosk: FleetKiosk, now: Date): Record<string, string | number> {
  return {
    kind: 'kiosk-silent',
    kioskId: kiosk.kioskId,
    siteId: kiosk.siteId,
    silentSince: kiosk.silentAt as string,
    ...(kiosk.lastSeenAt ? { lastSeenAt: kiosk.lastSeenAt } : {}),
    offlineAfterMinutes: offlineAfterMinutesOf(kiosk),
    at: now.toISOString(),
  };
}

/**
 * A lot's expiry alert is due. One restock message while the kiosk still holds units of it; none when
 * it holds none (a later restock of the lot lists it again) or when the alert already went out.
 */
export function expiryAlertChange(
  row: LotRowState & { readonly lot: string; readonly alertAt?: string },
  now: Date,
): { change: ItemChange; notice?: Record<string, string | number> } {
  const unlist: ItemChange = {
    actions: [{ remove: ['alertWatch'] }],
    conditions: [{ exists: ['alertWatch'] }],
  };
  const held = (row.restocked ?? 0) - (row.dispensed ?? 0) - (row.removed ?? 0);
  if (row.expiryAlertSentAt || held <= 0) return { change: unlist };
  return {
    change: {
      actions: [...unlist.actions, { set: ['expiryAlertSentAt'], value: now.toISOString() }],
      conditions: [...unlist.conditions, { notExists: ['expiryAlertSentAt'] }],
    },
    notice: {
      kind: 'lot-expiring',
      kioskId: row.kioskId,
      siteId: row.siteId,
      sku: row.sku,
      lot: row.lot,
      expiresOn: row.expiresOn ?? '',
      units: held,
      at: now.toISOString(),
    },
  };
}
