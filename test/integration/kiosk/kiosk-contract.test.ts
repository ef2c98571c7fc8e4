import { randomUUID } from 'node:crypto';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, dispense, OUTREACH, startTestBackend, today } from '../../support/backend.js';

let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend();
});
afterAll(async () => {
  await api.backend.stop();
});

describe('health and documentation', () => {
  it('answers health with the backend clock once ready', async () => {
    const answer = await api.request('GET', '/health');
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('ok');
    expect(Math.abs(Date.parse(answer.body.now) - Date.now())).toBeLessThan(5_000);
  });

  it('serves an OpenAPI 3.1 document that lists the kiosk event route', async () => {
    const answer = await api.request('GET', '/openapi.json');
    expect(answer.body.openapi).toBe('3.1.0');
    expect(answer.body.paths['/v1/kiosk/events'].post.requestBody).toBeDefined();
  });

  it('refuses to move a clock that is not manual', async () => {
    const answer = await api.staff(ADMIN, 'POST', '/local/clock', { advanceTo: '2099-01-01T00:00:00Z' });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('clock_not_manual');
  });

  it('answers an unknown route with the contract error body', async () => {
    const answer = await api.request('GET', '/v1/nothing-here');
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('not_found');
  });
});

describe('kiosk registration', () => {
  it('registers a kiosk once and refuses the same id again', async () => {
    const first = await api.staff(ADMIN, 'POST', '/v1/kiosks', {
      kioskId: 'K-REG-1',
      siteId: 'site-reg',
      lowStockThreshold: 2,
    });
    const again = await api.staff(ADMIN, 'POST', '/v1/kiosks', {
      kioskId: 'K-REG-1',
      siteId: 'site-reg',
      lowStockThreshold: 2,
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ kioskId: 'K-REG-1', secret: expect.any(String) });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('kiosk_exists');
  });

  it('refuses outreach staff, unknown tokens and missing tokens', async () => {
    const body = { kioskId: 'K-REG-2', siteId: 's', lowStockThreshold: 1 };
    expect((await api.staff(OUTREACH, 'POST', '/v1/kiosks', body)).body.error.code).toBe('forbidden');
    expect((await api.staff('nope', 'POST', '/v1/kiosks', body)).status).toBe(401);
    const missing = await api.staff(undefined, 'POST', '/v1/kiosks', body);
    expect(missing.status).toBe(401);
    expect(missing.body.error.code).toBe('unauthorized');
  });

  it('names each broken field of a bad registration', async () => {
    const answer = await api.staff(ADMIN, 'POST', '/v1/kiosks', {
      kioskId: 'no',
      lowStockThreshold: -1,
      colour: 'red',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    const paths = answer.body.error.issues.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['kioskId', 'siteId', 'lowStockThreshold', 'colour']));
  });

  it('never shows the secret again and keeps it only sealed', async () => {
    const kiosk = await api.registerKiosk();
    const db = new DynamoDBClient({ endpoint: api.backend.dynamo.endpoint });
    const stored = await db.send(
      new GetItemCommand({ TableName: 'kiosks', Key: { kioskId: { S: kiosk.kioskId } } }),
    );
    db.destroy();
    const shown =
      JSON.stringify(api.outbox()) +
      JSON.stringify((await api.staff(ADMIN, 'GET', '/v1/outreach/tasks')).body);

    expect(stored.Item?.secretSealed?.S).toEqual(expect.any(String));
    expect(JSON.stringify(stored.Item)).not.toContain(kiosk.secret);
    expect(shown).not.toContain(kiosk.secret);
  });
});

