import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { counterUpdates } from '../adapters/aggregates-store.js';
import { now } from '../adapters/clock.js';
import { cancellationReasons, documentClient, tableName } from '../adapters/dynamo.js';
import { logger } from '../adapters/logger.js';
import { count, gauge, observed } from '../adapters/observability.js';
import { deliver, newNotification, outboxPut, relayOutbox } from '../adapters/outbox.js';
import { kioskEscalations, type TaskRecord } from '../adapters/task-store.js';
import { countsInOutreach, escalationCounters, outreachCounterKey } from '../core/outreach.js';
import type { ScheduledRun } from '../core/schedule.js';
import { messageKindOf } from '../core/tasks.js';

/** Rows younger than this are still being published by the request that wrote them. */
export const RELAY_MIN_AGE_MS = 60_000;

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
    try {
      await documentClient.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: tableName('tasks'),
                Key: { taskId: task.taskId },
                UpdateExpression: 'SET escalatedAt = :at',
                ConditionExpression: '#status = :open AND attribute_not_exists(escalatedAt)',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':at': at.toISOString(), ':open': 'open' },
              },
            },
            outboxPut(notification),
            ...(countsInOutreach(task)
              ? counterUpdates([{ key: outreachCounterKey(task), counters: escalationCounters() }])
              : []),
          ],
        }),
      );
    } catch (error) {
      if (cancellationReasons(error)) continue; // completed or escalated meanwhile
      throw error;
    }
    await deliver([notification]);
    escalated += 1;
  }
  return escalated;
}

/**
 * Scheduled: publishes notifications whose first publish failed, and escalates
 * kiosk contact tasks nobody completed within 24 hours. At start-up (and at every
 * step of a manual clock) the embedded runtime passes `minAgeMs: 0`: no request of
 * its own is in flight, so every outbox row left is an orphan.
 */
export const handler = observed(async (event?: { minAgeMs?: number }): Promise<ScheduledRun> => {
  const at = now();
  const escalations = await kioskEscalations(at);
  const escalated = await escalateKioskTasks(at, escalations.due);
  const { published, failed, pending, oldestPendingAt } = await relayOutbox(
    at,
    event?.minAgeMs ?? RELAY_MIN_AGE_MS,
  );
  count('tasksEscalated', escalated);
  // Every run, 0 when the outbox is empty: a missing value means the relay did not run (the alarm treats it so).
  gauge('outboxPending', pending, 'Count');
  gauge(
    'outboxOldestAgeSeconds',
    oldestPendingAt ? Math.max(0, Math.round((at.getTime() - Date.parse(oldestPendingAt)) / 1000)) : 0,
    'Seconds',
  );
  if (published || failed || escalated) logger.info('outbox relayed', { published, failed, escalated });
  return { done: { published, escalated }, failed, nextDueAt: escalations.nextAt };
});
