import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { counterUpdates } from '../adapters/aggregates-store.js';
import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { newNotification, outboxPut } from '../adapters/notices/outbox.js';
import { outboxRows, publishRow, republishUnconfirmed } from '../adapters/notices/outbox-relay-store.js';
import { count, gauge, observed } from '../adapters/observability.js';
import { kioskEscalations, markEscalated, type TaskRecord } from '../adapters/staff/task-store.js';
import type { ScheduledRun } from '../core/schedule.js';
import { countsInOutreach, escalationCounters, outreachCounterKey } from '../core/staff/outreach.js';
import { messageKindOf } from '../core/staff/tasks.js';

/**
 * Rows younger than this are left to the stream: its retries (8, backing off) run their course in a few
 * minutes. Older unconfirmed ones are the stream's leftovers, republished by the schedule.
 */
export const RELAY_MIN_AGE_MS = 10 * 60_000;

/**
 * Escalates each kiosk contact task open for 24 hours, once: the escalation mark
 * and its notification are one transaction, conditioned on the task being open
 * and not escalated yet, so a re-run or a concurrent completion changes nothing.
 */
async function escalateKioskTasks(at: Date, due: readonly TaskRecord[]): Promise<number> {
  let escalated = 0;
  for (const task of due) {
    const notification = newNotification(
      'outreach-escalation',
      {
        kind: 'escalation',
        taskKind: messageKindOf(task),
        taskId: task.taskId,
        kioskId: String(task.kioskId),
        siteId: task.siteId,
        dueAt: task.dueAt,
        escalatedAt: at.toISOString(),
      },
      at,
      `${task.taskId}/escalation`,
    );
    const marked = await markEscalated(task.taskId, at, [
      outboxPut(notification),
      ...(countsInOutreach(task)
        ? counterUpdates([{ key: outreachCounterKey(task), counters: escalationCounters() }])
        : []),
    ]);
    // Published from the outbox table's stream; a task completed or escalated meanwhile is passed over.
    if (marked) escalated += 1;
  }
  return escalated;
}

/**
 * The outbox table's stream (new rows only: the event source mapping filters out the relay's own
 * marks and TTL deletions): publishes each row not published yet, and answers the records whose
 * publish failed, so that the stream retries from the first of them (ReportBatchItemFailures). A
 * record delivered again finds its row marked and is passed over; a row that is gone was withdrawn.
 */
async function relayStream(event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> {
  const at = now();
  const records = event.Records.map((record) => ({
    sequence: String(record.dynamodb?.SequenceNumber ?? ''),
    messageId: record.dynamodb?.Keys?.messageId?.S,
  }));
  const { rows, unread } = await outboxRows(
    records.flatMap(({ messageId }) => (messageId ? [messageId] : [])),
  );
  const failed: string[] = [];
  let published = 0;
  for (const { sequence, messageId } of records) {
    if (messageId && unread.includes(messageId)) {
      failed.push(sequence);
      continue;
    }
    const row = messageId ? rows.get(messageId) : undefined;
    if (!row || row.publishedAt) continue;
    try {
      await publishRow(row, at);
      published += 1;
    } catch (error) {
      failed.push(sequence);
      logger.warn('stream publish failed; the stream delivers it again', {
        messageId,
        topic: row.topic,
        errorName: (error as Error).name,
      });
    }
  }
  if (failed.length) logger.info('outbox stream batch', { published, failed: failed.length });
  return { batchItemFailures: failed.map((itemIdentifier) => ({ itemIdentifier })) };
}

const isStreamEvent = (event: unknown): event is DynamoDBStreamEvent =>
  Array.isArray((event as { Records?: unknown } | undefined)?.Records);

/**
 * Scheduled: escalates kiosk contact tasks nobody completed within 24 hours (their notices go out
 * through the stream), republishes outbox rows the stream left unconfirmed, and reports the age of
 * the oldest unconfirmed one. At start-up (and at every step of a manual clock) the embedded runtime
 * passes `minAgeMs: 0` once the stream has delivered all it had: every row left is an orphan.
 */
async function scheduledRun(event?: { minAgeMs?: number }): Promise<ScheduledRun> {
  const at = now();
  // Before escalating: an escalation's own row is the stream's to publish, not an orphan to republish.
  const { published, failed, pending, oldestPendingAt } = await republishUnconfirmed(
    at,
    event?.minAgeMs ?? RELAY_MIN_AGE_MS,
  );
  const escalations = await kioskEscalations(at);
  const escalated = await escalateKioskTasks(at, escalations.due);
  count('tasksEscalated', escalated);
  // Every run, 0 when nothing is unconfirmed: a missing value means the relay did not run (the alarm treats it so).
  gauge('outboxPending', pending, 'Count');
  gauge(
    'outboxOldestAgeSeconds',
    oldestPendingAt ? Math.max(0, Math.round((at.getTime() - Date.parse(oldestPendingAt)) / 1000)) : 0,
    'Seconds',
  );
  if (published || failed || escalated) logger.info('outbox relayed', { published, failed, escalated });
  return { done: { published, escalated }, failed, nextDueAt: escalations.nextAt };
}

/** One function, two triggers: the outbox table's stream, and its schedule. */
export const handler = observed(
  async (
    event?: DynamoDBStreamEvent | { minAgeMs?: number },
  ): Promise<DynamoDBBatchResponse | ScheduledRun> =>
    isStreamEvent(event) ? relayStream(event) : scheduledRun(event),
);
