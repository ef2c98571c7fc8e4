import { describe, expect, it } from 'vitest';
import type { AggregateRow } from '../../../../functions/core/aggregate-row.js';
import { fleetFigures } from '../../../../functions/core/metrics/fleet.js';

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

  it('shows counts from 1 to 10 as "<11" unless raw, a kiosk’s offline hours under 11 too, and the total hours exact', () => {
    const figures = fleetFigures(rows, false);

    expect(figures.kitsByLot.map((row) => row.kits)).toEqual(['<11', 14]);
    expect(figures.offlineByKiosk.map((row) => row.offlineHours)).toEqual([12, '<11']);
    expect(figures.quarantinedUnitsBySku).toEqual({ 'naloxone-nasal-4mg': 14 });
    expect([figures.quarantinedUnits, figures.offlineHours]).toEqual([14, 13]);
  });

  it('hides a second SKU when one small SKU’s quarantined units could be worked out from the total', () => {
    const quarantined: AggregateRow[] = [
      {
        day: '2026-07-01',
        siteId: 'site-1',
        counters: {
          quarantinedUnits: 44,
          'quarantined:naloxone-nasal-4mg': 30,
          'quarantined:naloxone-nasal-8mg': 12,
          'quarantined:fentanyl-test-strips': 2,
        },
      },
    ];

    const figures = fleetFigures(quarantined, false);

    expect(figures.quarantinedUnits).toBe(44);
    expect(figures.quarantinedUnitsBySku).toEqual({
      'naloxone-nasal-4mg': 30,
      'naloxone-nasal-8mg': '<11',
      'fentanyl-test-strips': '<11',
    });
  });
});
