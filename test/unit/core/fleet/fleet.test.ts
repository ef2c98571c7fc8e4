import { describe, expect, it } from 'vitest';
import { expressionsOf } from '../../../../functions/adapters/expressions.js';
import {
  acceptedSecrets,
  clearFaults,
  expiryAlertAt,
  type FleetKiosk,
  isSilent,
  kioskAnswer,
  livenessOf,
  lotAnswerOf,
  openFault,
  quarantineFor,
  rotationChanges,
  secondsByDay,
} from '../../../../functions/core/fleet/fleet.js';
import type { ItemChange } from '../../../../functions/core/updates.js';
import { spelled } from '../../handlers/fakes.js';

const NOW = new Date('2026-07-10T12:00:00.000Z');
const SKU = 'naloxone-nasal-4mg';

const kiosk = (overrides: Partial<FleetKiosk> = {}): FleetKiosk => ({
  kioskId: 'K-1',
  siteId: 'site-1',
  lowStockThreshold: 5,
  stock: { [SKU]: 20 },
  alerted: {},
  lotStock: {},
  quarantine: {},
  openFaults: {},
  createdAt: '2026-07-01T00:00:00.000Z',
  offlineAfterMinutes: 60,
  lastSeenAt: '2026-07-10T11:30:00.000Z',
  silentAt: '2026-07-10T12:30:00.000Z',
  watch: 'online',
  ...overrides,
});

const words = (change: ItemChange) => {
  const expressed = expressionsOf(change);
  return {
    update: spelled(expressed.UpdateExpression, expressed),
    condition: spelled(expressed.ConditionExpression, expressed),
  };
};

describe('silence', () => {
  it('is offline only once the deadline has passed: longer than offlineAfterMinutes, not equal', () => {
    const deadline = Date.parse('2026-07-10T12:30:00.000Z');

    expect(isSilent(kiosk(), new Date(deadline))).toBe(false);
    expect(isSilent(kiosk(), new Date(deadline + 1))).toBe(true);
  });

  it('counts from registration for a kiosk never heard from, and from the last event of one of an earlier version', () => {
    const never = kiosk({ lastSeenAt: undefined, silentAt: undefined });
    const earlier = kiosk({ silentAt: undefined, lastSeenAt: '2026-07-10T11:30:00.000Z' });

    expect(isSilent(never, NOW)).toBe(true);
    expect(isSilent(earlier, NOW)).toBe(false);
  });
});

describe('an event arriving', () => {
  it('moves the silence deadline on and relies on the kiosk not being marked offline meanwhile', () => {
    // Act
    const { change, notifications } = livenessOf(kiosk(), NOW);
    const { update, condition } = words(change);

    // Assert
    expect(update).toBe(
      'SET lastSeenAt = "2026-07-10T12:00:00.000Z", silentAt = "2026-07-10T13:00:00.000Z", watch = "online"',
    );
    expect(condition).toBe('attribute_not_exists(offlineSince)');
    expect(notifications).toEqual([]);
  });

  it('ends the outage of a kiosk the sweep marked offline, with one heard-again message', () => {
    // Arrange
    const marked = kiosk({ watch: undefined, offlineSince: '2026-07-09T00:00:00.000Z' });

    // Act
    const { change, notifications } = livenessOf(marked, NOW);
    const { update, condition } = words(change);

    // Assert
    expect(update).toContain('outageEndedAt = "2026-07-10T12:00:00.000Z"');
    expect(update).toContain('outageDueAt = "2026-07-10T12:00:00.000Z"');
    expect(condition).toContain('offlineSince = "2026-07-09T00:00:00.000Z"');
    expect(condition).toContain('attribute_not_exists(outageEndedAt)');
    expect(notifications).toEqual([
      {
        topic: 'kiosk-ops',
        body: {
          kind: 'kiosk-heard-again',
          kioskId: 'K-1',
          siteId: 'site-1',
          offlineSince: '2026-07-09T00:00:00.000Z',
          lastSeenAt: '2026-07-10T11:30:00.000Z',
          at: NOW.toISOString(),
        },
      },
    ]);
  });

  it('records the outage of a kiosk silent past its deadline that the sweep has not reached yet', () => {
    // Arrange
    const silent = kiosk({ silentAt: '2026-07-10T11:00:00.000Z' });

    // Act
    const { change, notifications } = livenessOf(silent, NOW);
    const { update, condition } = words(change);

    // Assert
    expect(update).toContain('offlineSince = "2026-07-10T11:00:00.000Z"');
    expect(update).toContain('outage = "accrue"');
    expect(condition).toContain('silentAt = "2026-07-10T11:00:00.000Z"');
    expect(notifications.map((n) => n.body.kind)).toEqual(['kiosk-heard-again']);
  });
});

