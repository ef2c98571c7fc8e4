import type { Sku } from './schemas.js';

/** What we know of one kiosk's stock when an event arrives. */
export interface StockView {
  readonly lowStockThreshold: number;
  readonly stock: Partial<Record<Sku, number>>;
  /** SKUs for which a low-stock message went out and no restock has lifted them above the threshold since. */
  readonly alerted: Partial<Record<Sku, boolean>>;
}

/**
 * How one SKU's stock changes, and the facts the change depends on.
 *
 * `relative`: the outcome does not depend on the exact current value, so the
 * write is "subtract q, provided at least `atLeast` remain" (and, once the
 * low-stock message went out, provided it still stands): concurrent
 * dispenses commute and never conflict. That holds above the threshold, and
 * below it once the one alert is sent, as long as nothing clamps at zero.
 * `exact`: the outcome (clamping at zero, sending the one low-stock alert)
 * depends on the exact current value, so the write is conditioned on it.
 */
export type StockChange =
  | {
      readonly sku: Sku;
      readonly mode: 'relative';
      readonly delta: number;
      readonly atLeast: number;
      readonly requireAlerted: boolean;
    }
  | {
      readonly sku: Sku;
      readonly mode: 'exact';
      readonly before: number | undefined;
      readonly after: number;
      readonly alertedBefore: boolean;
      readonly alertedAfter: boolean;
      /** Units dispensed that the recorded stock did not have. */
      readonly mismatch: number;
      /** This change takes the SKU to or below the threshold for the first time since a restock. */
      readonly lowStock: boolean;
    };

export interface Line {
  readonly sku: Sku;
  readonly quantity: number;
}

/** Quantities per SKU; an event may name a SKU twice. */
export function totalsBySku(lines: readonly Line[]): Map<Sku, number> {
  const totals = new Map<Sku, number>();
  for (const { sku, quantity } of lines) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return totals;
}

export function planDispense(view: StockView, lines: readonly Line[]): StockChange[] {
  return [...totalsBySku(lines)].map(([sku, quantity]) => {
    const before = view.stock[sku];
    const current = before ?? 0;
    const alertedBefore = view.alerted[sku] === true;
    if (current - quantity > view.lowStockThreshold) {
      return {
        sku,
        mode: 'relative',
        delta: -quantity,
        atLeast: quantity + view.lowStockThreshold + 1,
        requireAlerted: false,
      };
    }
    if (alertedBefore && before !== undefined && current >= quantity) {
      return { sku, mode: 'relative', delta: -quantity, atLeast: quantity, requireAlerted: true };
    }
    const after = Math.max(0, current - quantity);
    const lowStock = !alertedBefore;
    return {
      sku,
      mode: 'exact',
      before,
      after,
      alertedBefore,
      alertedAfter: true,
      mismatch: Math.max(0, quantity - current),
      lowStock,
    };
  });
}

export function planRestock(view: StockView, lines: readonly Line[]): StockChange[] {
  return [...totalsBySku(lines)].map(([sku, quantity]) => {
    const before = view.stock[sku];
    const after = (before ?? 0) + quantity;
    const alertedBefore = view.alerted[sku] === true;
    return {
      sku,
      mode: 'exact',
      before,
      after,
      alertedBefore,
      alertedAfter: alertedBefore && after <= view.lowStockThreshold,
      mismatch: 0,
      lowStock: false,
    };
  });
}
