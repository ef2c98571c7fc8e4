import { describe, expect, it } from 'vitest';
import {
  type Line,
  planDispense,
  planRestock,
  type StockChange,
  type StockView,
  totalsBySku,
} from '../../../../functions/core/kiosk/stock.js';
import type { Sku } from '../../../../functions/core/schemas.js';

const SKU: Sku = 'naloxone-nasal-4mg';
const OTHER: Sku = 'fentanyl-test-strips';

function view(stock: number | undefined, options: { threshold?: number; alerted?: boolean } = {}): StockView {
  return {
    lowStockThreshold: options.threshold ?? 5,
    stock: stock === undefined ? {} : { [SKU]: stock },
    alerted: options.alerted ? { [SKU]: true } : {},
  };
}

/**
 * What a planned change does to the stored kiosk when its condition holds,
 * as the kiosk store writes it; false when DynamoDB would refuse it.
 */
function apply(kiosk: { stock: number; alerted: boolean }, change: StockChange) {
  if (change.mode === 'relative') {
    if (kiosk.stock < change.atLeast) return false;
    if (change.requireAlerted && !kiosk.alerted) return false;
    kiosk.stock += change.delta;
    return true;
  }
  if (kiosk.stock !== change.before || kiosk.alerted !== change.alertedBefore) return false;
  kiosk.stock = change.after;
  kiosk.alerted = change.alertedAfter;
  return true;
}

/** Runs events one after another against one kiosk and SKU; returns the low-stock alerts sent. */
function run(start: number, threshold: number, steps: readonly ['dispense' | 'restock', number][]) {
  const kiosk = { stock: start, alerted: false };
  const alertsAt: number[] = [];
  steps.forEach(([kind, quantity], step) => {
    const current: StockView = {
      lowStockThreshold: threshold,
      stock: { [SKU]: kiosk.stock },
      alerted: { [SKU]: kiosk.alerted },
    };
    const lines: Line[] = [{ sku: SKU, quantity }];
    const [change] = kind === 'dispense' ? planDispense(current, lines) : planRestock(current, lines);
    expect(apply(kiosk, change), `step ${step} applies to the stock it was planned on`).toBe(true);
    if (change.mode === 'exact' && change.lowStock) alertsAt.push(step);
  });
  return { alertsAt, stock: kiosk.stock };
}

describe('planning a dispense', () => {
  it('plans a relative change while the stock stays above the threshold, guarded so it cannot reach it', () => {
    const [change] = planDispense(view(40), [{ sku: SKU, quantity: 2 }]);

    expect(change).toMatchObject({ sku: SKU, mode: 'relative', delta: -2, atLeast: 8 });
  });

  it('plans an exact change, with the one low-stock alert, when the stock would fall to the threshold', () => {
    const [change] = planDispense(view(6), [{ sku: SKU, quantity: 1 }]);

    expect(change).toMatchObject({
      mode: 'exact',
      before: 6,
      after: 5,
      alertedBefore: false,
      alertedAfter: true,
      lowStock: true,
      mismatch: 0,
    });
  });

  it('stops at zero and counts the units the recorded stock did not have', () => {
    const [change] = planDispense(view(1, { alerted: true }), [{ sku: SKU, quantity: 3 }]);

    expect(change).toMatchObject({ mode: 'exact', before: 1, after: 0, mismatch: 2, lowStock: false });
  });

  it('treats a SKU the kiosk never had as empty', () => {
    const [change] = planDispense(view(undefined), [{ sku: SKU, quantity: 2 }]);

    expect(change).toMatchObject({ mode: 'exact', before: undefined, after: 0, mismatch: 2, lowStock: true });
  });

  it('sums two lines of the same SKU into one change', () => {
    const changes = planDispense(view(40), [
      { sku: SKU, quantity: 2 },
      { sku: SKU, quantity: 3 },
    ]);

    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ sku: SKU, delta: -5 });
  });

  it('decides the mode on the summed quantity, not line by line', () => {
    // Each line alone leaves 7 > 5; together they leave 4.
    const [change] = planDispense(view(10), [
      { sku: SKU, quantity: 3 },
      { sku: SKU, quantity: 3 },
    ]);

    expect(change).toMatchObject({ mode: 'exact', after: 4, lowStock: true });
  });

  it('plans each SKU of an event on its own', () => {
    const changes = planDispense({ lowStockThreshold: 5, stock: { [SKU]: 40, [OTHER]: 6 }, alerted: {} }, [
      { sku: SKU, quantity: 1 },
      { sku: OTHER, quantity: 1 },
    ]);

    expect(changes.map((change) => [change.sku, change.mode])).toEqual([
      [SKU, 'relative'],
      [OTHER, 'exact'],
    ]);
  });
});

describe('planning a restock', () => {
  it('adds to the stock and clears the alert once the stock is above the threshold', () => {
    const [change] = planRestock(view(3, { alerted: true }), [{ sku: SKU, quantity: 20 }]);

    expect(change).toMatchObject({
      mode: 'exact',
      before: 3,
      after: 23,
      alertedBefore: true,
      alertedAfter: false,
    });
  });

  it('keeps the alert while the restock leaves the stock at or below the threshold', () => {
    const [change] = planRestock(view(3, { alerted: true }), [{ sku: SKU, quantity: 2 }]);

    expect(change).toMatchObject({ after: 5, alertedAfter: true });
  });

  it('never alerts', () => {
    const [change] = planRestock(view(0), [{ sku: SKU, quantity: 1 }]);

    expect(change).toMatchObject({ lowStock: false, mismatch: 0 });
  });
});

describe('low-stock alerts over a kiosk’s life', () => {
  it('alerts once on reaching the threshold, and again only after a restock has lifted it above', () => {
    const { alertsAt, stock } = run(8, 5, [
      ['dispense', 2], // 6
      ['dispense', 1], // 5: alert
      ['dispense', 1], // 4
      ['restock', 1], // 5: still low
      ['dispense', 1], // 4: no second alert
      ['restock', 10], // 14: lifted above
      ['dispense', 8], // 6
      ['dispense', 1], // 5: alert again
      ['dispense', 9], // 0, clamped
    ]);

    expect(alertsAt).toEqual([1, 7]);
    expect(stock).toBe(0);
  });

  it('alerts when a single dispense jumps from above the threshold straight to zero', () => {
    const { alertsAt } = run(12, 5, [['dispense', 10]]);

    expect(alertsAt).toEqual([0]);
  });
});

describe('totalsBySku', () => {
  it('adds quantities per SKU and keeps the order of first appearance', () => {
    const totals = totalsBySku([
      { sku: OTHER, quantity: 1 },
      { sku: SKU, quantity: 2 },
      { sku: OTHER, quantity: 4 },
    ]);

    expect([...totals]).toEqual([
      [OTHER, 5],
      [SKU, 2],
    ]);
  });
});