describe('temperature against the label', () => {
  it('quarantines a stocked SKU outside its range, with the range in the one restock message', () => {
    // Act
    const plan = quarantineFor(kiosk(), 26, 'E-1', NOW);

    // Assert
    expect(plan.units).toEqual({ [SKU]: 20 });
    expect(plan.notifications).toEqual([
      {
        topic: 'restock',
        body: {
          kind: 'quarantine',
          kioskId: 'K-1',
          siteId: 'site-1',
          sku: SKU,
          units: 20,
          temperatureC: 26,
          minC: 2,
          maxC: 25,
          at: NOW.toISOString(),
        },
      },
    ]);
    expect(words(plan.change).condition).toContain(`stock.${SKU} = 20`);
  });

  it.each([
    ['the edge of the range', 25, {}],
    [
      'a SKU already in quarantine',
      40,
      { quarantine: { [SKU]: { since: 'x', temperatureC: 40, eventId: 'e', units: 20 } } },
    ],
    ['a SKU with nothing in stock', 40, { stock: { [SKU]: 0 } }],
    ['wound-care kits, which have no range', 60, { stock: { 'wound-care-kit': 10 } }],
  ] as const)('leaves alone %s', (_, temperatureC, overrides) => {
    const plan = quarantineFor(kiosk(overrides as Partial<FleetKiosk>), temperatureC, 'E-1', NOW);

    expect(plan.units).toEqual({});
    expect(plan.notifications).toEqual([]);
  });

  it('judges a SKU holding lots of two label versions by the strictest bounds', () => {
    // Arrange: the 2020 prescription label allows 5-40 °C; the current one 2-25 °C
    const mixed = kiosk({
      stock: { [SKU]: 20 },
      lotStock: {
        [SKU]: {
          version: 1,
          lots: {
            OLD: { units: 10, labelVersion: 'rx-gen2-2020' },
            NEW: { units: 10, labelVersion: 'otc-2023' },
          },
        },
      },
    });
    const onlyOld = kiosk({
      lotStock: { [SKU]: { version: 1, lots: { OLD: { units: 20, labelVersion: 'rx-gen2-2020' } } } },
    });

    // Act / Assert: 3 °C is inside 2-25 but outside 5-40; 30 °C the other way round
    expect(quarantineFor(mixed, 3, 'E', NOW).units).toEqual({ [SKU]: 20 });
    expect(quarantineFor(mixed, 30, 'E', NOW).units).toEqual({ [SKU]: 20 });
    expect(quarantineFor(onlyOld, 30, 'E', NOW).units).toEqual({});
  });
});

