import { describe, expect, it } from 'vitest';
import { expressionsOf } from '../../../../functions/adapters/expressions.js';
import {
  allocate,
  fefoOrder,
  planDispense,
  planRestock,
  restockLines,
  type StockView,
  stockItemChange,
  unlottedUnits,
} from '../../../../functions/core/kiosk/stock.js';
import type { Sku } from '../../../../functions/core/schemas.js';
import { spelled } from '../../handlers/fakes.js';

const SKU: Sku = 'naloxone-nasal-4mg';

/** 30 units: 6 without a lot, LATE (2028) 14 and EARLY (2027) 10. */
const view = (overrides: Partial<StockView> = {}): StockView => ({
  lowStockThreshold: 5,
  stock: { [SKU]: 30 },
  alerted: {},
  lotStock: {
    [SKU]: {
      version: 3,
      lots: {
        LATE: { units: 14, expiresOn: '2028-03-31' },
        EARLY: { units: 10, expiresOn: '2027-01-31', labelVersion: 'rx-gen2-2020' },
      },
    },
  },
  quarantine: {},
  ...overrides,
});

/** The kiosk item change, conditions and updates written out, e.g. "stock.naloxone-nasal-4mg >= 7". */
function written(stockView: StockView, changes: ReturnType<typeof planDispense>) {
  const expressed = expressionsOf(stockItemChange(stockView, changes));
  return {
    update: spelled(expressed.UpdateExpression, expressed),
    condition: spelled(expressed.ConditionExpression, expressed),
  };
}

describe('the order dispenses take stock in', () => {
  it('takes stock without a lot first, then lots by expiry date, undated lots last', () => {
    // Arrange
    const lots = {
      version: 1,
      lots: {
        UNDATED: { units: 1 },
        B: { units: 1, expiresOn: '2027-05-01' },
        A: { units: 1, expiresOn: '2027-05-01' },
        EMPTY: { units: 0, expiresOn: '2026-01-01' },
        FIRST: { units: 1, expiresOn: '2026-12-31' },
      },
    };

    // Act
    const order = fefoOrder(lots).map(([lot]) => lot);

    // Assert
    expect(order).toEqual(['FIRST', 'A', 'B', 'UNDATED']);
  });

  it('allocates across sources in that order and counts what the stock did not have', () => {
    // Act
    const { takes, mismatch } = allocate(view(), SKU, 33);

    // Assert
    expect(unlottedUnits(view(), SKU)).toBe(6);
    expect(takes).toEqual([
      { lot: null, units: 6 },
      { lot: 'EARLY', units: 10 },
      { lot: 'LATE', units: 14 },
    ]);
    expect(mismatch).toBe(3);
  });
});

describe('a dispense with lots', () => {
  it('stays a commuting write while it takes from stock without a lot, which must cover it beyond the named lots', () => {
    // Act
    const [change] = planDispense(view(), [{ sku: SKU, quantity: 2 }]);
    const { update, condition } = written(view(), [change!]);

    // Assert
    expect(change).toMatchObject({
      mode: 'relative',
      lot: null,
      atLeast: 26,
      takes: [{ lot: null, units: 2 }],
    });
    expect(update).toContain(`stock.${SKU} = stock.${SKU} - 2`);
    // 24 units in named lots + 2: the stock without a lot still has the 2 when the write lands.
    expect(condition).toContain(`stock.${SKU} >= 26`);
    expect(condition).toContain(`lotStock.${SKU}.version = 3`);
  });

  it('takes from the lot that expires first once the stock without a lot is gone, conditioned on that lot', () => {
    // Arrange
    const stockView = view({ stock: { [SKU]: 24 } });

    // Act
    const [change] = planDispense(stockView, [{ sku: SKU, quantity: 3 }]);
    const { update, condition } = written(stockView, [change!]);

    // Assert
    expect(change).toMatchObject({ mode: 'relative', lot: 'EARLY', takes: [{ lot: 'EARLY', units: 3 }] });
    expect(update).toContain(`lotStock.${SKU}.lots.EARLY.units = lotStock.${SKU}.lots.EARLY.units - 3`);
    expect(condition).toContain(`lotStock.${SKU}.lots.EARLY.units >= 3`);
    expect(condition).toContain(`lotStock.${SKU}.version = 3`);
  });

  it('is an exact write when it spans two sources, leaving the emptied source out', () => {
    // Act
    const [change] = planDispense(view(), [{ sku: SKU, quantity: 10 }]);

    // Assert
    expect(change).toMatchObject({
      mode: 'exact',
      before: 30,
      after: 20,
      takes: [
        { lot: null, units: 6 },
        { lot: 'EARLY', units: 4 },
      ],
      lotsAfter: {
        version: 3,
        lots: {
          LATE: { units: 14, expiresOn: '2028-03-31' },
          EARLY: { units: 6, expiresOn: '2027-01-31', labelVersion: 'rx-gen2-2020' },
        },
      },
    });
  });

  it('keeps the commuting write of a kiosk without lots exactly as before', () => {
    // Arrange: a kiosk registered before lots were kept
    const legacy: StockView = { lowStockThreshold: 5, stock: { [SKU]: 40 }, alerted: {} };

    // Act
    const [change] = planDispense(legacy, [{ sku: SKU, quantity: 1 }]);
    const { update, condition } = written(legacy, [change!]);

    // Assert
    expect(update).toBe(`SET stock.${SKU} = stock.${SKU} - 1`);
    expect(condition).toBe(`stock.${SKU} >= 7 AND attribute_not_exists(lotStock.${SKU})`);
  });
});

