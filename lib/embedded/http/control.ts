import * as z from 'zod';
import { conflict, unavailable } from '../../../functions/core/errors.js';
import { isoDateTimeWithZone } from '../../../functions/core/schemas.js';
import { json, jsonBody, routeHandler } from '../../../functions/http/route.js';
import { ClockBackwardsError, NotQuietError, type Scheduler } from '../scheduler.js';

/**
 * Routes of the embedded backend only (contract: "manual clock"): they control the
 * machine Bridgeway runs on, so AWS has no counterpart and the manifest does not list them.
 */
export const controlRoutes = [
  {
    method: 'POST',
    path: '/local/clock',
    auth: { kind: 'staff', roles: ['admin'] },
    summary: 'Move the manual backend clock forward, firing everything due on the way (embedded only)',
  },
] as const;

export const clockAdvanceSchema = z
  .strictObject({ advanceTo: isoDateTimeWithZone() })
  .meta({ id: 'ClockAdvance' });

export function controlHandler(scheduler: Scheduler) {
  return routeHandler(controlRoutes, {
    'POST /local/clock': async (request) => {
      if (!scheduler.manual) {
        throw conflict(
          'clock_not_manual',
          'This backend clock is not manual: start a fresh DATA_DIR with TIME_SCALE=manual to drive it.',
        );
      }
      const { advanceTo } = jsonBody(request, clockAdvanceSchema);
      try {
        const now = await scheduler.advanceTo(new Date(advanceTo));
        return json(200, { now: now.toISOString() });
      } catch (error) {
        if (error instanceof ClockBackwardsError) {
          throw conflict(
            'clock_backwards',
            `The backend clock never goes backwards; it is ${error.now.toISOString()}.`,
          );
        }
        if (error instanceof NotQuietError) throw unavailable(`${error.message}; advance again to retry.`);
        throw error;
      }
    },
  });
}
