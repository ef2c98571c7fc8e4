import { GetCommand, QueryCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { LotRowState } from '../../core/fleet/fleet.js';
import type { ItemChange } from '../../core/updates.js';
import { cancellationReasons, documentClient, queryAll, tableName } from '../dynamo.js';
import { expressionsOf } from '../expressions.js';
import type { TransactItems } from '../idempotent.js';
import type { KioskRecord } from '../kiosk/kiosk-store.js';

/**
 * Reads and writes of the fleet: kiosk pages and details, lot rows, and what the fleet sweep needs
 * (the sparse indexes of silence deadlines, outages to count and lot expiry alerts).
 */

/** One page of kiosks: a scan of `limit` items reads exactly the items it returns. */
export async function listKiosks(
  limit: number,
  after?: string,
): Promise<{ items: KioskRecord[]; last?: string }> {
  const out = await documentClient.send(
    new ScanCommand({
      TableName: tableName('kiosks'),
      Limit: limit,
      ExclusiveStartKey: after === undefined ? undefined : { kioskId: after },
    }),
  );
  return {
    items: (out.Items ?? []) as KioskRecord[],
    last: out.LastEvaluatedKey?.kioskId as string | undefined,
  };
}

export async function getKiosk(kioskId: string): Promise<KioskRecord | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('kiosks'), Key: { kioskId }, ConsistentRead: true }),
  );
  return out.Item as KioskRecord | undefined;
}

/** A lot row as the table keys and indexes it: the core's view of it, plus its keys and alert index. */
export interface LotRow extends LotRowState {
  readonly lot: string;
  readonly kioskSku: string;
  readonly alertAt?: string;
  readonly alertWatch?: string;
}

/** Every kiosk row of a lot: one query. */
export async function lotRows(lot: string): Promise<LotRow[]> {
  return (await queryAll({
    TableName: tableName('kioskLots'),
    KeyConditionExpression: 'lot = :lot',
    ExpressionAttributeValues: { ':lot': lot },
  })) as unknown as LotRow[];
}

/** Items a sweep read, DynamoDB's own count (ScannedCount): the figure the benchmark reports. */
export class ReadCounter {
  items = 0;
}

/**
 * A sparse index the fleet sweep watches: only the items waiting for something carry its keys, in
 * one partition, sorted by when it is due. A sweep reads what is due, then one item: the next due.
 */
interface Watch {
  readonly table: 'kiosks' | 'kioskLots';
  readonly index: string;
  readonly partitionKey: string;
  readonly partitionValue: string;
  readonly sortKey: string;
}

const SILENCE: Watch = {
  table: 'kiosks',
  index: 'bySilence',
  partitionKey: 'watch',
  partitionValue: 'online',
  sortKey: 'silentAt',
};
const OUTAGE: Watch = {
  table: 'kiosks',
  index: 'byOutage',
  partitionKey: 'outage',
  partitionValue: 'accrue',
  sortKey: 'outageDueAt',
};
const EXPIRY_ALERT: Watch = {
  table: 'kioskLots',
  index: 'byExpiryAlert',
  partitionKey: 'alertWatch',
  partitionValue: 'pending',
  sortKey: 'alertAt',
};

function watchQuery(watch: Watch, comparison: '<' | '<=' | '>' | '>=', at: string) {
  return {
    TableName: tableName(watch.table),
    IndexName: watch.index,
    KeyConditionExpression: `#partition = :watching AND #due ${comparison} :at`,
    ExpressionAttributeNames: { '#partition': watch.partitionKey, '#due': watch.sortKey },
    ExpressionAttributeValues: { ':watching': watch.partitionValue, ':at': at },
  };
}

/** Every item of `watch` due before (`<`) or by (`<=`) `at`, earliest first, page after page. */
async function dueOn(
  watch: Watch,
  comparison: '<' | '<=',
  at: string,
  reads: ReadCounter,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new QueryCommand({ ...watchQuery(watch, comparison, at), ExclusiveStartKey: startKey }),
    );
    reads.items += page.ScannedCount ?? 0;
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

/** When the next item of `watch` falls due after (`>`) or from (`>=`) `at`: one item read. */
async function nextOn(
  watch: Watch,
  comparison: '>' | '>=',
  at: string,
  reads: ReadCounter,
): Promise<string | undefined> {
  const page = await documentClient.send(
    new QueryCommand({ ...watchQuery(watch, comparison, at), ProjectionExpression: '#due', Limit: 1 }),
  );
  reads.items += page.ScannedCount ?? 0;
  return page.Items?.[0]?.[watch.sortKey] as string | undefined;
}

/** Kiosks watched for silence whose deadline is before `before` (exclusive), earliest first. */
export async function silentKiosks(before: string, reads: ReadCounter): Promise<KioskRecord[]> {
  return (await dueOn(SILENCE, '<', before, reads)) as unknown as KioskRecord[];
}

/** The earliest silence deadline at or after `from`, if any kiosk is watched: one item read. */
export const nextSilence = (from: string, reads: ReadCounter) => nextOn(SILENCE, '>=', from, reads);

/** Outages with offline time due to be counted by `now`: a day just ended, or the kiosk just back. */
export async function outagesToCount(now: string, reads: ReadCounter): Promise<KioskRecord[]> {
  return (await dueOn(OUTAGE, '<=', now, reads)) as unknown as KioskRecord[];
}

/** When the next outage has offline time to count: one item read. */
export const nextOutage = (now: string, reads: ReadCounter) => nextOn(OUTAGE, '>', now, reads);

/** Lot rows whose expiry alert is due by `now` (the rest of the index is not read). */
export async function dueExpiryAlerts(now: string, reads: ReadCounter): Promise<LotRow[]> {
  return (await dueOn(EXPIRY_ALERT, '<=', now, reads)) as unknown as LotRow[];
}

/** The earliest expiry alert due after `now`: one item read. */
export const nextExpiryAlert = (now: string, reads: ReadCounter) => nextOn(EXPIRY_ALERT, '>', now, reads);

export type ItemTarget =
  | { readonly table: 'kiosks'; readonly key: { readonly kioskId: string } }
  | { readonly table: 'kioskLots'; readonly key: { readonly lot: string; readonly kioskSku: string } };

/**
 * One transaction of item changes (a kiosk or lot row, counters, outbox rows). False when a condition
 * failed or another transaction held an item: the state moved on, and the next sweep looks again.
 */
export async function applyChanges(
  changes: readonly { readonly target: ItemTarget; readonly change: ItemChange }[],
  extra: TransactItems = [],
): Promise<boolean> {
  const items: TransactItems = [
    ...changes.map(({ target, change }) => ({
      Update: {
        TableName: tableName(target.table),
        Key: { ...target.key },
        ...expressionsOf(change),
      } as NonNullable<TransactItems[number]['Update']>,
    })),
    ...extra,
  ];
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: items }));
    return true;
  } catch (error) {
    if (cancellationReasons(error)) return false;
    throw error;
  }
}
