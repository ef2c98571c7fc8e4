import { randomUUID } from 'node:crypto';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { aggregateKey } from '../../core/aggregates.js';
import { backoff } from '../../core/backoff.js';
import { unavailable } from '../../core/errors.js';
import { registrationFleetFields, rotationChanges } from '../../core/fleet/fleet.js';
import type { EventPlan, Kiosk } from '../../core/kiosk/kiosk-events.js';
import {
  DEFAULT_EXPIRY_ALERT_DAYS,
  DEFAULT_OFFLINE_AFTER_MINUTES,
  type KioskRegistration,
} from '../../core/schemas.js';
import { taskIndexKeys } from '../../core/staff/tasks.js';
import { applyChange, type ItemChange, merge } from '../../core/updates.js';
import { counterUpdate } from '../aggregates-store.js';
import { documentClient, isConditionalCheckFailed, itemOfFailedCondition, tableName } from '../dynamo.js';
import { expressionsOf } from '../expressions.js';
import { guardPut, type TransactItems, writeOnce } from '../idempotent.js';
import { outboxPut } from '../notices/outbox.js';
import type { Notification } from '../notices/publisher.js';
import { siteUse } from '../site-store.js';

export interface KioskRecord extends Kiosk {
  readonly secretSealed: string;
  /** Keys the duplicate fingerprints; never rotated (missing on kiosks of earlier versions: their first secret is). */
  readonly fingerprintSealed?: string;
  readonly createdAt?: string;
}

export interface StoredEvent {
  readonly fingerprint: string;
  readonly [field: string]: unknown;
}

/**
 * Registers a kiosk, and its site as in use; false when the id is taken. One round trip. A
 * registration whose answer was lost (and that the SDK sent again) is recognised as this one.
 */
export async function createKiosk(
  registration: KioskRegistration,
  sealed: { secret: string; fingerprintKey: string },
  now: Date,
  actor?: string,
): Promise<boolean> {
  const createdAt = now.toISOString();
  const items = [
    guardPut('kiosks', 'kioskId', {
      kioskId: registration.kioskId,
      writeId: randomUUID(),
      siteId: registration.siteId,
      siteName: registration.siteName,
      lowStockThreshold: registration.lowStockThreshold,
      stock: { ...(registration.inventory ?? {}) },
      alerted: {},
      mismatchUnits: 0,
      secretSealed: sealed.secret,
      fingerprintSealed: sealed.fingerprintKey,
      createdAt,
      ...registrationFleetFields(
        createdAt,
        registration.offlineAfterMinutes ?? DEFAULT_OFFLINE_AFTER_MINUTES,
        registration.expiryAlertDays ?? DEFAULT_EXPIRY_ALERT_DAYS,
      ),
    }),
    siteUse(registration.siteId, 'kiosk', registration.kioskId, actor, now),
  ];
  // A registration cancelled by another at the same site (its site row) wrote nothing: again.
  let written = await writeOnce(items);
  for (let attempt = 2; written.status === 'stale' && attempt <= 6; attempt += 1) {
    await backoff(attempt);
    written = await writeOnce(items);
  }
  if (written.status === 'stale') throw unavailable('Concurrent registrations at this site; retry.');
  return written.status === 'created';
}

/** The kiosk, read consistently: one round trip. */
export async function getKiosk(kioskId: string): Promise<KioskRecord | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('kiosks'), Key: { kioskId }, ConsistentRead: true }),
  );
  return out.Item as KioskRecord | undefined;
}

/** A recorded event of the kiosk, if there is one: one round trip. */
export async function getStoredEvent(kioskId: string, eventId: string): Promise<StoredEvent | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('kioskEvents'), Key: { kioskId, eventId }, ConsistentRead: true }),
  );
  return out.Item as StoredEvent | undefined;
}

/** The change an event makes to its kiosk item: the plan's, on the version it was planned from, and a new version. */
function kioskWrite(kiosk: Kiosk, plan: EventPlan): ItemChange {
  const version = (kiosk as { version?: number }).version;
  return merge(plan.kioskChange, {
    actions: [{ add: ['version'], value: 1 }],
    conditions: [
      { exists: ['kioskId'] },
      version === undefined ? { notExists: ['version'] } : { path: ['version'], op: '=', value: version },
    ],
  });
}

