import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { relayOutbox } from '../adapters/outbox.js';

/** Rows younger than this are still being published by the request that wrote them. */
export const RELAY_MIN_AGE_MS = 60_000;

/**
 * Scheduled: publishes notifications whose first publish failed. At start-up
 * the embedded runtime passes `minAgeMs: 0`: no request of its own is in flight,
 * so every row left is an orphan of the previous run.
 */
export const handler = async (event?: {
  minAgeMs?: number;
}): Promise<{ published: number; failed: number }> => {
  const result = await relayOutbox(now(), event?.minAgeMs ?? RELAY_MIN_AGE_MS);
  if (result.published || result.failed) logger.info('outbox relayed', result);
  return result;
};
