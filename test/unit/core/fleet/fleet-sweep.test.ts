import { describe, expect, it } from 'vitest';
import { expressionsOf } from '../../../../functions/adapters/expressions.js';
import type { FleetKiosk } from '../../../../functions/core/fleet/fleet.js';
import {
  expiryAlertChange,
  OUTAGE_DAYS_PER_WRITE,
  outageCount,
  silenceChange,
} from '../../../../functions/core/fleet/fleet-sweep.js';
import type { ItemChange } from '../../../../functions/core/updates.js';
import { spelled } from '../../handlers/fakes.js';

const NOW = new Date('2026-07-10T12:00:00.000Z');
const words = (change: ItemChange) => {
  const expressed = expressionsOf(change);
  return {
    update: spelled(expressed.UpdateExpression, expressed),
    condition: spelled(expressed.ConditionExpression, expressed),
  };
};
const kiosk = (overrides: Partial<FleetKiosk>): FleetKiosk => ({
  kioskId: 'K-1',
  siteId: 'site-1',
  lowStockThreshold: 5,
  stock: {},
  alerted: {},
  ...overrides,
});

describe('marking a silent kiosk', () => {
  it('takes it out of the silence index, offline from its deadline, conditioned on the deadline it read', () => {
    const { update, condition } = words(
      silenceChange(kiosk({ silentAt: '2026-07-10T11:00:00.000Z', watch: 'online' })),
    );

    expect(update).toBe(
      'SET offlineSince = "2026-07-10T11:00:00.000Z", accruedTo = "2026-07-10T11:00:00.000Z", outageDueAt = "2026-07-11T00:00:00.000Z", outage = "accrue" REMOVE watch',
    );
    expect(condition).toBe(
      'watch = "online" AND silentAt = "2026-07-10T11:00:00.000Z" AND attribute_not_exists(offlineSince)',
    );
  });
});

describe('counting offline time', () => {
  it('counts the whole days of an outage still running, up to today, and waits for the next midnight', () => {
    // Act
    const { steps, ongoing } = outageCount(
      kiosk({ offlineSince: '2026-07-08T20:00:00.000Z', accruedTo: '2026-07-08T20:00:00.000Z' }),
      NOW,
    );

    // Assert
    expect(ongoing).toBe(true);
    expect(steps).toHaveLength(1);
    expect(steps[0]!.days).toEqual([
      { day: '2026-07-08', seconds: 4 * 3600 },
      { day: '2026-07-09', seconds: 86_400 },
    ]);
    expect(words(steps[0]!.change).update).toBe(
      'SET accruedTo = "2026-07-10T00:00:00.000Z", outageDueAt = "2026-07-11T00:00:00.000Z"',
    );
    expect(words(steps[0]!.change).condition).toBe('accruedTo = "2026-07-08T20:00:00.000Z"');
  });

  it('counts the rest of an outage that ended and takes it out of the index', () => {
    // Act
    const { steps, ongoing } = outageCount(
      kiosk({
        offlineSince: '2026-07-08T20:00:00.000Z',
        accruedTo: '2026-07-10T00:00:00.000Z',
        outageEndedAt: '2026-07-10T09:30:00.000Z',
      }),
      NOW,
    );

    // Assert
    expect(ongoing).toBe(false);
    expect(steps.map((step) => step.days)).toEqual([[{ day: '2026-07-10', seconds: 9.5 * 3600 }]]);
    expect(words(steps[0]!.change).update).toBe(
      'REMOVE outage, offlineSince, accruedTo, outageEndedAt, outageDueAt',
    );
    expect(words(steps[0]!.change).condition).toContain('outageEndedAt = "2026-07-10T09:30:00.000Z"');
  });

  it('counts a long outage in several writes, each conditioned on where the one before stopped', () => {
    // Act: 100 days offline
    const { steps } = outageCount(
      kiosk({ offlineSince: '2026-04-01T00:00:00.000Z', accruedTo: '2026-04-01T00:00:00.000Z' }),
      NOW,
    );

    // Assert
    expect(steps.map((step) => step.days.length)).toEqual([OUTAGE_DAYS_PER_WRITE, OUTAGE_DAYS_PER_WRITE, 20]);
    expect(words(steps[1]!.change).condition).toBe(`accruedTo = "${'2026-05-11T00:00:00.000Z'}"`);
    expect(steps.flatMap((step) => step.days).reduce((sum, day) => sum + day.seconds, 0)).toBe(100 * 86_400);
  });
});

describe('a lot expiry alert', () => {
  const row = {
    lot: 'L-1',
    kioskId: 'K-1',
    siteId: 'site-1',
    sku: 'naloxone-nasal-4mg',
    expiresOn: '2026-08-09',
    restocked: 20,
    dispensed: 5,
    removed: 0,
  };

  it('sends one message with the units still held, and marks the row so it is not sent again', () => {
    const { change, notice } = expiryAlertChange(row, NOW);

    expect(notice).toEqual({
      kind: 'lot-expiring',
      kioskId: 'K-1',
      siteId: 'site-1',
      sku: 'naloxone-nasal-4mg',
      lot: 'L-1',
      expiresOn: '2026-08-09',
      units: 15,
      at: NOW.toISOString(),
    });
    expect(words(change).update).toBe(`SET expiryAlertSentAt = "${NOW.toISOString()}" REMOVE alertWatch`);
    expect(words(change).condition).toContain('attribute_not_exists(expiryAlertSentAt)');
  });

  it('sends nothing for a lot the kiosk no longer holds, or whose alert went out already', () => {
    expect(expiryAlertChange({ ...row, dispensed: 20 }, NOW).notice).toBeUndefined();
    expect(
      expiryAlertChange({ ...row, expiryAlertSentAt: '2026-07-01T00:00:00.000Z' }, NOW).notice,
    ).toBeUndefined();
  });
});
