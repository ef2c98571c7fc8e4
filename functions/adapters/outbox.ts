import { BatchWriteCommand, DeleteCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { TopicName } from '../../lib/manifest.js';
import { stableUuid } from '../core/ids.js';
import { documentClient, tableName } from './dynamo.js';
import { logger } from './logger.js';
import { count } from './observability.js';
import { type Notification, publisher } from './publisher.js';

/**
 * Transactional outbox. A notification is written in the same DynamoDB
 * transaction as the fact it announces, published right after the commit and
 * then deleted. If the publish fails (or the process dies first) the row stays
 * and the relay publishes it later, so no notification is silently dropped.
 * Delivery is at least once: each message carries its `messageId` attribute.
 */
export function newNotification(
  topic: TopicName,
  body: Record<string, unknown>,
  now: Date,
  /** What the message announces, unique to it (e.g. the task and the notice): its messageId derives from it. */
  fact: string,
): Notification & { createdAt: string } {
  const messageId = stableUuid(topic, fact);
  return {
    messageId,
    topic,
    message: JSON.stringify({ ...body, messageId }),
    attributes: { kind: String(body.kind ?? topic) },
    createdAt: now.toISOString(),
  };
}

export function outboxPut(notification: Notification & { createdAt: string }) {
  return { Put: { TableName: tableName('outbox'), Item: { ...notification } } };
}

/** Publishes committed notifications; returns how many are left for the relay. */
export async function deliver(notifications: readonly Notification[]): Promise<number> {
  if (notifications.length === 0) return 0;
  const published: Notification[] = [];
  for (const notification of notifications) {
    try {
      await publisher().publish(notification);
      published.push(notification);
    } catch (error) {
      logger.warn('publish failed; left in the outbox for the relay', {
        messageId: notification.messageId,
        topic: notification.topic,
        errorName: (error as Error).name,
      });
    }
  }
  count('notificationsPublished', published.length);
  // BatchWriteItem takes 25 requests at most: a sweep may publish more than that at once.
  for (let start = 0; start < published.length; start += 25) {
    try {
      await documentClient.send(
        new BatchWriteCommand({
          RequestItems: {
            [tableName('outbox')]: published.slice(start, start + 25).map(({ messageId }) => ({
              DeleteRequest: { Key: { messageId } },
            })),
          },
        }),
      );
    } catch (error) {
      // The messages went out; the relay will send them once more. Consumers dedupe on messageId.
      logger.warn('outbox cleanup failed', { errorName: (error as Error).name });
    }
  }
  return notifications.length - published.length;
}

/**
 * Publishes outbox rows older than `minAgeMs` (younger ones are still being
 * delivered by the request that wrote them). The outbox is empty but for
 * failures, so a scan is cheap.
 */
export async function relayOutbox(
  now: Date,
  minAgeMs: number,
): Promise<{ published: number; failed: number; pending: number; oldestPendingAt?: string }> {
  const cutoff = new Date(now.getTime() - minAgeMs).toISOString();
  let published = 0;
  let failed = 0;
  // What is still unpublished after this run (too young to relay, or failed again): the age alarm's input.
  let pending = 0;
  let oldestPendingAt: string | undefined;
  const stillPending = (createdAt: string) => {
    pending += 1;
    if (!oldestPendingAt || createdAt < oldestPendingAt) oldestPendingAt = createdAt;
  };
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new ScanCommand({ TableName: tableName('outbox'), ExclusiveStartKey: startKey, Limit: 100 }),
    );
    for (const row of page.Items ?? []) {
      if (String(row.createdAt) > cutoff) {
        stillPending(String(row.createdAt));
        continue;
      }
      const notification = row as Notification;
      try {
        await publisher().publish(notification);
        await documentClient.send(
          new DeleteCommand({ TableName: tableName('outbox'), Key: { messageId: row.messageId } }),
        );
        published += 1;
        count('notificationsPublished');
      } catch (error) {
        failed += 1;
        stillPending(String(row.createdAt));
        logger.warn('relay publish failed', { messageId: row.messageId, errorName: (error as Error).name });
      }
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return { published, failed, pending, ...(oldestPendingAt ? { oldestPendingAt } : {}) };
}
