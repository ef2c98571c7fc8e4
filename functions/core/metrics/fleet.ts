import type { AggregateRow } from '../aggregate-row.js';
import { SKUS } from '../schemas.js';
import { type Cell, cell, SMALL_CELL_LIMIT } from './suppression.js';

/**
 * The kiosk fleet's figures in the naloxone report, and their definitions: kits by lot, quarantined
 * units and offline hours per kiosk. Read from the same day-and-site counters as the rest of the
 * report (written with the event, or by the fleet sweep), so they cost no extra reads.
 */
export const fleetDefinitions = {
  kitsByLot: {
    numerator:
      'units given out per SKU and lot: each dispensed unit is taken from the lot that expires first',
    window: 'occurredAt within [from, to], UTC days inclusive',
    exclusions:
      'units the recorded stock did not have (stockMismatchUnits) belong to no lot; stock that came without a lot is shown as lot null',
  },
  quarantinedUnits: {
    numerator:
      'units put in quarantine: the stock a SKU held at a kiosk when a heartbeat or fault reading fell outside the SKU label range',
    window: 'occurredAt of the reading within [from, to], UTC days inclusive',
    exclusions:
      'readings while the SKU was already quarantined; SKUs with nothing in stock or no label range',
  },
  offlineHours: {
    numerator:
      'hours a kiosk was offline: from its silence deadline (last heard + offlineAfterMinutes) until it was heard again',
    window:
      'the part of each outage within [from, to], UTC days inclusive; an outage still running is counted day by day as each UTC day ends',
    exclusions: 'hours in 2 decimals; a kiosk offline for no hour of the range is not listed',
  },
  fleetSmallCells: {
    rule: `per-lot, per-SKU and per-kiosk cells under ${SMALL_CELL_LIMIT} (0 included) are shown as "<${SMALL_CELL_LIMIT}" unless raw=true; the totals quarantinedUnits and offlineHours are exact`,
  },
} as const;

const hours = (seconds: number) => Math.round((seconds / 3600) * 100) / 100;

/** Lot counters are `lot:<sku>:<lot>` (an empty lot: stock without one); a SKU has no colon. */
function parseLot(name: string): { sku: string; lot: string | null } | undefined {
  if (!name.startsWith('lot:')) return undefined;
  const rest = name.slice(4);
  const cut = rest.indexOf(':');
  if (cut < 0) return undefined;
  const lot = rest.slice(cut + 1);
  return { sku: rest.slice(0, cut), lot: lot === '' ? null : lot };
}

export function fleetFigures(rows: readonly AggregateRow[], raw: boolean) {
  const byLot = new Map<string, { sku: string; lot: string | null; kits: number }>();
  const quarantinedBySku: Record<string, number> = {};
  const offline = new Map<string, { siteId: string; seconds: number }>();
  let quarantinedUnits = 0;
  let offlineSeconds = 0;
  for (const row of rows) {
    for (const [name, value] of Object.entries(row.counters)) {
      const lot = parseLot(name);
      if (lot) {
        const key = JSON.stringify([lot.sku, lot.lot]);
        const entry = byLot.get(key) ?? { ...lot, kits: 0 };
        entry.kits += value;
        byLot.set(key, entry);
      } else if (name === 'quarantinedUnits') {
        quarantinedUnits += value;
      } else if (name.startsWith('quarantined:')) {
        const sku = name.slice('quarantined:'.length);
        quarantinedBySku[sku] = (quarantinedBySku[sku] ?? 0) + value;
      } else if (name.startsWith('offlineSeconds:')) {
        const kioskId = name.slice('offlineSeconds:'.length);
        const entry = offline.get(kioskId) ?? { siteId: row.siteId, seconds: 0 };
        entry.seconds += value;
        offline.set(kioskId, entry);
        offlineSeconds += value;
      }
    }
  }
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return {
    kitsByLot: [...byLot.values()]
      .sort((a, b) => compare(a.sku, b.sku) || compare(a.lot ?? '', b.lot ?? ''))
      .map(({ sku, lot, kits }): { lot: string | null; sku: string; kits: Cell } => ({
        lot,
        sku,
        kits: cell(kits, raw),
      })),
    quarantinedUnits,
    quarantinedUnitsBySku: Object.fromEntries(
      SKUS.filter((sku) => sku in quarantinedBySku).map((sku) => [
        sku,
        cell(quarantinedBySku[sku] ?? 0, raw),
      ]),
    ) as Record<string, Cell>,
    offlineHours: hours(offlineSeconds),
    offlineByKiosk: [...offline]
      .sort(([a], [b]) => compare(a, b))
      .map(([kioskId, { siteId, seconds }]): { kioskId: string; siteId: string; offlineHours: Cell } => ({
        kioskId,
        siteId,
        offlineHours: cell(hours(seconds), raw),
      })),
  };
}
