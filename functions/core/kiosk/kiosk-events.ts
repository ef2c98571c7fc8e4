import { addCounter, type Counters, utcDay } from '../aggregates.js';
import {
  clearFaults,
  confirmSecret,
  expiryAlertAt,
  expiryAlertDaysOf,
  type FleetKiosk,
  livenessOf,
  openFault,
  quarantineFor,
  temperatureReading,
} from '../fleet/fleet.js';
import type { KioskEvent, Sku } from '../schemas.js';
import { escalateAtOf } from '../staff/tasks.js';
import { type ItemChange, merge } from '../updates.js';
import { planDispense, planRestock, restockLines, type StockChange, stockItemChange } from './stock.js';

export interface Kiosk extends FleetKiosk {
  readonly secretSealed?: string;
}

/** The per-lot row of a kiosk (recalls, expiry alerts): its key and what changes in it. */
export interface LotRowChange {
  readonly lot: string;
  readonly kioskSku: string;
  readonly change: ItemChange;
}

export const lotRowKey = (kioskId: string, sku: Sku) => `${kioskId}#${sku}`;

/** A message to staff before it gets an id: ids, site, kind and times only. */
export interface NotificationDraft {
  readonly topic: 'restock' | 'kiosk-ops' | 'outreach';
  readonly body: Record<string, string | number>;
}

export interface OutreachTaskDraft {
  readonly taskId: string;
  readonly kind: 'kiosk-contact';
  readonly siteId: string;
  readonly kioskId: string;
  readonly eventId: string;
  readonly dueAt: string;
  readonly escalateAt: string;
  readonly createdAt: string;
  /** The dispense's day: the reports count the task's outcome there (core/outreach.ts). */
  readonly countedOn: string;
}

export interface EventPlan {
  readonly day: string;
  readonly stockChanges: readonly StockChange[];
  readonly counters: Counters;
  readonly task?: OutreachTaskDraft;
  readonly notifications: readonly NotificationDraft[];
  /** The one change to the kiosk item: stock, lots, quarantine, faults, liveness. */
  readonly kioskChange: ItemChange;
  /** Changes to the kiosk's per-lot rows (restocked, dispensed, removed units; expiry alerts). */
  readonly lotRows: readonly LotRowChange[];
}

