import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  kioskDetailResponse,
  kioskListResponse,
  lotResponse,
  secretRotatedResponse,
} from '../../../functions/http/responses.js';
import { ADMIN, apiClock, OUTREACH, startTestBackend } from '../../support/backend.js';

/**
 * The kiosk fleet through HTTP, on a manual clock (contract: "Kiosk fleet"): heartbeats, silence and
 * return, lots taken first expiring first, expiry alerts, quarantine against the label range, secret
 * rotation with its 24 hours of grace, the paged list, the lot recall answer and the report additions.
 * Every time is the backend's: the clock moves only when a test moves it.
 */
const START = Date.parse('2026-06-01T00:00:00Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SKU = 'naloxone-nasal-4mg';

let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend({ TIME_SCALE: 'manual', CLOCK_START: new Date(START).toISOString() });
});
afterAll(async () => {
  await api?.backend.stop();
});

const { now: backendNow, advanceBy } = apiClock(() => api);
const event = async (type: string, fields: Record<string, unknown> = {}) => ({
  eventId: randomUUID(),
  type,
  occurredAt: new Date(await backendNow()).toISOString(),
  ...fields,
});
const messages = (kioskId: string) =>
  api
    .outbox()
    .map((line) => ({ topic: line.topic, publishedAt: line.publishedAt, ...JSON.parse(line.message) }))
    .filter((message) => message.kioskId === kioskId);
const detail = async (kioskId: string) => {
  const answer = await api.staff(ADMIN, 'GET', `/v1/kiosks/${kioskId}`);
  expect(answer.status).toBe(200);
  return kioskDetailResponse.parse(answer.body) as ReturnType<typeof kioskDetailResponse.parse> & {
    stock: Record<
      string,
      {
        units: number;
        available: number;
        quarantined: number;
        lots: { lot: string | null; units: number; expiresOn: string | null }[];
      }
    >;
  };
};

describe('heartbeats', () => {
  it('records a heartbeat as a fourth event type: 201, then 200 for the same one again, stock untouched', async () => {
    // Arrange
    const kiosk = await api.registerKiosk({ kioskId: 'K-HB-1', inventory: { [SKU]: 20 } });
    const heartbeat = await event('heartbeat', { temperatureC: 21.5 });

    // Act
    const first = await api.kioskPost(kiosk, heartbeat);
    const again = await api.kioskPost(kiosk, heartbeat);
    const kioskNow = await detail('K-HB-1');

    // Assert
    expect(first.status).toBe(201);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('duplicate');
    expect(kioskNow.status).toBe('ok');
    expect(kioskNow.lastSeenAt).toBe(new Date(await backendNow()).toISOString());
    expect(kioskNow.lastTemperatureC).toBe(21.5);
    expect(kioskNow.stock[SKU]?.units).toBe(20);
    expect(messages('K-HB-1')).toEqual([]);
  });

  it('costs one DynamoDB round trip, a write, and no outbox row, once the kiosk is known', async () => {
    // Arrange: a first heartbeat makes the kiosk known to the (one) container
    const kiosk = await api.registerKiosk({ kioskId: 'K-HB-2', inventory: { [SKU]: 20 } });
    expect((await api.kioskPost(kiosk, await event('heartbeat', { temperatureC: 20 }))).status).toBe(201);
    const before = api.backend.dynamo.stats();

    // Act: ten heartbeats
    for (let i = 0; i < 10; i += 1) {
      const answer = await api.kioskPost(kiosk, await event('heartbeat', { temperatureC: 20 + i / 10 }));
      expect(answer.status).toBe(201);
    }

    // Assert
    const after = api.backend.dynamo.stats();
    const perOperation = Object.fromEntries(
      Object.entries(after.byOperation)
        .map(([operation, count]) => [operation, count - (before.byOperation[operation] ?? 0)])
        .filter(([, count]) => (count as number) > 0),
    );
    expect(perOperation).toEqual({ TransactWriteItems: 10 });
    expect(after.requests - before.requests).toBe(10);
  });
});

