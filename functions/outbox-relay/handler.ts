import { now } from '../adapters/clock.js';
import { logger } from '../adapters/logger.js';
import { relayOutbox } from '../adapters/outbox.js';

/** Rows younger than this are still being published by the request that wrote them. */
export const RELAY_MIN_AGE_MS = 60_000;

/** Scheduled: publishes notifications whose first publish failed. */
export const handler = async (): Promise<{ published: number; failed: number }> => {
  const result = await relayOutbox(now(), RELAY_MIN_AGE_MS);
  if (result.published || result.failed) logger.info('outbox relayed', result);
  return result;
};
