import type { Sku } from '../schemas.js';
import { type Action, type Condition, type ItemChange, mapChange, merge, type Value } from '../updates.js';

/** One lot of one SKU at a kiosk: units left, and what the box says. */
export interface LotEntry {
  readonly units: number;
  readonly expiresOn?: string;
  readonly labelVersion?: string;
}

/**
 * The named lots of one SKU at a kiosk. Stock without a lot (registration inventory, restocks that
 * name none, and kiosks of earlier versions) is what the SKU's total holds beyond its named lots.
 * `version` goes up with every restock of the SKU: a relative dispense is conditioned on it, so a
 * lot that arrives meanwhile (and might expire first) makes it plan again.
 */
export interface SkuLots {
  readonly version: number;
  readonly lots: Readonly<Record<string, LotEntry>>;
}

/** A SKU in quarantine at a kiosk (functions/core/fleet/fleet.ts): counted, not available, until a restock swaps it. */
export interface QuarantineEntry {
  readonly since: string;
  readonly temperatureC: number;
  readonly eventId: string;
  readonly units: number;
}

/** What we know of one kiosk's stock when an event arrives. */
export interface StockView {
  readonly lowStockThreshold: number;
  readonly stock: Partial<Record<Sku, number>>;
  /** SKUs for which a low-stock message went out and no restock has lifted them above the threshold since. */
  readonly alerted: Partial<Record<Sku, boolean>>;
  /** Named lots per SKU; the attribute is missing on kiosks registered before lots were kept. */
  readonly lotStock?: Partial<Record<Sku, SkuLots>>;
  /** Quarantined SKUs; missing on kiosks registered before quarantine existed. */
  readonly quarantine?: Partial<Record<Sku, QuarantineEntry>>;
}

/** Units that left (or arrived in) one lot; `lot` null for stock without a lot. */
export interface LotUnits {
  readonly lot: string | null;
  readonly units: number;
}

export interface LotArrival {
  readonly lot: string;
  readonly units: number;
  readonly expiresOn?: string;
  readonly labelVersion?: string;
}

/**
 * How one SKU's stock changes, and the facts the change depends on.
 *
 * `relative`: the outcome does not depend on the exact current value, so the
 * write is "subtract q, provided at least `atLeast` remain" (and, once the
 * low-stock message went out, provided it still stands): concurrent
 * dispenses commute and never conflict. That holds above the threshold, and
 * below it once the one alert is sent, as long as nothing clamps at zero and
 * the units come from one place (stock without a lot, or one named lot).
 * `exact`: the outcome (clamping at zero, sending the one low-stock alert,
 * taking from several lots, swapping quarantined stock) depends on the exact
 * current value, so the write is conditioned on it.
 */
export type StockChange =
  | {
      readonly sku: Sku;
      readonly mode: 'relative';
      readonly delta: number;
      readonly atLeast: number;
      readonly requireAlerted: boolean;
      /** Where the units come from (first expiring first): null for stock without a lot. */
      readonly lot: string | null;
      /** The SKU's lot version as read (undefined: no named lot was ever recorded). */
      readonly lotsVersion: number | undefined;
      readonly takes: readonly LotUnits[];
    }
  | {
      readonly sku: Sku;
      readonly mode: 'exact';
      /** A restock (units arrive), else a dispense. */
      readonly restock: boolean;
      readonly before: number | undefined;
      readonly after: number;
      readonly alertedBefore: boolean;
      readonly alertedAfter: boolean;
      /** Units dispensed that the recorded stock did not have. */
      readonly mismatch: number;
      /** This change takes the SKU to or below the threshold for the first time since a restock. */
      readonly lowStock: boolean;
      /** The SKU's lot version as read (undefined: no named lot was ever recorded). */
      readonly lotsVersion: number | undefined;
      /** The SKU's named lots after the change; undefined leaves them as they are. */
      readonly lotsAfter?: SkuLots;
      /** Units taken from each lot (dispense), first expiring first. */
      readonly takes: readonly LotUnits[];
      /** Named lots added to (restock). */
      readonly arrivals: readonly LotArrival[];
      /** Quarantined units removed by a restock that swapped them. */
      readonly discarded: readonly LotUnits[];
      /** The quarantine this change clears (a restock of a quarantined SKU), or the absence it relies on. */
      readonly quarantine: 'cleared' | 'none';
    };