describe('silence', () => {
  it('sends one kiosk-ops message when a kiosk goes silent and one when it is heard again', async () => {
    // Arrange: silent after 2 hours
    const kiosk = await api.registerKiosk({ kioskId: 'K-SIL-1', offlineAfterMinutes: 120 });
    const heard = await backendNow();
    await api.kioskPost(kiosk, await event('heartbeat'));

    // Act: 2 h is not "longer than" 2 h; 2 h and 1 minute is; then a whole day more
    await advanceBy(2 * HOUR);
    const atDeadline = await detail('K-SIL-1');
    await advanceBy(MINUTE);
    const past = await detail('K-SIL-1');
    await advanceBy(DAY);
    const silentMessages = messages('K-SIL-1');
    await api.kioskPost(kiosk, await event('heartbeat'));
    await api.kioskPost(kiosk, await event('heartbeat'));
    const back = await detail('K-SIL-1');

    // Assert
    expect(atDeadline.status).toBe('ok');
    expect(past.status).toBe('offline');
    expect(past.offlineSince).toBe(new Date(heard + 2 * HOUR).toISOString());
    expect(silentMessages.map((m) => [m.topic, m.kind, m.publishedAt])).toEqual([
      // Published the moment the deadline passed, whatever step the clock took.
      ['kiosk-ops', 'kiosk-silent', new Date(heard + 2 * HOUR + 1).toISOString()],
    ]);
    expect(messages('K-SIL-1').map((m) => m.kind)).toEqual(['kiosk-silent', 'kiosk-heard-again']);
    expect(back.status).toBe('ok');
    expect(back.offlineSince).toBeNull();
  });

  it('treats a kiosk never heard from as silent from its registration on', async () => {
    // Arrange
    await api.registerKiosk({ kioskId: 'K-SIL-2', offlineAfterMinutes: 30 });

    // Act
    await advanceBy(31 * MINUTE);

    // Assert
    expect((await detail('K-SIL-2')).status).toBe('offline');
    expect(messages('K-SIL-2').map((m) => m.kind)).toEqual(['kiosk-silent']);
  });
});

describe('lots', () => {
  it('keeps stock per lot and takes the lot that expires first', async () => {
    // Arrange
    const kiosk = await api.registerKiosk({ kioskId: 'K-LOT-1', lowStockThreshold: 2 });
    await api.kioskPost(
      kiosk,
      await event('restock', {
        items: [
          { sku: SKU, quantity: 10, lot: 'LATE-1', expiresOn: '2028-06-30' },
          { sku: SKU, quantity: 4, lot: 'EARLY-1', expiresOn: '2027-12-31' },
        ],
      }),
    );

    // Act: 6 units: 4 from EARLY-1, then 2 from LATE-1
    for (const quantity of [3, 3])
      await api.kioskPost(kiosk, await event('dispense', { items: [{ sku: SKU, quantity }] }));
    const kioskNow = await detail('K-LOT-1');
    const late = await api.staff(ADMIN, 'GET', '/v1/lots/LATE-1');
    const early = await api.staff(ADMIN, 'GET', '/v1/lots/EARLY-1');
    const unknown = await api.staff(ADMIN, 'GET', '/v1/lots/NEVER-SEEN');

    // Assert
    expect(kioskNow.stock[SKU]?.units).toBe(8);
    expect(kioskNow.stock[SKU]?.lots.map((lot) => [lot.lot, lot.units, lot.expiresOn])).toEqual([
      ['LATE-1', 8, '2028-06-30'],
    ]);
    expect(late.status).toBe(200);
    const answer = lotResponse.parse(late.body);
    expect(answer.kiosks).toMatchObject([
      { kioskId: 'K-LOT-1', sku: SKU, restocked: 10, dispensed: 2, removed: 0, held: 8 },
    ]);
    expect(early.body.kiosks).toMatchObject([{ kioskId: 'K-LOT-1', restocked: 4, dispensed: 4, held: 0 }]);
    expect(unknown.status).toBe(404);
  });

  it('sends one restock alert when a lot at a kiosk comes within 30 days of its expiry', async () => {
    // Arrange: a lot expiring 40 days from now
    const kiosk = await api.registerKiosk({ kioskId: 'K-LOT-2', offlineAfterMinutes: 525_600 });
    const today = await backendNow();
    const expiresOn = new Date(today + 40 * DAY).toISOString().slice(0, 10);
    await api.kioskPost(
      kiosk,
      await event('restock', { items: [{ sku: SKU, quantity: 12, lot: 'SOON-1', expiresOn }] }),
    );

    // Act
    await advanceBy(9 * DAY);
    const before = messages('K-LOT-2').filter((m) => m.kind === 'lot-expiring');
    await advanceBy(2 * DAY);
    await advanceBy(20 * DAY);
    const alerts = messages('K-LOT-2').filter((m) => m.kind === 'lot-expiring');

    // Assert
    expect(before).toEqual([]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      topic: 'restock',
      lot: 'SOON-1',
      sku: SKU,
      expiresOn,
      units: 12,
      publishedAt: `${new Date(Date.parse(expiresOn) - 30 * DAY).toISOString()}`,
    });
    expect((await detail('K-LOT-2')).conditions).toContain('expiring-stock');
  });
});

