import { randomUUID } from 'node:crypto';
import { BatchGetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { aggregateKey } from '../core/aggregates.js';
import type { EventPlan, Kiosk } from '../core/kiosk-events.js';
import type { KioskRegistration } from '../core/schemas.js';
import type { StockChange } from '../core/stock.js';
import { counterUpdate } from './aggregates-store.js';
import { documentClient, isConditionalCheckFailed, itemOfFailedCondition, tableName } from './dynamo.js';
import { guardPut, type TransactItems, writeOnce } from './idempotent.js';
import { outboxPut } from './outbox.js';
import type { Notification } from './publisher.js';

export interface KioskRecord extends Kiosk {
  readonly secretSealed: string;
}

export interface StoredEvent {
  readonly fingerprint: string;
  readonly [field: string]: unknown;
}

/**
 * Registers a kiosk; false when the id is taken. One round trip. The item carries a
 * `registrationId` of this call, so a write applied whose answer was lost (and that the SDK
 * sent again) is recognised as this registration, not someone else's.
 */
export async function createKiosk(
  registration: KioskRegistration,
  secretSealed: string,
  now: Date,
): Promise<boolean> {
  const registrationId = randomUUID();
  try {
    await documentClient.send(
      new PutCommand({
        TableName: tableName('kiosks'),
        Item: {
          kioskId: registration.kioskId,
          siteId: registration.siteId,
          siteName: registration.siteName,
          lowStockThreshold: registration.lowStockThreshold,
          stock: { ...(registration.inventory ?? {}) },
          alerted: {},
          mismatchUnits: 0,
          secretSealed,
          createdAt: now.toISOString(),
          registrationId,
        },
        ConditionExpression: 'attribute_not_exists(kioskId)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error))
      return itemOfFailedCondition(error)?.registrationId === registrationId;
    throw error;
  }
}

/** The kiosk and, when an event id is known, that event: one round trip. */
export async function loadKioskAndEvent(
  kioskId: string,
  eventId: string | undefined,
): Promise<{ kiosk?: KioskRecord; event?: StoredEvent }> {
  const kiosks = tableName('kiosks');
  const events = tableName('kioskEvents');
  const requestItems: Record<string, { Keys: Record<string, string>[]; ConsistentRead: boolean }> = {
    [kiosks]: { Keys: [{ kioskId }], ConsistentRead: true },
  };
  if (eventId) requestItems[events] = { Keys: [{ kioskId, eventId }], ConsistentRead: true };
  let pending: typeof requestItems | undefined = requestItems;
  const found: Record<string, Record<string, unknown>[]> = {};
  // BatchGet may hand back unprocessed keys under load; ask again for just those.
  for (let attempt = 0; pending && Object.keys(pending).length > 0; attempt += 1) {
    if (attempt > 0) await sleep(20 * 2 ** Math.min(attempt, 5));
    const out = await documentClient.send(new BatchGetCommand({ RequestItems: pending }));
    for (const [table, items] of Object.entries(out.Responses ?? {}))
      found[table] = [...(found[table] ?? []), ...items];
    pending = out.UnprocessedKeys as typeof requestItems | undefined;
  }
  return {
    kiosk: found[kiosks]?.[0] as unknown as KioskRecord | undefined,
    event: found[events]?.[0] as StoredEvent | undefined,
  };
}

export type RecordOutcome =
  | { readonly status: 'recorded' }
  | { readonly status: 'exists'; readonly stored: StoredEvent }
  | { readonly status: 'stale'; readonly kiosk: KioskRecord };

export interface EventWrite {
  readonly kiosk: Kiosk;
  readonly eventItem: Record<string, unknown> & { eventId: string; fingerprint: string };
  readonly plan: EventPlan;
  readonly notifications: readonly (Notification & { createdAt: string })[];
  readonly contact?: { readonly contactId: string; readonly sealed: string };
  readonly now: Date;
}

/**
 * One atomic write: the idempotency guard and the event, the stock change,
 * the report counters, an outreach task with its sealed contact, and the
 * outbox rows. One round trip. A failed condition comes back with the item
 * as it is now (ALL_OLD), so the caller needs no second read to react.
 */
export async function writeKioskEvent(write: EventWrite): Promise<RecordOutcome> {
  const { kiosk, eventItem, plan, notifications, contact, now } = write;
  const items: TransactItems = [
    guardPut('kioskEvents', 'eventId', {
      ...eventItem,
      kioskId: kiosk.kioskId,
      siteId: kiosk.siteId,
      recordedAt: now.toISOString(),
    }),
  ];
  const stockUpdate = stockUpdateOf(kiosk.kioskId, plan.stockChanges);
  if (stockUpdate) items.push({ Update: stockUpdate });
  items.push({ Update: counterUpdate(aggregateKey('naloxone', plan.day, kiosk.siteId), plan.counters) });
  if (plan.task) {
    items.push({
      Put: {
        TableName: tableName('tasks'),
        Item: { ...plan.task, status: 'open', source: 'kiosk', contactId: contact?.contactId },
      },
    });
  }
  if (contact) {
    items.push({
      Put: {
        TableName: tableName('contacts'),
        Item: { contactId: contact.contactId, sealed: contact.sealed, createdAt: now.toISOString() },
      },
    });
  }
  items.push(...notifications.map(outboxPut));

  const written = await writeOnce(items, stockUpdate ? 1 : undefined);
  if (written.status === 'created') return { status: 'recorded' };
  if (written.status === 'exists') return { status: 'exists', stored: written.stored as StoredEvent };
  if (written.status === 'missing')
    throw new Error(`kiosk ${kiosk.kioskId} vanished while recording an event`);
  // Changed stock comes back with the cancellation; a bare transaction conflict re-plans from what was read.
  const current = Object.keys(written.current).length ? written.current : kiosk;
  return { status: 'stale', kiosk: current as unknown as KioskRecord };
}

function stockUpdateOf(kioskId: string, changes: readonly StockChange[]) {
  if (changes.length === 0) return undefined;
  const names: Record<string, string> = { '#stock': 'stock' };
  const values: Record<string, unknown> = {};
  const sets: string[] = [];
  const conditions: string[] = ['attribute_exists(kioskId)'];
  let mismatch = 0;
  changes.forEach((change, i) => {
    const sku = `#s${i}`;
    names[sku] = change.sku;
    if (change.mode === 'relative') {
      values[`:d${i}`] = -change.delta;
      values[`:min${i}`] = change.atLeast;
      sets.push(`#stock.${sku} = #stock.${sku} - :d${i}`);
      conditions.push(`#stock.${sku} >= :min${i}`);
      if (change.requireAlerted) {
        names['#alerted'] = 'alerted';
        values[':true'] = true;
        conditions.push(`#alerted.${sku} = :true`);
      }
      return;
    }
    names['#alerted'] = 'alerted';
    values[`:after${i}`] = change.after;
    values[`:al${i}`] = change.alertedAfter;
    sets.push(`#stock.${sku} = :after${i}`, `#alerted.${sku} = :al${i}`);
    if (change.before === undefined) {
      conditions.push(`attribute_not_exists(#stock.${sku})`);
    } else {
      values[`:before${i}`] = change.before;
      conditions.push(`#stock.${sku} = :before${i}`);
    }
    if (change.alertedBefore) {
      values[':true'] = true;
      conditions.push(`#alerted.${sku} = :true`);
    } else {
      values[':false'] = false;
      conditions.push(`(attribute_not_exists(#alerted.${sku}) OR #alerted.${sku} = :false)`);
    }
    mismatch += change.mismatch;
  });
  let expression = `SET ${sets.join(', ')}`;
  if (mismatch > 0) {
    names['#mismatch'] = 'mismatchUnits';
    values[':mismatch'] = mismatch;
    expression += ' ADD #mismatch :mismatch';
  }
  return {
    TableName: tableName('kiosks'),
    Key: { kioskId },
    UpdateExpression: expression,
    ConditionExpression: conditions.join(' AND '),
    ExpressionAttributeNames: names,
    ExpressionAttributeValues: values,
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