export type RecordOutcome =
  /** `kiosk`: the kiosk as the write left it, what the container keeps for the next event. */
  | { readonly status: 'recorded'; readonly kiosk: KioskRecord }
  | { readonly status: 'exists'; readonly stored: StoredEvent }
  /**
   * Not written. `kiosk` is the item as DynamoDB handed it back (its version moved on), or, when
   * another transaction held an item (`contended`), the kiosk as it was planned from.
   */
  | { readonly status: 'stale'; readonly kiosk: KioskRecord; readonly contended: boolean };

export interface EventWrite {
  readonly kiosk: KioskRecord;
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
  // Every event changes the kiosk (at least: it was heard), conditioned on the very version the plan read:
  // a handler plans from the kiosk as its container last saw it, and any write since makes it plan again
  // from the item DynamoDB hands back.
  const kioskChange = kioskWrite(kiosk, plan);
  items.push({
    Update: {
      TableName: tableName('kiosks'),
      Key: { kioskId: kiosk.kioskId },
      ...expressionsOf(kioskChange),
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    } as Update,
  });
  if (Object.keys(plan.counters).length > 0) {
    items.push({
      Update: counterUpdate(aggregateKey('naloxone', plan.day, kiosk.siteId, kiosk.kioskId), plan.counters),
    });
  }
  for (const row of plan.lotRows) {
    items.push({
      Update: {
        TableName: tableName('kioskLots'),
        Key: { lot: row.lot, kioskSku: row.kioskSku },
        ...expressionsOf(row.change),
      } as Update,
    });
  }
  if (plan.task) {
    items.push({
      Put: {
        TableName: tableName('tasks'),
        Item: {
          ...plan.task,
          status: 'open',
          ...taskIndexKeys(plan.task.taskId, 'open'),
          source: 'kiosk',
          contactId: contact?.contactId,
        },
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

  const written = await writeOnce(items, 1);
  if (written.status === 'created') return { status: 'recorded', kiosk: applyChange(kiosk, kioskChange) };
  if (written.status === 'exists') return { status: 'exists', stored: written.stored as StoredEvent };
  if (written.status === 'missing')
    throw new Error(`kiosk ${kiosk.kioskId} vanished while recording an event`);
  // Changed stock comes back with the cancellation; a bare transaction conflict re-plans from what was read.
  const contended = Object.keys(written.current).length === 0;
  const current = contended ? kiosk : written.current;
  return { status: 'stale', kiosk: current as unknown as KioskRecord, contended };
}

type Update = NonNullable<TransactItems[number]['Update']>;

export type Rotation = { readonly status: 'rotated' } | { readonly status: 'missing' };

/**
 * Rotates a kiosk's secret (functions/core/fleet/fleet.ts `rotationChanges`): the secret in use becomes the
 * previous one, valid 24 hours of backend time, unless it is an unused rotated one (then the previous
 * one stays). Reads the kiosk first, so an unknown kiosk costs no write; a write that DynamoDB applied
 * but whose answer was lost finds its own secret in place when tried again.
 */
export async function rotateSecret(
  kioskId: string,
  sealNew: () => Promise<string>,
  now: Date,
): Promise<Rotation> {
  const found = await documentClient.send(
    new GetCommand({
      TableName: tableName('kiosks'),
      Key: { kioskId },
      ProjectionExpression: 'kioskId, fingerprintSealed',
      ConsistentRead: true,
    }),
  );
  if (!found.Item) return { status: 'missing' };
  const newSealed = await sealNew();
  const { replace, keep } = rotationChanges(newSealed, now, found.Item.fingerprintSealed !== undefined);
  for (let attempt = 1; attempt <= 8; attempt += 1) {
    for (const change of [replace, keep]) {
      try {
        await documentClient.send(
          new UpdateCommand({
            TableName: tableName('kiosks'),
            Key: { kioskId },
            ...expressionsOf(change),
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { status: 'rotated' };
      } catch (error) {
        if (!isConditionalCheckFailed(error)) {
          if ((error as { name?: string }).name !== 'TransactionConflictException') throw error;
          break; // an event of this kiosk is being recorded: try again shortly
        }
        const item = itemOfFailedCondition(error);
        if (!item) return { status: 'missing' };
        if (item.secretSealed === newSealed) return { status: 'rotated' };
      }
    }
    await backoff(attempt, 5, 250);
  }
  throw unavailable('The kiosk kept changing while its secret was rotated; retry.');
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
