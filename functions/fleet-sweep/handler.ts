import { counterUpdate } from '../adapters/aggregates-store.js';
import { now } from '../adapters/clock.js';
import {
  applyChanges,
  dueExpiryAlerts,
  nextExpiryAlert,
  nextOutage,
  nextSilence,
  outagesToCount,
  ReadCounter,
  silentKiosks,
} from '../adapters/fleet/fleet-store.js';
import { logger } from '../adapters/logger.js';
import { newNotification, outboxPut } from '../adapters/notices/outbox.js';
import { count, observed } from '../adapters/observability.js';
import { aggregateKey } from '../core/aggregates.js';
import { expiryAlertChange, outageCount, silenceChange, silenceNotice } from '../core/fleet/fleet-sweep.js';
import type { ScheduledRun } from '../core/schedule.js';

/**
 * Scheduled (every 15 minutes in AWS; embedded, at every step of the backend clock and at the time it
 * says it next has work): the fleet's clock-driven facts, read from sparse indexes only, so a run
 * reads what is due and one more item per index, whatever the size of the fleet.
 *
 * 1. Outages: the offline time of kiosks offline now (whole UTC days, as they pass) and of kiosks
 *    heard again (the rest) is added to the report counters, once (conditioned on how far it was counted).
 * 2. Silence: kiosks past their deadline are marked offline, each with one kiosk-ops message (an
 *    outbox row written with the mark; the outbox table's stream publishes it).
 * 3. Expiry: each lot at a kiosk gets one restock alert, `expiryAlertDays` before it expires.
 */
export const handler = observed(async (): Promise<ScheduledRun & { itemsRead: number }> => {
  const at = now();
  const atIso = at.toISOString();
  const reads = new ReadCounter();
  let counted = 0;
  let silent = 0;
  let expiryAlerts = 0;
  let stale = 0;

  for (const kiosk of await outagesToCount(atIso, reads)) {
    const plan = outageCount(kiosk, at);
    for (const step of plan.steps) {
      const counters = step.days.map(({ day, seconds }) => ({
        Update: counterUpdate(aggregateKey('naloxone', day, kiosk.siteId, kiosk.kioskId), {
          [`offlineSeconds:${kiosk.kioskId}`]: seconds,
        }),
      }));
      if (
        !(await applyChanges(
          [{ target: { table: 'kiosks', key: { kioskId: kiosk.kioskId } }, change: step.change }],
          counters,
        ))
      ) {
        stale += 1;
        break;
      }
      counted += 1;
    }
  }

  for (const kiosk of await silentKiosks(atIso, reads)) {
    const notice = newNotification(
      'kiosk-ops',
      silenceNotice(kiosk, at),
      at,
      `kiosk-silent/${kiosk.kioskId}/${kiosk.silentAt}`,
    );
    const marked = await applyChanges(
      [{ target: { table: 'kiosks', key: { kioskId: kiosk.kioskId } }, change: silenceChange(kiosk) }],
      [outboxPut(notice)],
    );
    if (!marked) {
      stale += 1;
      continue;
    }
    silent += 1;
    logger.info('kiosk silent', { kioskId: kiosk.kioskId, silentAt: kiosk.silentAt });
  }

  for (const row of await dueExpiryAlerts(atIso, reads)) {
    const plan = expiryAlertChange(row, at);
    const notice = plan.notice
      ? newNotification('restock', plan.notice, at, `lot-expiring/${row.lot}/${row.kioskSku}`)
      : undefined;
    const done = await applyChanges(
      [
        {
          target: { table: 'kioskLots', key: { lot: row.lot, kioskSku: row.kioskSku } },
          change: plan.change,
        },
      ],
      notice ? [outboxPut(notice)] : [],
    );
    if (!done) {
      stale += 1;
      continue;
    }
    if (notice) expiryAlerts += 1;
  }

  // When there is next work: the next silence deadline (a kiosk is offline once it has passed), the next
  // expiry alert, and the next outage day to count. One item read each.
  const deadline = await nextSilence(atIso, reads);
  const alert = await nextExpiryAlert(atIso, reads);
  const outage = await nextOutage(atIso, reads);
  const candidates = [
    deadline ? Date.parse(deadline) + 1 : undefined,
    alert ? Date.parse(alert) : undefined,
    outage ? Date.parse(outage) : undefined,
  ].filter((time): time is number => time !== undefined && time > at.getTime());

  count('kiosksSilent', silent);
  count('lotExpiryAlerts', expiryAlerts);
  if (counted || silent || expiryAlerts || stale)
    logger.info('fleet swept', { counted, silent, expiryAlerts, stale, itemsRead: reads.items });
  return {
    // `stale` counts as work: a change raced an event, so the next settle round looks again.
    done: { counted, silent, expiryAlerts, stale },
    // Its notices were written with its changes; the outbox table's stream publishes them.
    failed: 0,
    ...(candidates.length ? { nextDueAt: new Date(Math.min(...candidates)).toISOString() } : {}),
    itemsRead: reads.items,
  };
});