export interface PlanOptions {
  /** The sealed secret whose signature the request carried (a rotated one is confirmed by its first use). */
  readonly verifiedSecret?: string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** occurredAt may be at most 5 minutes ahead of, and 30 days behind, the backend clock. */
export function occurredAtProblem(occurredAt: string, now: Date): string | undefined {
  const at = Date.parse(occurredAt);
  if (at > now.getTime() + 5 * 60 * 1000) return 'must not be more than 5 minutes in the future';
  if (at < now.getTime() - 30 * DAY_MS) return 'must not be more than 30 days in the past';
  return undefined;
}

/**
 * What a new kiosk event means: how stock changes, which counters move,
 * which staff hear of it, and whether a person asked to be contacted.
 * The event is a fact: it is planned even when stock disagrees with it.
 */
export function planKioskEvent(
  kiosk: Kiosk,
  event: KioskEvent,
  now: Date,
  newTaskId: () => string,
  options: PlanOptions = {},
): EventPlan {
  const day = utcDay(event.occurredAt);
  const counters: Counters = {};
  const notifications: NotificationDraft[] = [];
  const at = now.toISOString();
  const ids = { kioskId: kiosk.kioskId, siteId: kiosk.siteId, eventId: event.eventId };
  // Every new event says the kiosk is alive; the first one signed with a rotated secret confirms it.
  const liveness = livenessOf(kiosk, now);
  notifications.push(...liveness.notifications);
  const heard = merge(liveness.change, confirmSecret(kiosk, options.verifiedSecret, now));
  const quarantine = (temperatureC: number | undefined) => {
    const planned = quarantineFor(kiosk, temperatureC, event.eventId, now);
    for (const [sku, units] of Object.entries(planned.units) as [Sku, number][]) {
      addCounter(counters, 'quarantinedUnits', units);
      addCounter(counters, `quarantined:${sku}`, units);
    }
    notifications.push(...planned.notifications);
    return merge(planned.change, temperatureReading(temperatureC, now));
  };
  const finish = (
    stockChanges: StockChange[],
    change: ItemChange,
    lotRows: LotRowChange[] = [],
    task?: OutreachTaskDraft,
  ): EventPlan => ({
    day,
    stockChanges,
    counters,
    ...(task ? { task } : {}),
    notifications,
    kioskChange: merge(stockItemChange(kiosk, stockChanges), change, heard),
    lotRows: mergeRows(lotRows),
  });

  switch (event.type) {
    case 'dispense': {
      const stockChanges = planDispense(kiosk, event.items);
      addCounter(counters, 'dispenseEvents');
      for (const { sku, quantity } of event.items) addCounter(counters, `kit:${sku}`, quantity);
      countSurvey(counters, event.survey);
      const lotRows: LotRowChange[] = [];
      for (const change of stockChanges) {
        for (const take of change.takes) {
          // Units by lot ("" for stock without a lot): the report's kits by lot.
          addCounter(counters, `lot:${change.sku}:${take.lot ?? ''}`, take.units);
          if (take.lot !== null)
            lotRows.push({
              lot: take.lot,
              kioskSku: lotRowKey(kiosk.kioskId, change.sku),
              change: { actions: [{ add: ['dispensed'], value: take.units }], conditions: [] },
            });
        }
        if (change.mode !== 'exact') continue;
        if (change.mismatch > 0) addCounter(counters, 'stockMismatchUnits', change.mismatch);
        if (change.lowStock) notifications.push(lowStockNotice(kiosk, change.sku, change.after, at));
      }
      let task: OutreachTaskDraft | undefined;
      if (event.contactRequest) {
        addCounter(counters, 'contactRequests');
        task = {
          taskId: newTaskId(),
          kind: 'kiosk-contact',
          siteId: kiosk.siteId,
          kioskId: kiosk.kioskId,
          eventId: event.eventId,
          countedOn: day,
          createdAt: at,
          dueAt: at,
          escalateAt: escalateAtOf(now),
        };
        notifications.push({
          topic: 'outreach',
          body: {
            kind: 'kiosk-contact',
            taskId: task.taskId,
            kioskId: kiosk.kioskId,
            siteId: kiosk.siteId,
            dueAt: task.dueAt,
          },
        });
      }
      return finish(stockChanges, { actions: [], conditions: [] }, lotRows, task);
    }
    case 'restock': {
      addCounter(counters, 'restockEvents');
      for (const { sku, quantity } of event.items) addCounter(counters, `restocked:${sku}`, quantity);
      const stockChanges = planRestock(kiosk, restockLines(event.items, event));
      const lotRows: LotRowChange[] = [];
      const alertDays = expiryAlertDaysOf(kiosk);
      for (const change of stockChanges) {
        if (change.mode !== 'exact') continue;
        for (const arrival of change.arrivals) {
          lotRows.push({
            lot: arrival.lot,
            kioskSku: lotRowKey(kiosk.kioskId, change.sku),
            change: {
              actions: [
                { set: ['kioskId'], value: kiosk.kioskId },
                { set: ['siteId'], value: kiosk.siteId },
                { set: ['sku'], value: change.sku },
                { set: ['lastRestockedAt'], value: at },
                ...(arrival.expiresOn
                  ? [
                      { set: ['expiresOn'], value: arrival.expiresOn },
                      { set: ['alertAt'], value: expiryAlertAt(arrival.expiresOn, alertDays) },
                      // The sweep sends the lot's one expiry alert (or, if it went out already, just unlists it).
                      { set: ['alertWatch'], value: 'pending' },
                    ]
                  : []),
                ...(arrival.labelVersion ? [{ set: ['labelVersion'], value: arrival.labelVersion }] : []),
                { add: ['restocked'], value: arrival.units },
              ],
              conditions: [],
            },
          });
        }
        for (const gone of change.discarded) {
          addCounter(counters, `discarded:${change.sku}`, gone.units);
          if (gone.lot !== null)
            lotRows.push({
              lot: gone.lot,
              kioskSku: lotRowKey(kiosk.kioskId, change.sku),
              change: { actions: [{ add: ['removed'], value: gone.units }], conditions: [] },
            });
        }
        if (change.quarantine === 'cleared') addCounter(counters, 'quarantineSwaps');
      }
      // A restock is a service visit: it closes the faults reported before it.
      return finish(stockChanges, clearFaults(kiosk, event.occurredAt), lotRows);
    }
    case 'fault': {
      addCounter(counters, 'faultEvents');
      addCounter(counters, `fault:${event.code}`);
      const body: Record<string, string | number> = {
        kind: 'kiosk-fault',
        ...ids,
        code: event.code,
        occurredAt: event.occurredAt,
        at,
      };
      if (event.temperatureC !== undefined) body.temperatureC = event.temperatureC;
      notifications.unshift({ topic: 'kiosk-ops', body });
      const change = merge(
        openFault(kiosk, {
          code: event.code,
          occurredAt: event.occurredAt,
          eventId: event.eventId,
          ...(event.temperatureC !== undefined ? { temperatureC: event.temperatureC } : {}),
        }),
        quarantine(event.temperatureC),
      );
      return finish([], change);
    }
    case 'heartbeat':
      // No stock, no counters: one write (the event and the kiosk's liveness) unless a status changes.
      return finish([], quarantine(event.temperatureC));
  }
}

/** One change per lot row: DynamoDB takes one action per item in a transaction. */
function mergeRows(rows: readonly LotRowChange[]): LotRowChange[] {
  const byKey = new Map<string, LotRowChange>();
  for (const row of rows) {
    const key = JSON.stringify([row.lot, row.kioskSku]);
    const known = byKey.get(key);
    byKey.set(key, known ? { ...row, change: merge(known.change, row.change) } : row);
  }
  return [...byKey.values()];
}

function lowStockNotice(kiosk: Kiosk, sku: Sku, stock: number, at: string): NotificationDraft {
  return {
    topic: 'restock',
    body: {
      kind: 'low-stock',
      kioskId: kiosk.kioskId,
      siteId: kiosk.siteId,
      sku,
      stock,
      lowStockThreshold: kiosk.lowStockThreshold,
      at,
    },
  };
}

/** Survey answers are kept only as counts, apart from the dispense record. */
function countSurvey(counters: Counters, survey: Extract<KioskEvent, { type: 'dispense' }>['survey']): void {
  if (!survey) return;
  addCounter(counters, 'surveys');
  if (survey.firstTime === true) addCounter(counters, 'survey:firstTime');
  if (survey.firstTime === false) addCounter(counters, 'survey:notFirstTime');
  if (survey.forWhom) addCounter(counters, `survey:forWhom:${survey.forWhom}`);
  if (survey.zip) addCounter(counters, `zip:${survey.zip}`);
}

/**
 * What is kept of the event itself: everything but the contact request
 * (which lives sealed in the contacts table) and the survey (kept only as counts).
 */
export function storedEventFields(event: KioskEvent): Record<string, unknown> {
  const {
    contactRequest: _contact,
    survey: _survey,
    ...rest
  } = event as KioskEvent & {
    contactRequest?: unknown;
    survey?: unknown;
  };
  return { ...rest, hasContactRequest: Boolean(_contact) };
}
