import { describe, expect, it } from 'vitest';
import {
  CATALOGUE_CHECKED_ON,
  labelVersionOf,
  outside,
  quarantineRange,
  rangeFor,
  STORAGE_CATALOGUE,
} from '../../../../functions/core/fleet/storage-catalogue.js';
import { kioskEventSchema, SKUS } from '../../../../functions/core/schemas.js';

describe('the storage catalogue', () => {
  it('covers every SKU of the program catalogue, each label version with a source and a current version', () => {
    expect(Object.keys(STORAGE_CATALOGUE).sort()).toEqual([...SKUS].sort());
    expect(CATALOGUE_CHECKED_ON).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    for (const [sku, storage] of Object.entries(STORAGE_CATALOGUE)) {
      if (!storage) continue;
      expect(labelVersionOf(sku as never, undefined), sku).toBeDefined();
      for (const version of storage.versions) {
        expect(version.source.length, `${sku} ${version.version}`).toBeGreaterThan(20);
        expect(version.storage.minC).toBeLessThan(version.storage.maxC);
        // An excursion range widens the storage range, never narrows it.
        if (version.excursions) {
          expect(version.excursions.minC).toBeLessThanOrEqual(version.storage.minC);
          expect(version.excursions.maxC).toBeGreaterThanOrEqual(version.storage.maxC);
        }
        // What is not from a label says so.
        expect(version.source.startsWith('ASSUMPTION')).toBe(version.assumption === true);
      }
    }
  });

  it('has the current over-the-counter 4 mg nasal spray at 2-25 °C and the older prescription labels apart', () => {
    expect(quarantineRange(labelVersionOf('naloxone-nasal-4mg', undefined)!)).toEqual({ minC: 2, maxC: 25 });
    expect(quarantineRange(labelVersionOf('naloxone-nasal-4mg', 'rx-gen1')!)).toEqual({ minC: 15, maxC: 40 });
  });

  it('judges a reading outside the bounds only, the bounds themselves inside', () => {
    const range = rangeFor('naloxone-nasal-4mg', [undefined])!;

    expect([1.9, 2, 25, 25.1].map((c) => outside(range, c))).toEqual([true, false, false, true]);
    expect(rangeFor('wound-care-kit', [undefined])).toBeUndefined();
  });

  it('refuses a restock item naming a label version the catalogue does not know for its SKU', () => {
    const restock = (labelVersion: string) => ({
      eventId: '3f1c2a9e-8b1d-4c6e-9f0a-1b2c3d4e5f60',
      type: 'restock',
      occurredAt: '2026-07-10T12:00:00Z',
      items: [{ sku: 'naloxone-nasal-4mg', quantity: 1, lot: 'L', labelVersion }],
    });

    expect(kioskEventSchema().safeParse(restock('rx-gen1')).success).toBe(true);
    const refused = kioskEventSchema().safeParse(restock('v9'));
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.path).toEqual(['items', 0, 'labelVersion']);
  });
});
