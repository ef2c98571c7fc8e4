/**
 * The kiosk fleet as the page shows it, read defensively from `GET /v1/kiosks` (contract: "Kiosk
 * fleet": each kiosk's siteId, stock per SKU and per lot, lastSeenAt, open faults and status) —
 * whatever exact shape a backend gives stock, lots and faults.
 */

export interface LotView {
  readonly lot: string;
  readonly sku?: string;
  readonly expiresOn?: string;
  readonly quantity?: number;
}

export interface StockView {
  readonly sku: string;
  readonly available?: number;
  readonly quarantined?: number;
  readonly lots: LotView[];
}

export interface KioskView {
  readonly kioskId: string;
  readonly siteId: string;
  readonly siteName?: string;
  readonly statuses: string[];
  readonly lastSeenAt?: string;
  readonly faults: string[];
  readonly stock: StockView[];
}

const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const num = (...values: unknown[]): number | undefined =>
  values.find((v): v is number => typeof v === 'number');
const str = (...values: unknown[]): string | undefined =>
  values.find((v): v is string => typeof v === 'string' && v !== '');

function lotsOf(value: unknown, sku?: string): LotView[] {
  if (Array.isArray(value))
    return value.map(record).map((lot) => ({
      lot: str(lot.lot, lot.lotId, lot.id) ?? 'unknown lot',
      sku: str(lot.sku) ?? sku,
      expiresOn: str(lot.expiresOn, lot.expiry, lot.expiresAt),
      quantity: num(lot.quantity, lot.count, lot.units, lot.available),
    }));
  // { "<lot>": count } or { "<lot>": { quantity, expiresOn } }
  return Object.entries(record(value)).map(([lot, inner]) =>
    typeof inner === 'number'
      ? { lot, sku, quantity: inner }
      : {
          lot,
          sku: str(record(inner).sku) ?? sku,
          expiresOn: str(record(inner).expiresOn, record(inner).expiry),
          quantity: num(record(inner).quantity, record(inner).count, record(inner).available),
        },
  );
}

function stockOf(kiosk: Record<string, unknown>): StockView[] {
  const raw = kiosk.stock ?? kiosk.inventory ?? {};
  const entries: [string, unknown][] = Array.isArray(raw)
    ? raw.map(record).map((item) => [str(item.sku) ?? 'unknown', item])
    : Object.entries(record(raw));
  return entries.map(([sku, value]) => {
    if (typeof value === 'number') return { sku, available: value, lots: [] };
    const item = record(value);
    return {
      sku,
      available: num(item.available, item.quantity, item.count, item.total, item.units),
      quarantined: num(item.quarantined, item.quarantinedUnits),
      lots: lotsOf(item.lots ?? item.byLot, sku),
    };
  });
}

function faultsOf(value: unknown): string[] {
  if (Array.isArray(value))
    return value.map((fault) =>
      typeof fault === 'string' ? fault : (str(record(fault).code, record(fault).type) ?? 'fault'),
    );
  return Object.keys(record(value));
}

export function kioskView(value: unknown): KioskView {
  const kiosk = record(value);
  const status = kiosk.status ?? kiosk.statuses;
  const statuses = Array.isArray(status)
    ? status.filter((s): s is string => typeof s === 'string')
    : str(status)
      ? [status as string]
      : [];
  const stock = stockOf(kiosk);
  // A quarantine is a status of the machine for the page, whichever way the backend says it.
  if (stock.some((item) => (item.quarantined ?? 0) > 0) && !statuses.includes('quarantined'))
    statuses.push('quarantined');
  return {
    kioskId: str(kiosk.kioskId) ?? 'unknown',
    siteId: str(kiosk.siteId) ?? '—',
    siteName: str(kiosk.siteName),
    statuses: statuses.length ? statuses : ['unknown'],
    lastSeenAt: str(kiosk.lastSeenAt),
    faults: faultsOf(kiosk.openFaults ?? kiosk.faults),
    stock,
  };
}

/** Lots at a kiosk that expire within `days` days of `today` (or have expired), soonest first. */
export function lotsNearExpiry(kiosk: KioskView, today: string, days: number, listed?: unknown): LotView[] {
  const horizon = new Date(Date.parse(`${today}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  const fromStock = kiosk.stock.flatMap((item) => item.lots);
  const extra = Array.isArray(listed) ? lotsOf(listed) : [];
  const seen = new Set<string>();
  return [...extra, ...fromStock]
    .filter((lot) => lot.expiresOn && lot.expiresOn.slice(0, 10) <= horizon)
    .filter((lot) => {
      const key = `${lot.sku}|${lot.lot}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .sort((a, b) => String(a.expiresOn).localeCompare(String(b.expiresOn)));
}

export const STATUS_LABELS: Record<string, string> = {
  ok: 'OK',
  'low-stock': 'Low stock',
  faulted: 'Faulted',
  offline: 'Offline',
  quarantined: 'Quarantined',
  unknown: 'Unknown',
};
