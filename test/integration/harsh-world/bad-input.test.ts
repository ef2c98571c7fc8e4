import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, type Answer, dispense, OUTREACH, startTestBackend } from '../../support/backend.js';

let api: Awaited<ReturnType<typeof startTestBackend>>;
let kiosk: { kioskId: string; secret: string };
let other: { kioskId: string; secret: string };

const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
/** Writes so far, once the outbox stream delivered what earlier requests wrote (its relay writes its marks). */
const writesSoFar = async () => {
  await api.backend.streams.drained();
  const { byOperation } = api.backend.dynamo.stats();
  return WRITES.reduce((sum, op) => sum + (byOperation[op] ?? 0), 0);
};

beforeAll(async () => {
  api = await startTestBackend();
  kiosk = await api.registerKiosk();
  other = await api.registerKiosk();
});
afterAll(async () => {
  await api.backend.stop();
});

const now = () => new Date().toISOString();
const base = () => dispense();

/** Bodies that break the kiosk event rules, each with the field the answer must name. */
const badEvents: [string, () => unknown, string][] = [
  ['unknown top-level field', () => ({ ...base(), colour: 'red' }), 'colour'],
  [
    '__proto__ key',
    () => JSON.parse(`{"__proto__": {"admin": true}, ${JSON.stringify(base()).slice(1)}`),
    '__proto__',
  ],
  ['constructor key', () => ({ ...base(), constructor: 1 }), 'constructor'],
  ['eventId not a UUID', () => ({ ...base(), eventId: 'abc' }), 'eventId'],
  ['eventId a number', () => ({ ...base(), eventId: 42 }), 'eventId'],
  ['unknown type', () => ({ ...base(), type: 'refund' }), 'type'],
  ['missing type', () => ({ eventId: randomUUID(), occurredAt: now(), items: [] }), 'type'],
  ['occurredAt without zone', () => ({ ...base(), occurredAt: '2026-11-20T14:03:00' }), 'occurredAt'],
  ['occurredAt not a date', () => ({ ...base(), occurredAt: 'yesterday' }), 'occurredAt'],
  [
    'occurredAt 31 days ago',
    () => ({ ...base(), occurredAt: new Date(Date.now() - 31 * 86_400_000).toISOString() }),
    'occurredAt',
  ],
  [
    'occurredAt 10 minutes ahead',
    () => ({ ...base(), occurredAt: new Date(Date.now() + 600_000).toISOString() }),
    'occurredAt',
  ],
  ['no items', () => ({ ...base(), items: [] }), 'items'],
  [
    '11 items',
    () => ({ ...base(), items: Array.from({ length: 11 }, () => ({ sku: 'wound-care-kit', quantity: 1 })) }),
    'items',
  ],
  [
    'quantity 0',
    () => ({ ...base(), items: [{ sku: 'naloxone-nasal-4mg', quantity: 0 }] }),
    'items.0.quantity',
  ],
  [
    'quantity 11 in a dispense',
    () => ({ ...base(), items: [{ sku: 'naloxone-nasal-4mg', quantity: 11 }] }),
    'items.0.quantity',
  ],
  [
    'quantity 1.5',
    () => ({ ...base(), items: [{ sku: 'naloxone-nasal-4mg', quantity: 1.5 }] }),
    'items.0.quantity',
  ],
  [
    'quantity as string',
    () => ({ ...base(), items: [{ sku: 'naloxone-nasal-4mg', quantity: '1' }] }),
    'items.0.quantity',
  ],
  ['unknown sku', () => ({ ...base(), items: [{ sku: 'aspirin', quantity: 1 }] }), 'items.0.sku'],
  [
    'unknown item field',
    () => ({ ...base(), items: [{ sku: 'wound-care-kit', quantity: 1, price: 0 }] }),
    'items.0.price',
  ],
  ['zip of 4 digits', () => ({ ...base(), survey: { zip: '9001' } }), 'survey.zip'],
  ['forWhom unknown', () => ({ ...base(), survey: { forWhom: 'neighbour' } }), 'survey.forWhom'],
  [
    'phone not E.164',
    () => ({ ...base(), contactRequest: { phone: '555-0123', topic: 'treatment' } }),
    'contactRequest.phone',
  ],
  [
    'contact without topic',
    () => ({ ...base(), contactRequest: { phone: '+15555550123' } }),
    'contactRequest.topic',
  ],
  [
    'restock quantity 501',
    () => ({
      eventId: randomUUID(),
      type: 'restock',
      occurredAt: now(),
      items: [{ sku: 'wound-care-kit', quantity: 501 }],
    }),
    'items.0.quantity',
  ],
  [
    'restock expiresOn not a date',
    () => ({
      eventId: randomUUID(),
      type: 'restock',
      occurredAt: now(),
      items: [{ sku: 'wound-care-kit', quantity: 5 }],
      expiresOn: '2027-02-30',
    }),
    'expiresOn',
  ],
  ['fault without code', () => ({ eventId: randomUUID(), type: 'fault', occurredAt: now() }), 'code'],
  [
    'fault detail of 501 characters',
    () => ({
      eventId: randomUUID(),
      type: 'fault',
      occurredAt: now(),
      code: 'other',
      detail: 'x'.repeat(501),
    }),
    'detail',
  ],
  [
    'fault with items',
    () => ({ eventId: randomUUID(), type: 'fault', occurredAt: now(), code: 'other', items: [] }),
    'items',
  ],
  ['body is an array', () => [base()], ''],
  ['body is a string', () => 'dispense', ''],
  ['body is null', () => null, ''],
];

