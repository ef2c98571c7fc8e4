import { addDays, timeOn } from './days.js';
import {
  CAPACITY,
  type Fact,
  type KioskEventBody,
  type Plan,
  type Send,
  type Site,
  type Stream,
} from './plan.js';
import { chance, intBetween, type Random, stream, uuid } from './random.js';

/**
 * The kiosk fleet's life, laid over a generated plan (issue 10), from the seed alone:
 *
 * - heartbeats twice a day with the cabinet temperature (indoors 19-24 °C, outdoors 8-24 °C);
 * - silences: a kiosk loses its connection for 1-3 days, sends nothing, then flushes what it queued
 *   (its events keep their `occurredAt`; heartbeats of those days are not queued);
 * - temperature excursions: one heartbeat reads hot (30-38 °C) or cold (-4-1 °C), and a technician
 *   swaps the exposed stock the same day (a full restock of the SKUs with a label range, per-item lots);
 * - lots: some restocks (and half the swaps) carry a lot that expires soon, so lot expiry alerts happen.
 *
 * Kiosk streams stay sequential per kiosk, so the backend sees each kiosk's events in plan order.
 */
export const FLEET_PARAMETERS = {
  /**
   * Hours between heartbeats (2 a day; real kiosks send every few minutes, but on the simulator's clock
   * a day's requests arrive together at its end, so more would cost time and show nothing new).
   */
  heartbeatHours: 12,
  /** Chance a kiosk loses its connection on a day (a silence of 1-3 days follows). */
  silenceRate: 0.01,
  /** Chance a kiosk's cabinet leaves its range on a day (outdoor kiosks three times as often). */
  excursionRate: 0.01,
  /** Share of restocks whose lot expires within 45 days. */
  shortLotRate: 0.15,
} as const;

/** SKUs that a temperature can put in quarantine (the ones with a label range) among those kiosks carry. */
const JUDGED = ['naloxone-nasal-4mg', 'naloxone-nasal-8mg', 'fentanyl-test-strips', 'xylazine-test-strips'];
const LABEL: Readonly<Record<string, string>> = { 'naloxone-nasal-4mg': 'otc-2023' };
const DAY_SECONDS = 86_400;

const pad = (n: number, width: number) => String(n).padStart(width, '0');

function kioskSend(kioskId: string, event: KioskEventBody): Send {
  const fact: Fact = { kind: 'kiosk-event', key: `${kioskId}/${event.eventId}`, kioskId, event };
  return { fact, retry: false, reorder: false };
}

function temperature(random: Random, outdoor: boolean): number {
  const [low, high] = outdoor ? [8, 24] : [19, 24];
  return Math.round((low + random() * (high - low)) * 10) / 10;
}

function excursion(random: Random): number {
  return chance(random, 0.6)
    ? Math.round((30 + random() * 8) * 10) / 10
    : Math.round((-4 + random() * 5) * 10) / 10;
}

/** A restock whose lot expires soon: the same fact everywhere it is sent (retries included). */
function shortened(send: Send, expiresOn: string): Send {
  if (send.fact.kind !== 'kiosk-event' || send.fact.event.type !== 'restock') return send;
  const event = { ...send.fact.event, expiresOn };
  return { ...send, fact: { ...send.fact, event } };
}

