import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, dispense, startTestBackend, today } from '../../support/backend.js';
import { inPool, seeded } from '../../support/pool.js';

let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend();
});
afterAll(async () => {
  await api.backend.stop();
});

describe('kiosks flushing queued events in bursts', () => {
  it('records 500 events with 30 % duplicates sent 32 at a time exactly once each', async () => {
    const random = seeded(7);
    const site = 'site-load';
    const kiosks = await Promise.all(
      [0, 1, 2, 3].map(() =>
        api.registerKiosk({ siteId: site, lowStockThreshold: 10, inventory: { 'naloxone-nasal-4mg': 1000 } }),
      ),
    );
    const unique = Array.from({ length: 350 }, () => {
      const kiosk = kiosks[Math.floor(random() * kiosks.length)];
      const quantity = 1 + Math.floor(random() * 3);
      return { kiosk, event: dispense({ items: [{ sku: 'naloxone-nasal-4mg', quantity }] }) };
    });
    const duplicates = Array.from({ length: 150 }, () => unique[Math.floor(random() * unique.length)]);
    const sends = [...unique, ...duplicates].sort(() => random() - 0.5);
    const readsBefore = api.backend.dynamo.stats().byOperation.GetItem ?? 0;

    const answers = await inPool(sends, 32, ({ kiosk, event }) => api.kioskPost(kiosk, event));

    const byStatus: Record<number, number> = {};
    for (const answer of answers) byStatus[answer.status] = (byStatus[answer.status] ?? 0) + 1;
    expect(byStatus).toEqual({ 201: 350, 200: 150 });
    const report = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&siteId=${site}`,
    );
    const expectedKits = unique.reduce((sum, { event }) => sum + event.items[0].quantity, 0);
    expect(report.body.dispenseEvents).toBe(350);
    expect(report.body.kitsDispensed['naloxone-nasal-4mg']).toBe(expectedKits);
    // Each kiosk is read once (the container keeps it); retries and new events alike go straight to the write.
    expect((api.backend.dynamo.stats().byOperation.GetItem ?? 0) - readsBefore).toBeLessThanOrEqual(
      kiosks.length,
    );
  });

  it('keeps stock exact and alerts once when 48 concurrent dispenses race at one kiosk across its threshold', async () => {
    const kiosk = await api.registerKiosk({ lowStockThreshold: 20, inventory: { 'naloxone-im-0.4mg': 40 } });
    const events = Array.from({ length: 48 }, () =>
      dispense({ items: [{ sku: 'naloxone-im-0.4mg', quantity: 1 }] }),
    );

    const answers = await inPool(events, 32, (event) => api.kioskPost(kiosk, event));
    // A same-id retry of every event while the others are still landing.
    const retries = await inPool(events, 32, (event) => api.kioskPost(kiosk, event));

    expect(answers.every((a) => a.status === 201)).toBe(true);
    expect(retries.every((a) => a.status === 200)).toBe(true);
    const alerts = (await api.delivered()).filter(
      (line) => line.topic === 'restock' && JSON.parse(line.message).kioskId === kiosk.kioskId,
    );
    expect(alerts).toHaveLength(1);
    expect(JSON.parse(alerts[0].message).stock).toBe(20);
    const restock = {
      eventId: randomUUID(),
      type: 'restock',
      occurredAt: new Date().toISOString(),
      items: [{ sku: 'naloxone-im-0.4mg', quantity: 100 }],
    };
    await api.kioskPost(kiosk, restock);
    // 40 - 48 clamps at 0 (8 units mismatched), + 100 = 100; then 80 more falls to 20 exactly: a second alert.
    await inPool(
      Array.from({ length: 80 }, () => dispense({ items: [{ sku: 'naloxone-im-0.4mg', quantity: 1 }] })),
      32,
      (e) => api.kioskPost(kiosk, e),
    );
    const after = (await api.delivered()).filter(
      (line) => line.topic === 'restock' && JSON.parse(line.message).kioskId === kiosk.kioskId,
    );
    expect(after).toHaveLength(2);
    expect(JSON.parse(after[1].message).stock).toBe(20);
  });

  it('answers the same new event sent 16 times at once with one recorded and 15 duplicates', async () => {
    const kiosk = await api.registerKiosk({ siteId: 'site-same' });
    const event = dispense({ contactRequest: { phone: '+15555550142', topic: 'treatment' } });

    const answers = await Promise.all(Array.from({ length: 16 }, () => api.kioskPost(kiosk, event)));

    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 200)).toHaveLength(15);
    const tasks = (await api.delivered()).filter(
      (line) => line.topic === 'outreach' && JSON.parse(line.message).kioskId === kiosk.kioskId,
    );
    expect(tasks).toHaveLength(1);
  });
});