describe('kiosk events', () => {
  it('records a new event, then answers the same event as a duplicate whatever its key order', async () => {
    const kiosk = await api.registerKiosk();
    const event = dispense();
    const reordered = `{ "items": ${JSON.stringify(event.items)},  "occurredAt": "${event.occurredAt}", "type": "dispense", "eventId": "${event.eventId}" }`;

    const first = await api.kioskPost(kiosk, event);
    const second = await api.kioskPost(kiosk, reordered);

    expect(first.status).toBe(201);
    expect(first.body).toEqual({ eventId: event.eventId, status: 'recorded' });
    expect(second.status).toBe(200);
    expect(second.body).toEqual({ eventId: event.eventId, status: 'duplicate' });
  });

  it('answers a changed event under a used id with event_id_conflict and changes nothing', async () => {
    const kiosk = await api.registerKiosk({ siteId: 'site-conflict' });
    const event = dispense();
    await api.kioskPost(kiosk, event);

    const answer = await api.kioskPost(kiosk, {
      ...event,
      items: [{ sku: 'naloxone-nasal-4mg', quantity: 2 }],
    });
    const report = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&siteId=site-conflict&raw=true`,
    );

    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('event_id_conflict');
    expect(report.body.kitsDispensed['naloxone-nasal-4mg']).toBe(1);
  });

  it('still answers a retry as a duplicate after its occurredAt has left the window', async () => {
    const kiosk = await api.registerKiosk();
    const event = dispense({ occurredAt: new Date(Date.now() - 29.99 * 86_400_000).toISOString() });
    expect((await api.kioskPost(kiosk, event)).status).toBe(201);
    // The same body is a duplicate by identity, before any window check.
    const retry = await api.kioskPost(kiosk, event);
    expect(retry.body.status).toBe('duplicate');
  });

  it('records a dispense from an empty machine, keeps stock at zero and counts the mismatch', async () => {
    const kiosk = await api.registerKiosk({
      siteId: 'site-empty',
      lowStockThreshold: 0,
      inventory: { 'naloxone-nasal-4mg': 1 },
    });
    const answers = [
      await api.kioskPost(kiosk, dispense({ items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 }] })),
      await api.kioskPost(kiosk, dispense({ items: [{ sku: 'naloxone-nasal-4mg', quantity: 3 }] })),
    ];
    const report = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&siteId=site-empty&raw=true`,
    );

    expect(answers.map((a) => a.status)).toEqual([201, 201]);
    expect(report.body.kitsDispensed['naloxone-nasal-4mg']).toBe(4);
    expect(report.body.stockMismatchUnits).toBe(3);
  });

  it('sends one low-stock message per fall, and another only after a restock lifts the stock above the threshold', async () => {
    const kiosk = await api.registerKiosk({ lowStockThreshold: 2, inventory: { 'naloxone-nasal-8mg': 4 } });
    const restockMessages = async () =>
      (await api.delivered()).filter(
        (line) => line.topic === 'restock' && JSON.parse(line.message).kioskId === kiosk.kioskId,
      );
    const take = (quantity: number) =>
      api.kioskPost(kiosk, dispense({ items: [{ sku: 'naloxone-nasal-8mg', quantity }] }));

    await take(1); // 3 left: above the threshold
    expect(await restockMessages()).toHaveLength(0);
    await take(1); // 2 left: at the threshold
    await take(1); // 1 left: still low, no second message
    expect(await restockMessages()).toHaveLength(1);
    expect(JSON.parse((await restockMessages())[0].message)).toMatchObject({
      sku: 'naloxone-nasal-8mg',
      stock: 2,
      kioskId: kiosk.kioskId,
    });

    await api.kioskPost(kiosk, {
      eventId: randomUUID(),
      type: 'restock',
      occurredAt: new Date().toISOString(),
      items: [{ sku: 'naloxone-nasal-8mg', quantity: 10 }],
    });
    await take(9); // 11 - 9 = 2: falls again
    expect(await restockMessages()).toHaveLength(2);
  });

  it('publishes a fault to kiosk-ops with ids only', async () => {
    const kiosk = await api.registerKiosk();
    const event = {
      eventId: randomUUID(),
      type: 'fault',
      occurredAt: new Date().toISOString(),
      code: 'temperature',
      temperatureC: 44.5,
      detail: 'sun on the glass',
    };

    expect((await api.kioskPost(kiosk, event)).status).toBe(201);
    const line = (await api.delivered()).find(
      (l) => l.topic === 'kiosk-ops' && JSON.parse(l.message).eventId === event.eventId,
    );

    expect(line).toBeDefined();
    expect(JSON.parse(line!.message)).toMatchObject({
      kioskId: kiosk.kioskId,
      code: 'temperature',
      temperatureC: 44.5,
    });
    expect(line!.message).not.toContain('sun on the glass');
    expect(line!.attributes).toBeTypeOf('object');
    expect(Date.parse(line!.publishedAt)).not.toBeNaN();
  });

  it('turns a contact request into an outreach task whose details only the task read shows, and records that read', async () => {
    const kiosk = await api.registerKiosk({ siteId: 'site-contact' });
    const event = dispense({ contactRequest: { phone: '+15555550199', topic: 'treatment' } });

    await api.kioskPost(kiosk, event);
    const message = (await api.delivered()).find(
      (l) => l.topic === 'outreach' && JSON.parse(l.message).kioskId === kiosk.kioskId,
    );
    const { taskId } = JSON.parse(message!.message);
    const list = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=open');
    const detail = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${taskId}`);

    expect(message!.message).not.toContain('5555550199');
    const listed = list.body.tasks.find((t: { taskId: string }) => t.taskId === taskId);
    expect(listed).toMatchObject({
      taskId,
      kind: 'kiosk-contact',
      siteId: 'site-contact',
      status: 'open',
      dueAt: expect.any(String),
    });
    expect(JSON.stringify(list.body)).not.toContain('5555550199');
    expect(detail.body.contact).toEqual({ phone: '+15555550199', topic: 'treatment' });
  });

  it('completes a task once, accepts the same completion again and refuses another outcome', async () => {
    const kiosk = await api.registerKiosk();
    await api.kioskPost(kiosk, dispense({ contactRequest: { phone: '+15555550100', topic: 'other' } }));
    const { taskId } = JSON.parse(
      (await api.delivered()).filter((l) => l.topic === 'outreach').at(-1)!.message,
    );

    const done = await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${taskId}/complete`, {
      outcome: 'reached',
    });
    const again = await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${taskId}/complete`, {
      outcome: 'reached',
    });
    const other = await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${taskId}/complete`, {
      outcome: 'declined',
    });
    const unknown = await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${randomUUID()}/complete`, {
      outcome: 'reached',
    });
    const completed = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=completed');
    const open = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=open');

    expect([done.status, again.status, other.status, unknown.status]).toEqual([200, 200, 409, 404]);
    expect(other.body.error.code).toBe('task_already_completed');
    expect(completed.body.tasks.map((t: { taskId: string }) => t.taskId)).toContain(taskId);
    expect(open.body.tasks.map((t: { taskId: string }) => t.taskId)).not.toContain(taskId);
  });

  it('refuses a bad task status filter with invalid_request', async () => {
    const answer = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=maybe');
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
  });
});

describe('naloxone use reports and the naloxone report', () => {
  it('records a use report once, answers its retry and refuses a changed body', async () => {
    const report = {
      reportId: randomUUID(),
      usedOn: today(),
      siteId: 'site-use',
      outcome: 'survived',
      emsCalled: true,
      dosesUsed: 2,
    };
    const first = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', report);
    const retry = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', { ...report });
    const changed = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', {
      ...report,
      outcome: 'died',
    });
    expect([first.status, retry.status, changed.status]).toEqual([201, 200, 409]);
    expect(changed.body.error.code).toBe('report_id_conflict');
  });

  it('computes survival from recorded outcomes and keeps unknown outcomes apart', async () => {
    const site = `site-${randomUUID().slice(0, 6)}`;
    const outcomes = ['survived', 'survived', 'survived', 'died', 'unknown'];
    for (const outcome of outcomes) {
      await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', {
        reportId: randomUUID(),
        usedOn: today(),
        siteId: site,
        outcome,
      });
    }
    const kiosk = await api.registerKiosk({ siteId: site, inventory: { 'naloxone-nasal-4mg': 50 } });
    await api.kioskPost(
      kiosk,
      dispense({
        items: [
          { sku: 'naloxone-nasal-4mg', quantity: 4 },
          { sku: 'fentanyl-test-strips', quantity: 2 },
        ],
      }),
    );
    await api.kioskPost(
      kiosk,
      dispense({ contactRequest: { phone: '+15555550101', topic: 'naloxone-training' } }),
    );

    const answer = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&siteId=${site}&raw=true`,
    );
    const published = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&siteId=${site}`,
    );

    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      dispenseEvents: 2,
      contactRequests: 1,
      useReports: 5,
      survived: 3,
      died: 1,
      unknownOutcome: 1,
      survivalRate: 0.75,
    });
    expect(answer.body.kitsDispensed).toMatchObject({ 'naloxone-nasal-4mg': 5, 'fentanyl-test-strips': 2 });
    expect(answer.body.definitionsVersion).toEqual(expect.any(String));
    // Published without raw: every one of these small counts is "<11", and the rate with them.
    expect(published.body).toMatchObject({
      dispenseEvents: '<11',
      useReports: '<11',
      survived: '<11',
      survivalRate: 'suppressed',
    });
    expect(published.body.bySite[0].survived).toBe('<11');
  });

  it('answers CSV on Accept: text/csv and on format=csv', async () => {
    const byHeader = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}`,
      undefined,
      { accept: 'text/csv' },
    );
    const byQuery = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&format=csv`,
    );
    for (const answer of [byHeader, byQuery]) {
      expect(answer.status).toBe(200);
      expect(answer.headers.get('content-type')).toContain('text/csv');
      expect(answer.headers.get('content-disposition')).toMatch(
        /^attachment; filename="bridgeway-naloxone-.*\.csv"$/,
      );
      expect(answer.text.split('\r\n')[0]).toBe('section,key,metric,value');
      expect(answer.text).toMatch(/^total,,survivalRate,/m);
      expect(answer.text).toMatch(/^definitions,survivalRate,numerator,/m);
    }
  });

  it('refuses reports to outreach staff and bad ranges', async () => {
    expect(
      (await api.staff(OUTREACH, 'GET', `/v1/reports/naloxone?from=${today()}&to=${today()}`)).status,
    ).toBe(403);
    for (const query of [
      'from=2026-11-02&to=2026-11-01',
      'from=2026-13-01&to=2026-13-02',
      'from=2026-11-01',
      '',
    ]) {
      const answer = await api.staff(ADMIN, 'GET', `/v1/reports/naloxone?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
      expect(answer.body.error.issues.length).toBeGreaterThan(0);
    }
  });
});