describe('open faults', () => {
  it('keeps the first and last time and the count of a fault code', () => {
    // Arrange
    const known = kiosk({
      openFaults: {
        door_open: {
          firstOccurredAt: '2026-07-09T00:00:00.000Z',
          lastOccurredAt: '2026-07-09T00:00:00.000Z',
          lastEventId: 'E-0',
          count: 1,
        },
      },
    });

    // Act
    const { update } = words(
      openFault(known, { code: 'door_open', occurredAt: '2026-07-10T10:00:00Z', eventId: 'E-1' }),
    );

    // Assert
    expect(update).toBe(
      'SET openFaults.door_open = {"firstOccurredAt":"2026-07-09T00:00:00.000Z","lastOccurredAt":"2026-07-10T10:00:00.000Z","lastEventId":"E-1","count":2}',
    );
  });

  it('closes with a restock the faults reported before it occurred, and not one reported after', () => {
    // Arrange
    const faulted = kiosk({
      openFaults: {
        door_open: {
          firstOccurredAt: 'a',
          lastOccurredAt: '2026-07-10T09:00:00.000Z',
          lastEventId: 'x',
          count: 1,
        },
        vend_failure: {
          firstOccurredAt: 'a',
          lastOccurredAt: '2026-07-10T11:00:00.000Z',
          lastEventId: 'y',
          count: 1,
        },
      },
    });

    // Act
    const { update, condition } = words(clearFaults(faulted, '2026-07-10T10:00:00Z'));

    // Assert
    expect(update).toBe('REMOVE openFaults.door_open');
    expect(condition).toBe('openFaults.door_open.lastOccurredAt = "2026-07-10T09:00:00.000Z"');
  });
});

describe('the kiosk as staff see it', () => {
  it.each([
    ['offline', { silentAt: '2026-07-10T11:59:59.000Z' }],
    [
      'faulted',
      { openFaults: { other: { firstOccurredAt: 'a', lastOccurredAt: 'b', lastEventId: 'c', count: 1 } } },
    ],
    ['quarantined', { quarantine: { [SKU]: { since: 'a', temperatureC: 30, eventId: 'e', units: 20 } } }],
    ['low-stock', { stock: { [SKU]: 5 } }],
    ['ok', {}],
  ] as const)('derives status %s', (status, overrides) => {
    expect(kioskAnswer(kiosk(overrides as Partial<FleetKiosk>), NOW).status).toBe(status);
  });

  it('names the most pressing status and lists every condition that holds', () => {
    // Arrange: silent, faulted, low and holding an expired lot
    const troubled = kiosk({
      silentAt: '2026-07-10T11:00:00.000Z',
      stock: { [SKU]: 4 },
      lotStock: { [SKU]: { version: 1, lots: { GONE: { units: 4, expiresOn: '2026-07-01' } } } },
      openFaults: { door_open: { firstOccurredAt: 'a', lastOccurredAt: 'b', lastEventId: 'c', count: 1 } },
    });

    // Act
    const answer = kioskAnswer(troubled, NOW);

    // Assert
    expect(answer.status).toBe('offline');
    expect(answer.conditions).toEqual(['offline', 'faulted', 'expired-stock', 'low-stock']);
    expect(answer.offlineSince).toBe('2026-07-10T11:00:00.000Z');
    expect(answer.stock[SKU]).toMatchObject({ units: 4, available: 4, lowStock: true });
    expect(answer.stock[SKU]?.lots).toEqual([
      {
        lot: 'GONE',
        units: 4,
        expiresOn: '2026-07-01',
        labelVersion: null,
        expired: true,
        expiringSoon: false,
      },
    ]);
  });

  it('counts quarantined units but not as available, and shows stock without a lot first', () => {
    // Arrange
    const hot = kiosk({
      stock: { [SKU]: 20 },
      lotStock: { [SKU]: { version: 1, lots: { L1: { units: 12, expiresOn: '2026-08-01' } } } },
      quarantine: { [SKU]: { since: '2026-07-10T08:00:00.000Z', temperatureC: 31, eventId: 'e', units: 20 } },
    });

    // Act
    const answer = kioskAnswer(hot, NOW);

    // Assert
    expect(answer.stock[SKU]).toMatchObject({
      units: 20,
      available: 0,
      quarantined: 20,
      quarantine: { since: '2026-07-10T08:00:00.000Z', temperatureC: 31 },
    });
    expect(answer.stock[SKU]?.lots.map((lot) => [lot.lot, lot.units, lot.expiringSoon])).toEqual([
      [null, 8, false],
      ['L1', 12, true],
    ]);
    expect(answer.conditions).toEqual(['quarantined', 'low-stock', 'expiring-stock']);
  });
});