export interface Line {
  readonly sku: Sku;
  readonly quantity: number;
}

export interface RestockLine extends Line {
  readonly lot?: string;
  readonly expiresOn?: string;
  readonly labelVersion?: string;
}

/** Quantities per SKU; an event may name a SKU twice. */
export function totalsBySku(lines: readonly Line[]): Map<Sku, number> {
  const totals = new Map<Sku, number>();
  for (const { sku, quantity } of lines) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return totals;
}

const namedUnits = (lots: SkuLots | undefined) =>
  Object.values(lots?.lots ?? {}).reduce((sum, entry) => sum + Math.max(0, entry.units), 0);

/** Stock of the SKU that no named lot accounts for. */
export function unlottedUnits(view: StockView, sku: Sku): number {
  return Math.max(0, (view.stock[sku] ?? 0) - namedUnits(view.lotStock?.[sku]));
}

/**
 * The order dispenses take stock in: stock without a lot first (its expiry is unknown, and it is the
 * oldest: registration inventory), then named lots by expiry date (undated lots last), then by name.
 */
export function fefoOrder(lots: SkuLots | undefined): [string, LotEntry][] {
  return Object.entries(lots?.lots ?? {})
    .filter(([, entry]) => entry.units > 0)
    .sort(([a, x], [b, y]) => {
      const ex = x.expiresOn ?? '9999-12-31';
      const ey = y.expiresOn ?? '9999-12-31';
      if (ex !== ey) return ex < ey ? -1 : 1;
      return a < b ? -1 : a > b ? 1 : 0;
    });
}

/** Takes `quantity` units first expiring first; what it could not cover is the mismatch. */
export function allocate(
  view: StockView,
  sku: Sku,
  quantity: number,
): { takes: LotUnits[]; mismatch: number } {
  const takes: LotUnits[] = [];
  let wanted = quantity;
  const loose = unlottedUnits(view, sku);
  if (loose > 0 && wanted > 0) {
    const units = Math.min(loose, wanted);
    takes.push({ lot: null, units });
    wanted -= units;
  }
  for (const [lot, entry] of fefoOrder(view.lotStock?.[sku])) {
    if (wanted === 0) break;
    const units = Math.min(entry.units, wanted);
    takes.push({ lot, units });
    wanted -= units;
  }
  return { takes, mismatch: wanted };
}

function lotsAfterTakes(lots: SkuLots | undefined, takes: readonly LotUnits[]): SkuLots | undefined {
  if (!lots) return undefined;
  const next: Record<string, LotEntry> = {};
  for (const [lot, entry] of Object.entries(lots.lots)) {
    const taken = takes.find((take) => take.lot === lot)?.units ?? 0;
    if (entry.units - taken > 0) next[lot] = { ...entry, units: entry.units - taken };
  }
  return { version: lots.version, lots: next };
}

export function planDispense(view: StockView, lines: readonly Line[]): StockChange[] {
  return [...totalsBySku(lines)].map(([sku, quantity]): StockChange => {
    const before = view.stock[sku];
    const current = before ?? 0;
    const alertedBefore = view.alerted[sku] === true;
    const lots = view.lotStock?.[sku];
    const { takes, mismatch } = allocate(view, sku, quantity);
    const oneSource = takes.length === 1 && mismatch === 0;
    const source = takes[0]?.lot ?? null;
    // Taking from stock without a lot needs that much of it left: the named lots' units come on top.
    const loose = source === null ? namedUnits(lots) + quantity : 0;
    if (oneSource && current - quantity > view.lowStockThreshold) {
      return {
        sku,
        mode: 'relative',
        delta: -quantity,
        atLeast: Math.max(quantity + view.lowStockThreshold + 1, loose),
        requireAlerted: false,
        lot: source,
        lotsVersion: lots?.version,
        takes,
      };
    }
    if (oneSource && alertedBefore && before !== undefined && current >= quantity) {
      return {
        sku,
        mode: 'relative',
        delta: -quantity,
        atLeast: Math.max(quantity, loose),
        requireAlerted: true,
        lot: source,
        lotsVersion: lots?.version,
        takes,
      };
    }
    const after = Math.max(0, current - quantity);
    const lotsAfter = lotsAfterTakes(lots, takes);
    return {
      sku,
      mode: 'exact',
      restock: false,
      before,
      after,
      alertedBefore,
      alertedAfter: true,
      mismatch,
      lowStock: !alertedBefore,
      lotsVersion: lots?.version,
      ...(lotsAfter && takes.some((take) => take.lot !== null) ? { lotsAfter } : {}),
      takes,
      arrivals: [],
      discarded: [],
      quarantine: 'none',
    };
  });
}

