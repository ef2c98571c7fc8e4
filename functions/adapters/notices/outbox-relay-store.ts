import { BatchGetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { backoff } from '../../core/backoff.js';
import { documentClient, isConditionalCheckFailed, tableName } from '../dynamo.js';
import { logger } from '../logger.js';
import { count } from '../observability.js';
import { type OutboxNotification, UNPUBLISHED } from './outbox.js';
import { publisher } from './publisher.js';

/** The relay's side of the outbox (outbox.ts): reading rows, publishing them, the safety net. */

/** An outbox row as stored. */
export interface OutboxRow extends OutboxNotification {
  readonly publishedAt?: string;
}

/**
 * The rows of these messageIds as they are now (consistent reads): a row that is gone was withdrawn
 * (a consent withdrawn before it went out) and must not be published; one with `publishedAt` went out
 * already. Ids DynamoDB keeps handing back unprocessed are in `unread`.
 */
export async function outboxRows(
  messageIds: readonly string[],
): Promise<{ rows: Map<string, OutboxRow>; unread: string[] }> {
  const rows = new Map<string, OutboxRow>();
  const table = tableName('outbox');
  let unread: string[] = [];
  for (let start = 0; start < messageIds.length; start += 100) {
    let keys = [...new Set(messageIds.slice(start, start + 100))].map((messageId) => ({ messageId }));
    for (let attempt = 1; keys.length > 0 && attempt <= 5; attempt += 1) {
      if (attempt > 1) await backoff(attempt);
      const out = await documentClient.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[table] ?? []) rows.set(String(item.messageId), item as OutboxRow);
      keys = (out.UnprocessedKeys?.[table]?.Keys ?? []) as { messageId: string }[];
    }
    unread = [...unread, ...keys.map((key) => key.messageId)];
  }
  return { rows, unread };
}

/**
 * Publishes a row, then marks it published (it leaves byUnpublished). Publish first: a crash between
 * the two publishes it again later under the same messageId, never not at all. A row deleted meanwhile
 * stays deleted (the mark is conditioned on the row being there).
 */
export async function publishRow(row: OutboxRow, now: Date): Promise<void> {
  await publisher().publish(row);
  count('notificationsPublished');
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName('outbox'),
        Key: { messageId: row.messageId },
        UpdateExpression: 'SET publishedAt = :at REMOVE unpublished',
        ConditionExpression: 'attribute_exists(messageId)',
        ExpressionAttributeValues: { ':at': now.toISOString() },
      }),
    );
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
  }
}

/**
 * The safety net behind the stream: republishes rows still unconfirmed `minAgeMs` after they were
 * written (the stream set their record aside after its retries, or was behind or disabled), and
 * reports what is still unconfirmed after the run, for the age alarm. Reads byUnpublished only: a
 * few items, whatever the number of published rows the table keeps until they expire.
 */
export async function republishUnconfirmed(
  now: Date,
  minAgeMs: number,
): Promise<{ published: number; failed: number; pending: number; oldestPendingAt?: string }> {
  const cutoff = new Date(now.getTime() - minAgeMs).toISOString();
  let published = 0;
  let failed = 0;
  let pending = 0;
  let oldestPendingAt: string | undefined;
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new QueryCommand({
        TableName: tableName('outbox'),
        IndexName: 'byUnpublished',
        KeyConditionExpression: 'unpublished = :pending',
        ExpressionAttributeValues: { ':pending': UNPUBLISHED },
        ExclusiveStartKey: startKey,
        Limit: 100,
      }),
    );
    for (const item of page.Items ?? []) {
      const row = item as OutboxRow;
      if (row.createdAt <= cutoff) {
        // The index may lag the table: the row as it is now decides (gone, or published meanwhile).
        const { rows } = await outboxRows([row.messageId]);
        const current = rows.get(row.messageId);
        if (!current || current.publishedAt) continue;
        try {
          await publishRow(current, now);
          published += 1;
          continue;
        } catch (error) {
          failed += 1;
          logger.warn('relay publish failed', { messageId: row.messageId, errorName: (error as Error).name });
        }
      }
      // Still unconfirmed after this run (too young to republish, or failed again): the age alarm's input.
      pending += 1;
      if (!oldestPendingAt || row.createdAt < oldestPendingAt) oldestPendingAt = row.createdAt;
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { published, failed, pending, ...(oldestPendingAt ? { oldestPendingAt } : {}) };
}
