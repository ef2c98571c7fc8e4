import type { TopicName } from '../../../lib/manifest.js';
import { stableUuid } from '../../core/ids.js';
import { tableName } from '../dynamo.js';
// A type only: the writers of notices (kiosk events, enrollments, the fleet sweep) do not bundle the
// SNS client; publishing is the relay's (outbox-relay-store.ts).
import type { Notification } from './publisher.js';

/**
 * Transactional outbox. A notification is written in the same DynamoDB transaction as the fact it
 * announces, and that is all the request does: the table's stream hands the new row to the relay
 * (functions/outbox-relay), which publishes it and marks it published. Nothing on the request path
 * publishes or deletes. Rows expire by TTL (`expiresAt`) some days later, once no redelivered stream
 * record can still need their mark. Delivery is at least once: every copy of a message carries the
 * same `messageId`, derived from the fact, so consumers dedupe on it.
 */

/** How long a row is kept after it was written: well past the stream's 24-hour retention, and a weekend. */
export const OUTBOX_KEEP_DAYS = 3;

/** The value of `unpublished` (byUnpublished's partition) on a row no publish has confirmed yet. */
export const UNPUBLISHED = 'pending';

export type OutboxNotification = Notification & { readonly createdAt: string };

export function newNotification(
  topic: TopicName,
  body: Record<string, unknown>,
  now: Date,
  /** What the message announces, unique to it (e.g. the task and the notice): its messageId derives from it. */
  fact: string,
): OutboxNotification {
  const messageId = stableUuid(topic, fact);
  return {
    messageId,
    topic,
    message: JSON.stringify({ ...body, messageId }),
    attributes: { kind: String(body.kind ?? topic) },
    createdAt: now.toISOString(),
  };
}

/** The transaction item that writes a notification: unpublished (in byUnpublished) until the relay confirms it. */
export function outboxPut(notification: OutboxNotification) {
  const expiresAt = Math.floor(Date.parse(notification.createdAt) / 1000) + OUTBOX_KEEP_DAYS * 86_400;
  return {
    Put: {
      TableName: tableName('outbox'),
      Item: { ...notification, unpublished: UNPUBLISHED, expiresAt },
    },
  };
}