describe('temperature against the label', () => {
  it('quarantines the SKUs whose range a reading leaves, alerts restock once, and a restock swaps them', async () => {
    // Arrange: 4 mg nasal spray (2-25 °C) and wound-care kits (no range)
    const kiosk = await api.registerKiosk({
      kioskId: 'K-TEMP-1',
      lowStockThreshold: 2,
      inventory: { [SKU]: 12, 'wound-care-kit': 5 },
    });

    // Act
    const hot = await api.kioskPost(kiosk, await event('heartbeat', { temperatureC: 31 }));
    const hotter = await api.kioskPost(kiosk, await event('heartbeat', { temperatureC: 35 }));
    const quarantined = await detail('K-TEMP-1');
    await api.kioskPost(kiosk, await event('dispense', { items: [{ sku: SKU, quantity: 1 }] }));
    const swap = await api.kioskPost(
      kiosk,
      await event('restock', {
        items: [{ sku: SKU, quantity: 20, lot: 'FRESH-1', expiresOn: '2028-01-31' }],
      }),
    );
    const swapped = await detail('K-TEMP-1');

    // Assert
    expect([hot.status, hotter.status, swap.status]).toEqual([201, 201, 201]);
    expect(quarantined.status).toBe('quarantined');
    expect(quarantined.stock[SKU]).toMatchObject({ units: 12, available: 0, quarantined: 12 });
    expect(quarantined.stock['wound-care-kit']).toMatchObject({ units: 5, available: 5, quarantined: 0 });
    const alerts = messages('K-TEMP-1').filter((m) => m.kind === 'quarantine');
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      topic: 'restock',
      sku: SKU,
      units: 12,
      temperatureC: 31,
      minC: 2,
      maxC: 25,
    });
    expect(swapped.status).toBe('ok');
    expect(swapped.stock[SKU]).toMatchObject({ units: 20, available: 20, quarantined: 0 });
    expect(swapped.stock[SKU]?.lots.map((lot) => lot.lot)).toEqual(['FRESH-1']);
  });
});

describe('open faults', () => {
  it('keeps a fault open (faulted) until a restock that occurred after it', async () => {
    // Arrange
    const kiosk = await api.registerKiosk({ kioskId: 'K-FAULT-1', inventory: { [SKU]: 20 } });

    // Act
    await api.kioskPost(kiosk, await event('fault', { code: 'door_open' }));
    await api.kioskPost(kiosk, await event('heartbeat'));
    const open = await detail('K-FAULT-1');
    await advanceBy(MINUTE);
    await api.kioskPost(kiosk, await event('restock', { items: [{ sku: SKU, quantity: 1 }] }));
    const closed = await detail('K-FAULT-1');

    // Assert
    expect(open.status).toBe('faulted');
    expect(open.openFaults).toMatchObject([{ code: 'door_open', count: 1 }]);
    expect(closed.status).toBe('ok');
    expect(closed.openFaults).toEqual([]);
  });
});

describe('secret rotation', () => {
  it('answers a new secret once and keeps the old one working for 24 hours of backend time', async () => {
    // Arrange
    const kiosk = await api.registerKiosk({ kioskId: 'K-ROT-1', offlineAfterMinutes: 525_600 });
    const recorded = await event('heartbeat');
    await api.kioskPost(kiosk, recorded);

    // Act
    const rotated = await api.staff(ADMIN, 'POST', '/v1/kiosks/K-ROT-1/secret');
    const renewed = { kioskId: kiosk.kioskId, secret: rotated.body.secret as string };
    const oldStillWorks = await api.kioskPost(kiosk, await event('heartbeat'));
    const retryUnderNewSecret = await api.kioskPost(renewed, recorded);
    await advanceBy(DAY - MINUTE);
    const oldAtTheEnd = await api.kioskPost(kiosk, await event('heartbeat'));
    await advanceBy(MINUTE);
    const oldAfter = await api.kioskPost(kiosk, await event('heartbeat'));
    const newAfter = await api.kioskPost(renewed, await event('heartbeat'));

    // Assert
    expect(rotated.status).toBe(200);
    expect(secretRotatedResponse.parse(rotated.body).secret).not.toBe(kiosk.secret);
    expect(oldStillWorks.status).toBe(201);
    expect(retryUnderNewSecret.status).toBe(200);
    expect(oldAtTheEnd.status).toBe(201);
    expect(oldAfter.status).toBe(401);
    expect(newAfter.status).toBe(201);
  });

  it('keeps the old secret when asked again before the kiosk used the new one (an answer lost on its way)', async () => {
    // Arrange
    const kiosk = await api.registerKiosk({ kioskId: 'K-ROT-2', offlineAfterMinutes: 525_600 });

    // Act: two rotations, the first answer never reached the administrator
    await api.staff(ADMIN, 'POST', '/v1/kiosks/K-ROT-2/secret');
    const second = await api.staff(ADMIN, 'POST', '/v1/kiosks/K-ROT-2/secret');
    const old = await api.kioskPost(kiosk, await event('heartbeat'));
    const renewed = await api.kioskPost(
      { kioskId: kiosk.kioskId, secret: second.body.secret },
      await event('heartbeat'),
    );

    // Assert
    expect(old.status).toBe(201);
    expect(renewed.status).toBe(201);
  });

  it('answers 404 for an unknown kiosk and 403 for outreach staff', async () => {
    const unknown = await api.staff(ADMIN, 'POST', '/v1/kiosks/K-NOBODY/secret');
    const outreach = await api.staff(OUTREACH, 'POST', '/v1/kiosks/K-ROT-1/secret');

    expect(unknown.status).toBe(404);
    expect(outreach.status).toBe(403);
  });
});

