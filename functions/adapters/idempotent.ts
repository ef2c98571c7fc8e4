import { randomUUID } from 'node:crypto';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { TableName } from '../../lib/manifest.js';
import { cancellationReasons, documentClient, tableName } from './dynamo.js';

export type TransactItems = NonNullable<
  ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']
>;

export type Written =
  | { readonly status: 'created' }
  /** The guard's key exists: the stored item, to tell a retry from a conflict. */
  | { readonly status: 'exists'; readonly stored: Record<string, unknown> }
  /** The parent item's condition failed and it does not exist. */
  | { readonly status: 'missing' }
  /** The parent changed since it was read (its current state, or {} on a transaction conflict): plan again. */
  | { readonly status: 'stale'; readonly current: Record<string, unknown> };

/** The idempotency guard: put `item` only if its key is new, and hand back the stored one if not. */
export function guardPut(
  table: TableName,
  keyAttribute: string,
  item: Record<string, unknown>,
): TransactItems[number] {
  return {
    Put: {
      TableName: tableName(table),
      Item: item,
      // Key attributes here are plain names (eventId, reportId, enrollmentId), none a reserved word.
      ConditionExpression: `attribute_not_exists(${keyAttribute})`,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/**
 * One transaction whose first item is an idempotency guard (`guardPut`): one
 * round trip whether the write is new or a retry, because a failed condition
 * comes back with the item as it is (ALL_OLD) and needs no second read.
 * `parentIndex` names an item conditioned on what the caller read (a kiosk's
 * stock, an enrollment's event sequence); its failure means "read again".
 *
 * The guard carries a `writeId` of this call: when DynamoDB applied the write but its
 * answer was lost (a 500, a timeout) and the SDK sent it again, the guard finds its own
 * write, and the caller hears "created", not "someone else wrote this".
 */
export async function writeOnce(items: TransactItems, parentIndex?: number): Promise<Written> {
  const guard = items[0]?.Put;
  // A caller that plans again after a conflict keeps one writeId for the whole request (it puts it in
  // the guard item): an earlier attempt whose answer was lost is then still recognised as its own.
  const writeId = (guard?.Item?.writeId as string | undefined) ?? randomUUID();
  const sent = guard ? [{ Put: { ...guard, Item: { ...guard.Item, writeId } } }, ...items.slice(1)] : items;
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: sent }));
    return { status: 'created' };
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (!reasons) throw error;
    if (reasons[0]?.Code === 'ConditionalCheckFailed' && reasons[0].Item) {
      if (guard && reasons[0].Item.writeId === writeId) return { status: 'created' };
      return { status: 'exists', stored: reasons[0].Item };
    }
    const parent = parentIndex === undefined ? undefined : reasons[parentIndex];
    if (parent?.Code === 'ConditionalCheckFailed') {
      return parent.Item ? { status: 'stale', current: parent.Item } : { status: 'missing' };
    }
    // Concurrent transactions on the same items: nothing was written, plan again.
    if (reasons.some((reason) => reason.Code === 'TransactionConflict'))
      return { status: 'stale', current: {} };
    throw error;
  }
}
