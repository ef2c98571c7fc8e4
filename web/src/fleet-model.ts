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
  /** As the server derived it (the kiosk's expiry alert window), when it says. */
  readonly expiringSoon?: boolean;
  readonly expired?: boolean;
}

export interface StockView {
  readonly sku: string;
  readonly available?: number;
  readonly quarantined?: number;
  readonly lowStock?: boolean;
  readonly lots: LotView[];
}

export interface KioskView {
  readonly kioskId: string;
  readonly siteId: string;
  readonly siteName?: string;
  readonly statuses: string[];
  readonly lastSeenAt?: string;
  readonly offlineSince?: string;
  readonly lastTemperatureC?: number;
  readonly faults: string[];
  readonly stock: StockView[];
}

const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const num = (...values: unknown[]): number | undefined =>
  values.find((v): v is number => typeof v === 'number');
const str = (...values: unknown[]): string | undefined =>
  values.find((v): v is string => typeof v === 'string' && v !== '');
const bool = (value: unknown): boolean | undefined => (typeof value === 'boolean' ? value : undefined);

function lotsOf(value: unknown, sku?: string): LotView[] {
  if (Array.isArray(value))
    return value.map(record).map((lot) => ({
      lot: str(lot.lot, lot.lotId, lot.id) ?? 'without a lot number',
      sku: str(lot.sku) ?? sku,
      expiresOn: str(lot.expiresOn, lot.expiry, lot.expiresAt),
      quantity: num(lot.quantity, lot.count, lot.units, lot.available),
      expiringSoon: bool(lot.expiringSoon),
      expired: bool(lot.expired),
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
      lowStock: bool(item.lowStock),
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
  // Every condition that holds (most pressing first) when the server lists them, else its one status.
  const status =
    Array.isArray(kiosk.conditions) && kiosk.conditions.length
      ? kiosk.conditions
      : (kiosk.status ?? kiosk.statuses);
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
    offlineSince: str(kiosk.offlineSince),
    lastTemperatureC: num(kiosk.lastTemperatureC),
    faults: faultsOf(kiosk.openFaults ?? kiosk.faults),
    stock,
  };
}

/**
 * Lots at a kiosk that have expired or expire soon, soonest first: as the server flags them
 * (`expired`, `expiringSoon`: the kiosk's own alert window) where it does, else within `days` days of `today`.
 */
export function lotsNearExpiry(kiosk: KioskView, today: string, days: number, listed?: unknown): LotView[] {
  const horizon = new Date(Date.parse(`${today}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
  const fromStock = kiosk.stock.flatMap((item) => item.lots);
  const extra = Array.isArray(listed) ? lotsOf(listed) : [];
  const seen = new Set<string>();
  const near = (lot: LotView) =>
    lot.expired !== undefined || lot.expiringSoon !== undefined
      ? Boolean(lot.expired || lot.expiringSoon)
      : Boolean(lot.expiresOn && lot.expiresOn.slice(0, 10) <= horizon);
  return [...extra, ...fromStock]
    .filter(near)
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
  'expired-stock': 'Expired stock',
  'expiring-stock': 'Stock expiring soon',
  unknown: 'Unknown',
};
