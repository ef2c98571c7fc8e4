import { describe, expect, it } from 'vitest';
import { applyChange, type ItemChange } from '../../../functions/core/updates.js';

// What a container keeps as its kiosk copy after its own write (functions/adapters/kiosk/kiosk-store.ts writeKioskEvent).
describe('an item after a change', () => {
  const kiosk = () => ({
    kioskId: 'K-0001',
    version: 7,
    stock: { 'naloxone-nasal-4mg': 12, 'fentanyl-test-strip': 40 },
    alerted: { 'naloxone-nasal-4mg': true },
    lots: { 'naloxone-nasal-4mg': { 'L-1': 5, 'L-2': 7 } },
    lastSeenAt: '2026-11-20T14:00:00.000Z',
  });
  const change: ItemChange = {
    actions: [
      { add: ['version'], value: 1 },
      { set: ['stock', 'naloxone-nasal-4mg'], minus: 2 },
      { set: ['lots', 'naloxone-nasal-4mg', 'L-1'], value: 3 },
      { remove: ['alerted', 'naloxone-nasal-4mg'] },
      { set: ['previousSeenAt'], from: ['lastSeenAt'] },
      { set: ['lastSeenAt'], value: '2026-11-20T15:00:00.000Z' },
      { add: ['mismatchUnits'], value: 1 },
      { set: ['faults', 'door_open'], value: { since: '2026-11-20T15:00:00.000Z' } },
    ],
    conditions: [],
  };

  it('holds every change, nested ones too', () => {
    const after = applyChange(kiosk(), change);

    expect(after).toEqual({
      kioskId: 'K-0001',
      version: 8,
      stock: { 'naloxone-nasal-4mg': 10, 'fentanyl-test-strip': 40 },
      alerted: {},
      lots: { 'naloxone-nasal-4mg': { 'L-1': 3, 'L-2': 7 } },
      previousSeenAt: '2026-11-20T14:00:00.000Z',
      lastSeenAt: '2026-11-20T15:00:00.000Z',
      mismatchUnits: 1,
      faults: { door_open: { since: '2026-11-20T15:00:00.000Z' } },
    });
  });

  it('leaves the item it was given as it was, however deep the change', () => {
    const before = kiosk();

    applyChange(before, change);

    expect(before).toEqual(kiosk());
  });

  it('gives a copy that a later change does not reach into', () => {
    const first = applyChange(kiosk(), change);
    const snapshotOfFirst = structuredClone(first);

    applyChange(first, {
      actions: [{ set: ['lots', 'naloxone-nasal-4mg', 'L-2'], minus: 7 }],
      conditions: [],
    });

    expect(first).toEqual(snapshotOfFirst);
  });
});