export function withFleet(plan: Plan): Plan {
  const { parameters, startDay } = plan;
  const days = plan.days.length;
  // Each kiosk's stream per day, by its key (k:0000, as the plan names them).
  const kioskDays = plan.kiosks.map((_, k) =>
    plan.days.map((day) => [...(day.streams.find((s) => s.key === `k:${pad(k, 4)}`)?.sends ?? [])]),
  );

  plan.kiosks.forEach((kiosk, k) => {
    const random = stream(parameters.seed, 'fleet', kiosk.kioskId);
    const site = plan.sites.find((candidate) => candidate.siteId === kiosk.siteId) as Site;
    const outdoor = site.kind === 'outdoor';
    const sends = kioskDays[k] as Send[][];
    // Lots that expire soon: decided per restock fact, so a retry carries the same expiry.
    const expiries = new Map<string, string>();
    for (let d = 0; d < days; d += 1) {
      sends[d] = (sends[d] ?? []).map((send) => {
        if (send.fact.kind !== 'kiosk-event' || send.fact.event.type !== 'restock') return send;
        let expiresOn = expiries.get(send.fact.key);
        if (expiresOn === undefined && !send.retry && chance(random, FLEET_PARAMETERS.shortLotRate)) {
          expiresOn = addDays(send.fact.event.occurredAt.slice(0, 10), intBetween(random, 21, 45));
          expiries.set(send.fact.key, expiresOn);
        }
        return expiresOn ? shortened(send, expiresOn) : send;
      });
    }

    let silentUntil = -1;
    let swaps = 0;
    for (let d = 0; d < days; d += 1) {
      const day = addDays(startDay, d);
      if (d <= silentUntil) continue;
      // A silence: nothing goes out for 1-3 days; what the kiosk queued goes out the day after.
      if (d > 0 && chance(random, FLEET_PARAMETERS.silenceRate)) {
        const last = d + intBetween(random, 0, 2);
        if (last + 1 < days) {
          const queued: Send[] = [];
          for (let q = d; q <= last; q += 1) {
            queued.push(...(sends[q] ?? []));
            sends[q] = [];
          }
          sends[last + 1] = [...queued, ...(sends[last + 1] ?? [])];
          silentUntil = last;
          continue;
        }
      }
      const hot = chance(random, FLEET_PARAMETERS.excursionRate * (outdoor ? 3 : 1));
      const readings = Math.floor(24 / FLEET_PARAMETERS.heartbeatHours);
      const excursionAt = hot ? intBetween(random, 0, readings - 1) : -1;
      const heartbeats: Send[] = [];
      for (let r = 0; r < readings; r += 1) {
        const second = r * FLEET_PARAMETERS.heartbeatHours * 3600 + intBetween(random, 0, 600);
        heartbeats.push(
          kioskSend(kiosk.kioskId, {
            eventId: uuid(random),
            type: 'heartbeat',
            occurredAt: timeOn(day, second),
            temperatureC: r === excursionAt ? excursion(random) : temperature(random, outdoor),
          }),
        );
      }
      const extra: Send[] = [...heartbeats];
      if (hot) {
        // A technician swaps every SKU the reading may have put in quarantine: a full load, new lots.
        swaps += 1;
        extra.push(
          kioskSend(kiosk.kioskId, {
            eventId: uuid(random),
            type: 'restock',
            occurredAt: timeOn(day, DAY_SECONDS - 60),
            items: JUDGED.map((sku) => ({
              sku,
              quantity: CAPACITY[sku] ?? 10,
              lot: `SWAP${parameters.seed}-${kiosk.kioskId.slice(-3)}-${pad(swaps, 3)}-${sku.slice(0, 3)}`,
              // Half the swapped lots expire soon: their expiry alerts fall within the simulated days.
              expiresOn: addDays(
                day,
                chance(random, 0.5) ? intBetween(random, 25, 60) : intBetween(random, 300, 700),
              ),
              ...(LABEL[sku] ? { labelVersion: LABEL[sku] } : {}),
            })),
          }),
        );
      }
      sends[d] = [...(sends[d] ?? []), ...extra];
    }
  });

  return {
    ...plan,
    days: plan.days.map((day, d) => {
      const others = day.streams.filter((s) => !s.key.startsWith('k:'));
      const kiosks: Stream[] = plan.kiosks
        .map((_, k) => ({ key: `k:${pad(k, 4)}`, sends: kioskDays[k]?.[d] ?? [] }))
        .filter((s) => s.sends.length > 0);
      return {
        ...day,
        streams: [...kiosks, ...others].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
      };
    }),
  };
}