/** Restock lines per SKU, lots merged; event-level lot and expiry apply to items that name none. */
export function restockLines(
  items: readonly RestockLine[],
  eventLot?: { readonly lot?: string; readonly expiresOn?: string },
): RestockLine[] {
  return items.map((item) => {
    const lot = item.lot ?? eventLot?.lot;
    const expiresOn = item.lot !== undefined ? item.expiresOn : (item.expiresOn ?? eventLot?.expiresOn);
    return {
      sku: item.sku,
      quantity: item.quantity,
      ...(lot !== undefined ? { lot } : {}),
      ...(expiresOn !== undefined ? { expiresOn } : {}),
      ...(item.labelVersion !== undefined ? { labelVersion: item.labelVersion } : {}),
    };
  });
}

/**
 * A restock adds units, named lots among them. A restock of a quarantined SKU is the swap the
 * quarantine alert asked for: the exposed units (every lot of the SKU) are removed and counted as
 * discarded, the restocked units are what the kiosk holds, and the quarantine ends.
 */
export function planRestock(view: StockView, lines: readonly RestockLine[]): StockChange[] {
  const bySku = new Map<Sku, RestockLine[]>();
  for (const line of lines) bySku.set(line.sku, [...(bySku.get(line.sku) ?? []), line]);
  return [...bySku].map(([sku, skuLines]): StockChange => {
    const before = view.stock[sku];
    const quantity = skuLines.reduce((sum, line) => sum + line.quantity, 0);
    const alertedBefore = view.alerted[sku] === true;
    const lots = view.lotStock?.[sku];
    const swapped = view.quarantine?.[sku] !== undefined;
    const discarded: LotUnits[] = [];
    if (swapped) {
      const loose = unlottedUnits(view, sku);
      if (loose > 0) discarded.push({ lot: null, units: loose });
      for (const [lot, entry] of fefoOrder(lots)) discarded.push({ lot, units: entry.units });
    }
    const after = (swapped ? 0 : (before ?? 0)) + quantity;
    const arrivals: LotArrival[] = [];
    for (const line of skuLines) {
      if (line.lot === undefined) continue;
      const known = arrivals.find((arrival) => arrival.lot === line.lot);
      const entry: LotArrival = {
        lot: line.lot,
        units: (known?.units ?? 0) + line.quantity,
        ...((line.expiresOn ?? known?.expiresOn) ? { expiresOn: line.expiresOn ?? known?.expiresOn } : {}),
        ...((line.labelVersion ?? known?.labelVersion)
          ? { labelVersion: line.labelVersion ?? known?.labelVersion }
          : {}),
      };
      if (known) arrivals[arrivals.indexOf(known)] = entry;
      else arrivals.push(entry);
    }
    const kept: Record<string, LotEntry> = swapped
      ? {}
      : Object.fromEntries(Object.entries(lots?.lots ?? {}).filter(([, entry]) => entry.units > 0));
    for (const arrival of arrivals) {
      const old = kept[arrival.lot];
      kept[arrival.lot] = {
        units: (old?.units ?? 0) + arrival.units,
        ...((arrival.expiresOn ?? old?.expiresOn) ? { expiresOn: arrival.expiresOn ?? old?.expiresOn } : {}),
        ...((arrival.labelVersion ?? old?.labelVersion)
          ? { labelVersion: arrival.labelVersion ?? old?.labelVersion }
          : {}),
      };
    }
    const lotsChange = lots !== undefined || arrivals.length > 0;
    return {
      sku,
      mode: 'exact',
      restock: true,
      before,
      after,
      alertedBefore,
      alertedAfter: alertedBefore && after <= view.lowStockThreshold,
      mismatch: 0,
      lowStock: false,
      lotsVersion: lots?.version,
      ...(lotsChange ? { lotsAfter: { version: (lots?.version ?? 0) + 1, lots: kept } } : {}),
      takes: [],
      arrivals,
      discarded,
      quarantine: swapped ? 'cleared' : 'none',
    };
  });
}