describe('a bad-input corpus sent by a correctly signing kiosk', () => {
  it.each(badEvents)(
    'refuses %s with invalid_event naming the field, and writes nothing',
    async (_name, make, path) => {
      const before = await writesSoFar();
      const answer = await api.kioskPost(kiosk, JSON.stringify(make()));
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('invalid_event');
      expect(answer.body.error.issues.map((issue: { path: string }) => issue.path)).toContain(path);
      expect(await writesSoFar()).toBe(before);
    },
  );

  it.each([['{'], ['not json'], [''], ['{"eventId": "a",}'], ['\u0000']])(
    'refuses the non-JSON body %j with invalid_json',
    async (raw) => {
      const before = await writesSoFar();
      const answer = await api.kioskPost(kiosk, raw);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe('invalid_json');
      expect(await writesSoFar()).toBe(before);
    },
  );

  it('refuses a body of 16,385 bytes with payload_too_large before checking anything else', async () => {
    const padded = JSON.stringify({ ...base(), pad: 'x'.repeat(16_385) }).slice(0, 16_385);
    const exact = await api.kioskPost(kiosk, padded);
    const unsigned = await api.request('POST', '/v1/kiosk/events', { body: padded });
    expect(exact.status).toBe(413);
    expect(exact.body.error.code).toBe('payload_too_large');
    expect(unsigned.status).toBe(413);
  });

  it('accepts a body of exactly 16,384 bytes as far as size goes', async () => {
    const event = base();
    const json = JSON.stringify(event);
    const body = `${json.slice(0, -1)}${' '.repeat(16_384 - json.length)}}`;
    expect(Buffer.byteLength(body)).toBe(16_384);
    expect((await api.kioskPost(kiosk, body)).status).toBe(201);
  });
});