describe('secret rotation', () => {
  it('accepts the previous secret until 24 hours after the rotation, not at that instant', () => {
    const rotated = {
      secretSealed: 'NEW',
      previousSecretSealed: 'OLD',
      previousSecretUntil: '2026-07-11T12:00:00.000Z',
    };

    expect(acceptedSecrets(rotated, new Date('2026-07-11T11:59:59.999Z'))).toEqual(['NEW', 'OLD']);
    expect(acceptedSecrets(rotated, new Date('2026-07-11T12:00:00.000Z'))).toEqual(['NEW']);
  });

  it('replaces the secret in use unless an unused rotated one stands in for a previous secret still valid', () => {
    // Act
    const { replace, keep } = rotationChanges('SEALED-NEW', NOW, true);

    // Assert
    expect(words(replace).update).toBe(
      'SET previousSecretSealed = secretSealed, previousSecretUntil = "2026-07-11T12:00:00.000Z", secretSealed = "SEALED-NEW", secretIssuedAt = "2026-07-10T12:00:00.000Z" REMOVE secretConfirmedAt',
    );
    expect(words(replace).condition).toBe(
      'attribute_exists(kioskId) AND (attribute_not_exists(secretIssuedAt) OR attribute_exists(secretConfirmedAt) OR attribute_not_exists(previousSecretUntil) OR previousSecretUntil <= "2026-07-10T12:00:00.000Z")',
    );
    expect(words(keep).update).not.toContain('previousSecretSealed');
    expect(words(keep).condition).toContain('attribute_not_exists(secretConfirmedAt)');
  });

  it('keeps the first secret of a kiosk of an earlier version as its fingerprint key', () => {
    const { replace } = rotationChanges('SEALED-NEW', NOW, false);

    expect(words(replace).update).toContain('fingerprintSealed = secretSealed');
    expect(words(replace).condition).toContain('attribute_not_exists(fingerprintSealed)');
  });
});

describe('times', () => {
  it('sends the expiry alert the given days before the expiry date, at 00:00 UTC', () => {
    expect(expiryAlertAt('2026-09-30', 30)).toBe('2026-08-31T00:00:00.000Z');
    expect(expiryAlertAt('2026-09-30', 0)).toBe('2026-09-30T00:00:00.000Z');
  });

  it('splits an outage into seconds per UTC day', () => {
    expect(secondsByDay('2026-07-09T22:00:00.000Z', '2026-07-11T01:30:00.000Z')).toEqual([
      { day: '2026-07-09', seconds: 7200 },
      { day: '2026-07-10', seconds: 86_400 },
      { day: '2026-07-11', seconds: 5400 },
    ]);
    expect(secondsByDay('2026-07-09T22:00:00.000Z', '2026-07-09T22:00:00.000Z')).toEqual([]);
  });
});

describe('where a lot went', () => {
  it('answers per kiosk the units held and given out, and the totals', () => {
    // Act
    const answer = lotAnswerOf(
      'L-9',
      [
        {
          kioskId: 'K-2',
          siteId: 's',
          sku: SKU,
          restocked: 10,
          dispensed: 4,
          removed: 6,
          expiresOn: '2026-07-01',
        },
        { kioskId: 'K-1', siteId: 's', sku: SKU, restocked: 20, dispensed: 5 },
      ],
      NOW,
    );

    // Assert
    expect(answer.kiosks.map((row) => [row.kioskId, row.held, row.dispensed, row.expired])).toEqual([
      ['K-1', 15, 5, false],
      ['K-2', 0, 4, true],
    ]);
    expect(answer.totals).toEqual({
      kiosks: 2,
      holding: 1,
      restocked: 30,
      dispensed: 9,
      removed: 6,
      held: 15,
    });
  });
});