const lotVersionCondition = (sku: Sku, version: number | undefined): Condition =>
  version === undefined
    ? { notExists: ['lotStock', sku] }
    : { path: ['lotStock', sku, 'version'], op: '=', value: version };

function lotsValue(lots: SkuLots): Value {
  return {
    version: lots.version,
    lots: Object.fromEntries(
      Object.entries(lots.lots).map(([lot, entry]) => [
        lot,
        {
          units: entry.units,
          ...(entry.expiresOn ? { expiresOn: entry.expiresOn } : {}),
          ...(entry.labelVersion ? { labelVersion: entry.labelVersion } : {}),
        },
      ]),
    ),
  };
}

/**
 * The stock changes of one event as one change to the kiosk item: stock and alert flags per SKU,
 * named lots, quarantines a restock clears, and the mismatch counter. Every condition is the fact
 * the plan relied on, so a concurrent change to it fails the write and the handler plans again.
 */
export function stockItemChange(view: StockView, changes: readonly StockChange[]): ItemChange {
  const actions: Action[] = [];
  const conditions: Condition[] = [];
  const lotEntries: Record<string, Value> = {};
  const cleared: string[] = [];
  let mismatch = 0;
  for (const change of changes) {
    const sku = change.sku;
    if (change.mode === 'relative') {
      actions.push({ set: ['stock', sku], minus: -change.delta });
      conditions.push({ path: ['stock', sku], op: '>=', value: change.atLeast });
      if (change.requireAlerted) conditions.push({ path: ['alerted', sku], op: '=', value: true });
      if (change.lot === null) {
        // Only stock without a lot is taken: a lot restocked meanwhile would change what "first" is.
        conditions.push(lotVersionCondition(sku, change.lotsVersion));
      } else {
        const units = ['lotStock', sku, 'lots', change.lot, 'units'];
        actions.push({ set: units, minus: -change.delta });
        conditions.push(lotVersionCondition(sku, change.lotsVersion));
        conditions.push({ path: units, op: '>=', value: -change.delta });
      }
      continue;
    }
    actions.push({ set: ['stock', sku], value: change.after });
    actions.push({ set: ['alerted', sku], value: change.alertedAfter });
    conditions.push(
      change.before === undefined
        ? { notExists: ['stock', sku] }
        : { path: ['stock', sku], op: '=', value: change.before },
    );
    conditions.push(
      change.alertedBefore
        ? { path: ['alerted', sku], op: '=', value: true }
        : { anyOf: [{ notExists: ['alerted', sku] }, { path: ['alerted', sku], op: '=', value: false }] },
    );
    if (change.lotsAfter) {
      conditions.push(lotVersionCondition(sku, change.lotsVersion));
      lotEntries[sku] = lotsValue(change.lotsAfter);
    }
    if (change.quarantine === 'cleared') {
      conditions.push({ exists: ['quarantine', sku] });
      cleared.push(sku);
    } else if (change.restock) {
      // A restock relies on the SKU not being quarantined: if it is by now, it must swap the stock.
      conditions.push({ notExists: ['quarantine', sku] });
    }
    mismatch += change.mismatch;
  }
  const lots = mapChange('lotStock', { set: lotEntries }, view.lotStock !== undefined);
  const quarantine = mapChange('quarantine', { remove: cleared }, view.quarantine !== undefined);
  const counted: ItemChange = {
    actions: mismatch > 0 ? [{ add: ['mismatchUnits'], value: mismatch }] : [],
    conditions: [],
  };
  return merge({ actions, conditions }, lots, quarantine, counted);
}