describe('signature attacks', () => {
  const attacks: [string, () => Promise<Pick<Answer, 'status' | 'body'>>][] = [
    ['a wrong secret', () => api.kioskPost(kiosk, base(), { secret: 'guess' })],
    ["another kiosk's secret", () => api.kioskPost(kiosk, base(), { secret: other.secret })],
    [
      'a timestamp 301 s old',
      () => api.kioskPost(kiosk, base(), { timestamp: Math.floor(Date.now() / 1000) - 301 }),
    ],
    [
      'a timestamp 301 s ahead',
      () => api.kioskPost(kiosk, base(), { timestamp: Math.floor(Date.now() / 1000) + 301 }),
    ],
    [
      'a timestamp that is not a number',
      () => api.kioskPost(kiosk, base(), { headers: { 'x-kiosk-timestamp': 'soon' } }),
    ],
    ['an unknown kiosk', () => api.kioskPost({ kioskId: 'K-NOBODY', secret: kiosk.secret }, base())],
    ['no signature', () => api.kioskPost(kiosk, base(), { headers: { 'x-kiosk-signature': '' } })],
    [
      'an uppercase signature',
      async () => {
        const event = JSON.stringify(base());
        const ts = String(Math.floor(Date.now() / 1000));
        const { sign } = await import('../../../functions/core/kiosk/signing.js');
        return api.kioskPost(kiosk, event, {
          headers: {
            'x-kiosk-timestamp': ts,
            'x-kiosk-signature': sign(kiosk.secret, ts, event).toUpperCase(),
          },
        });
      },
    ],
    [
      'a tampered body',
      async () => {
        const event = JSON.stringify(base());
        const ts = String(Math.floor(Date.now() / 1000));
        const { sign } = await import('../../../functions/core/kiosk/signing.js');
        const tampered = event.replace('"quantity":1', '"quantity":9');
        return api.kioskPost(kiosk, tampered, {
          headers: { 'x-kiosk-timestamp': ts, 'x-kiosk-signature': sign(kiosk.secret, ts, event) },
        });
      },
    ],
    [
      'a staff token instead of a signature',
      () =>
        api.request('POST', '/v1/kiosk/events', {
          body: JSON.stringify(base()),
          headers: { authorization: `Bearer ${ADMIN}` },
        }),
    ],
  ];

  it.each(attacks)('refuses %s with unauthorized and writes nothing', async (_name, attack) => {
    const before = await writesSoFar();
    const answer = await attack();
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('unauthorized');
    expect(await writesSoFar()).toBe(before);
  });

  it('checks the signature before the body: a badly signed non-JSON body is unauthorized', async () => {
    const answer = await api.kioskPost(kiosk, '{', { secret: 'guess' });
    expect(answer.status).toBe(401);
  });
});

describe('staff input', () => {
  const cases: [string, string, string, unknown, string][] = [
    [
      'registration with a lower-case unknown sku',
      ADMIN,
      '/v1/kiosks',
      { kioskId: 'K-BAD-1', siteId: 's', lowStockThreshold: 1, inventory: { aspirin: 1 } },
      'invalid_request',
    ],
    [
      'registration with a fractional threshold',
      ADMIN,
      '/v1/kiosks',
      { kioskId: 'K-BAD-2', siteId: 's', lowStockThreshold: 1.5 },
      'invalid_request',
    ],
    [
      'registration with a too long id',
      ADMIN,
      '/v1/kiosks',
      { kioskId: 'K'.repeat(65), siteId: 's', lowStockThreshold: 1 },
      'invalid_request',
    ],
    [
      'use report with an unknown outcome',
      OUTREACH,
      '/v1/naloxone/use-reports',
      { reportId: randomUUID(), usedOn: '2026-11-01', outcome: 'maybe' },
      'invalid_request',
    ],
    [
      'use report used tomorrow',
      OUTREACH,
      '/v1/naloxone/use-reports',
      {
        reportId: randomUUID(),
        usedOn: new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10),
        outcome: 'died',
      },
      'invalid_request',
    ],
    [
      'use report with 0 doses',
      OUTREACH,
      '/v1/naloxone/use-reports',
      { reportId: randomUUID(), usedOn: '2026-11-01', outcome: 'died', dosesUsed: 0 },
      'invalid_request',
    ],
    ['use report that is not JSON', OUTREACH, '/v1/naloxone/use-reports', '{"reportId":', 'invalid_json'],
    [
      'task completion with an unknown outcome',
      OUTREACH,
      `/v1/outreach/tasks/${randomUUID()}/complete`,
      { outcome: 'maybe' },
      'invalid_request',
    ],
  ];

  it.each(cases)('refuses %s with a 400 and writes nothing', async (_name, token, path, body, code) => {
    const before = await writesSoFar();
    const answer = await api.staff(token, 'POST', path, body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
    expect(await writesSoFar()).toBe(before);
  });
});
