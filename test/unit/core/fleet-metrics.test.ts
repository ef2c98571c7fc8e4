import { describe, expect, it } from 'vitest';
import type { AggregateRow } from '../../../functions/core/aggregate-row.js';
import { fleetFigures } from '../../../functions/core/metrics/fleet.js';

const rows: AggregateRow[] = [
  {
    day: '2026-07-01',
    siteId: 'site-1',
    counters: {
      'lot:naloxone-nasal-4mg:L:1': 12,
      'lot:naloxone-nasal-4mg:': 3,
      quarantinedUnits: 14,
      'quarantined:naloxone-nasal-4mg': 14,
      'offlineSeconds:K-1': 7200,
    },
  },
  {
    day: '2026-07-02',
    siteId: 'site-1',
    counters: { 'lot:naloxone-nasal-4mg:L:1': 2, 'offlineSeconds:K-1': 36_000, 'offlineSeconds:K-2': 3600 },
  },
];

describe('the fleet figures of the naloxone report', () => {
  it('adds kits by SKU and lot (a lot may contain a colon), quarantined units and offline hours per kiosk', () => {
    const figures = fleetFigures(rows, true);

    expect(figures.kitsByLot).toEqual([
      { lot: null, sku: 'naloxone-nasal-4mg', kits: 3 },
      { lot: 'L:1', sku: 'naloxone-nasal-4mg', kits: 14 },
    ]);
    expect(figures.quarantinedUnits).toBe(14);
    expect(figures.quarantinedUnitsBySku).toEqual({ 'naloxone-nasal-4mg': 14 });
    expect(figures.offlineHours).toBe(13);
    expect(figures.offlineByKiosk).toEqual([
      { kioskId: 'K-1', siteId: 'site-1', offlineHours: 12 },
      { kioskId: 'K-2', siteId: 'site-1', offlineHours: 1 },
    ]);
  });

  it('shows cells under 11 as "<11" unless raw, and keeps the totals exact', () => {
    const figures = fleetFigures(rows, false);

    expect(figures.kitsByLot.map((row) => row.kits)).toEqual(['<11', 14]);
    expect(figures.offlineByKiosk.map((row) => row.offlineHours)).toEqual([12, '<11']);
    expect(figures.quarantinedUnitsBySku).toEqual({ 'naloxone-nasal-4mg': 14 });
    expect([figures.quarantinedUnits, figures.offlineHours]).toEqual([14, 13]);
  });
});