describe('a restock with lots', () => {
  it('applies the event-level lot and expiry to items that name none', () => {
    // Act
    const lines = restockLines(
      [
        { sku: SKU, quantity: 5 },
        { sku: SKU, quantity: 2, lot: 'OWN', expiresOn: '2029-01-01' },
        { sku: 'wound-care-kit', quantity: 1, lot: 'OWN-2' },
      ],
      { lot: 'EVENT', expiresOn: '2028-01-01' },
    );

    // Assert
    expect(lines).toEqual([
      { sku: SKU, quantity: 5, lot: 'EVENT', expiresOn: '2028-01-01' },
      { sku: SKU, quantity: 2, lot: 'OWN', expiresOn: '2029-01-01' },
      { sku: 'wound-care-kit', quantity: 1, lot: 'OWN-2' },
    ]);
  });

  it('adds to a lot it already holds, bumps the lot version and relies on the SKU not being quarantined', () => {
    // Arrange
    const stockView = view();

    // Act
    const [change] = planRestock(stockView, [
      { sku: SKU, quantity: 6, lot: 'LATE', expiresOn: '2028-03-31' },
      { sku: SKU, quantity: 4, lot: 'NEW', expiresOn: '2029-02-28', labelVersion: 'otc-2023' },
    ]);
    const { condition } = written(stockView, [change!]);

    // Assert
    expect(change).toMatchObject({
      mode: 'exact',
      before: 30,
      after: 40,
      lotsAfter: {
        version: 4,
        lots: {
          LATE: { units: 20, expiresOn: '2028-03-31' },
          NEW: { units: 4, expiresOn: '2029-02-28', labelVersion: 'otc-2023' },
        },
      },
      discarded: [],
      quarantine: 'none',
    });
    expect(condition).toContain(`attribute_not_exists(quarantine.${SKU})`);
    expect(condition).toContain(`lotStock.${SKU}.version = 3`);
  });

  it('swaps a quarantined SKU: every exposed unit is discarded, the restock is what the kiosk holds', () => {
    // Arrange
    const stockView = view({
      quarantine: { [SKU]: { since: '2026-07-01T12:00:00.000Z', temperatureC: 33, eventId: 'e', units: 30 } },
    });

    // Act
    const [change] = planRestock(stockView, [
      { sku: SKU, quantity: 20, lot: 'FRESH', expiresOn: '2029-01-31' },
    ]);
    const { update, condition } = written(stockView, [change!]);

    // Assert
    expect(change).toMatchObject({
      after: 20,
      discarded: [
        { lot: null, units: 6 },
        { lot: 'EARLY', units: 10 },
        { lot: 'LATE', units: 14 },
      ],
      lotsAfter: { version: 4, lots: { FRESH: { units: 20, expiresOn: '2029-01-31' } } },
      quarantine: 'cleared',
    });
    expect(update).toContain(`REMOVE quarantine.${SKU}`);
    expect(condition).toContain(`attribute_exists(quarantine.${SKU})`);
  });

  it('writes the whole lot map, on condition that it is still missing, for a kiosk registered before lots were kept', () => {
    // Arrange
    const legacy: StockView = { lowStockThreshold: 5, stock: { [SKU]: 3 }, alerted: {} };

    // Act
    const [change] = planRestock(legacy, [{ sku: SKU, quantity: 10, lot: 'FIRST-LOT' }]);
    const expressed = expressionsOf(stockItemChange(legacy, [change!]));

    // Assert
    expect(spelled(expressed.UpdateExpression, expressed)).toContain(
      `lotStock = {"${SKU}":{"version":1,"lots":{"FIRST-LOT":{"units":10}}}}`,
    );
    expect(spelled(expressed.ConditionExpression, expressed)).toContain('attribute_not_exists(lotStock)');
  });
});