describe('the kiosk list', () => {
  it('pages with limit and next, every kiosk once, each with its derived status', async () => {
    // Act
    const seen: string[] = [];
    let next: string | undefined;
    let pages = 0;
    do {
      const answer = await api.staff(
        ADMIN,
        'GET',
        `/v1/kiosks?limit=3${next ? `&next=${encodeURIComponent(next)}` : ''}`,
      );
      expect(answer.status).toBe(200);
      const page = kioskListResponse.parse(answer.body);
      expect(page.kiosks.length).toBeLessThanOrEqual(3);
      seen.push(...page.kiosks.map((kiosk) => kiosk.kioskId));
      next = page.next;
      pages += 1;
    } while (next);

    // Assert
    expect(pages).toBeGreaterThan(2);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toEqual(expect.arrayContaining(['K-HB-1', 'K-SIL-1', 'K-LOT-1', 'K-TEMP-1', 'K-ROT-1']));
  });
});

describe('the naloxone report', () => {
  it('adds kits by lot, quarantined units and offline hours per kiosk, small cells suppressed unless raw', async () => {
    // Arrange: a kiosk of its own site; 3 kits from lot REP-A, 17 units quarantined, 2 hours offline
    const kiosk = await api.registerKiosk({
      kioskId: 'K-REP-1',
      siteId: 'site-rep',
      offlineAfterMinutes: 60,
    });
    await api.kioskPost(
      kiosk,
      await event('restock', { items: [{ sku: SKU, quantity: 20, lot: 'REP-A', expiresOn: '2029-01-31' }] }),
    );
    await api.kioskPost(kiosk, await event('dispense', { items: [{ sku: SKU, quantity: 3 }] }));
    await api.kioskPost(kiosk, await event('heartbeat', { temperatureC: -3 }));
    await advanceBy(3 * HOUR);
    await api.kioskPost(kiosk, await event('heartbeat', { temperatureC: 20 }));
    await advanceBy(0); // the sweep counts the ended outage at the next step of the clock
    const day = new Date(await backendNow()).toISOString().slice(0, 10);
    const query = `from=${new Date(START).toISOString().slice(0, 10)}&to=${day}&siteId=site-rep`;

    // Act
    const raw = await api.staff(ADMIN, 'GET', `/v1/reports/naloxone?${query}&raw=true`);
    const published = await api.staff(ADMIN, 'GET', `/v1/reports/naloxone?${query}`);
    const csv = await api.staff(ADMIN, 'GET', `/v1/reports/naloxone?${query}&format=csv`);

    // Assert
    expect(raw.status).toBe(200);
    expect(raw.body.kitsByLot).toEqual([{ lot: 'REP-A', sku: SKU, kits: 3 }]);
    expect(raw.body.quarantinedUnits).toBe(17);
    expect(raw.body.quarantinedUnitsBySku).toEqual({ [SKU]: 17 });
    expect(raw.body.offlineByKiosk).toEqual([{ kioskId: 'K-REP-1', siteId: 'site-rep', offlineHours: 2 }]);
    expect(raw.body.offlineHours).toBe(2);
    expect(published.body.kitsByLot).toEqual([{ lot: 'REP-A', sku: SKU, kits: '<11' }]);
    expect(published.body.quarantinedUnitsBySku).toEqual({ [SKU]: 17 });
    expect(published.body.offlineByKiosk).toEqual([
      { kioskId: 'K-REP-1', siteId: 'site-rep', offlineHours: '<11' },
    ]);
    expect(csv.text).toContain('kitsByLot,REP-A,kits,<11');
    expect(csv.text).toContain('offlineByKiosk,K-REP-1,offlineHours,<11');
  });
});
