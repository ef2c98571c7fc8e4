/**
 * Property-based fuzzing of every route of the manifest against the embedded backend (issue 8):
 * random JSON, random header and query names (prototype-member names among them), random path
 * segments and random byte strings, with and without valid credentials, a valid kiosk signature
 * included. Whatever comes in: never a 5xx, never a write, never a notification, and every error
 * answer is the contract's error body.
 *
 * Seeded and of fixed size (RUNS per property per route, see the summary test), so a failure
 * replays exactly; fast-check prints the seed and the shrunk counterexample.
 */
import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../../functions/core/kiosk/signing.js';
import { type Route, routes } from '../../../lib/manifest.js';
import { ADMIN, OUTREACH, startTestBackend } from '../../support/backend.js';

/** Cases per property per route: three properties × every route. */
const RUNS = 35;
const SEED = 20_260_808;

let api: Awaited<ReturnType<typeof startTestBackend>>;
let kiosk: { kioskId: string; secret: string };
const agent = new Agent({ keepAlive: true, maxSockets: 1 });
let cases = 0;

const WRITES = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems'];
/** Writes so far, once the outbox stream delivered what earlier requests wrote (its relay writes its marks). */
const writesSoFar = async () => {
  await api.backend.streams.drained();
  const { byOperation } = api.backend.dynamo.stats();
  return WRITES.reduce((sum, op) => sum + (byOperation[op] ?? 0), 0);
};

beforeAll(async () => {
  api = await startTestBackend();
  kiosk = await api.registerKiosk({ kioskId: 'K-FUZZ-1' });
});
afterAll(async () => {
  agent.destroy();
  await api.backend.stop();
});

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One request over a kept-alive connection: raw target, raw headers, raw body bytes. */
function send(method: string, target: string, headers: [string, string][], body: Buffer): Promise<Answer> {
  cases += 1;
  return new Promise((resolve, reject) => {
    const req = request({
      agent,
      host: '127.0.0.1',
      port: api.backend.port,
      method,
      path: target,
      // Raw headers (repeats and any case kept): Node then adds none of its own, Host included.
      headers: [
        'host',
        `127.0.0.1:${api.backend.port}`,
        ...headers.flat(),
        'content-length',
        String(body.length),
      ],
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// ---------------------------------------------------------------------------
// Arbitraries
// ---------------------------------------------------------------------------

const PROTO_NAMES = [
  'constructor',
  '__proto__',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  'prototype',
];

/** Header names: HTTP tokens, prototype-member names and the names the API reads, in any case. */
const headerName = fc.oneof(
  fc.constantFrom(...PROTO_NAMES),
  fc.constantFrom('x-kiosk-id', 'x-kiosk-timestamp', 'x-kiosk-signature', 'accept', 'Accept', 'content-type'),
  fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,24}$/),
);
const FORBIDDEN_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'host',
  'connection',
  'expect',
  'authorization',
]);
/** Header values: visible ASCII and spaces (what HTTP allows a client to send). */
const headerValue = fc.stringMatching(/^[\x21-\x7e][\x20-\x7e]{0,60}$/);
const headers = fc
  .array(fc.tuple(headerName, headerValue), { maxLength: 6 })
  .map((pairs) => pairs.filter(([name]) => !FORBIDDEN_HEADERS.has(name.toLowerCase())));

/** Query names and values: prototype-member names, the API's own names, anything, malformed escapes. */
const queryPart = fc.oneof(
  fc.constantFrom(...PROTO_NAMES).map(encodeURIComponent),
  fc.constantFrom('status', 'from', 'to', 'siteId', 'format', 'raw', 'limit', 'next').map(encodeURIComponent),
  fc
    .string({ unit: 'binary', maxLength: 20 })
    .map((text) => encodeURIComponent(text.replace(/[\uD800-\uDFFF]/g, ''))),
  fc.constantFrom('%', '%Z', '%ZZ', '%E2%82', '%ED%A0%80', '%FF', '+', '&&', '=='),
);
const query = fc
  .array(fc.tuple(queryPart, fc.option(queryPart, { nil: undefined })), { maxLength: 5 })
  .map((pairs) =>
    pairs.length ? `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}` : '',
  );

/** A path segment: a plausible id, random text (encoded), random bytes (as escapes, often not UTF-8), or a malformed escape. */
const segment = fc.oneof(
  fc.uuid(),
  fc.constantFrom(...PROTO_NAMES),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map(encodeURIComponent),
  fc
    .uint8Array({ minLength: 1, maxLength: 40 })
    .map((bytes) =>
      [...bytes].map((byte) => `%${byte.toString(16).padStart(2, '0').toUpperCase()}`).join(''),
    ),
  fc
    .constantFrom('%', '%ZZ', '%C3', '%ED%A0%80', 'T-'.padEnd(1500, 'x'), '€'.repeat(400))
    .map((s) => (/^[\x21-\x7e]*$/.test(s) ? s : encodeURIComponent(s))),
);

function target(route: Route, segments: readonly string[], search: string): string {
  let i = 0;
  return `${route.path.replace(/\{\w+\}/g, () => segments[i++ % segments.length] as string)}${search}`;
}

/** Shapes close to real bodies, each broken somewhere (occurredAt/usedOn/enrolledOn never a valid date). */
const garbageDate = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.constant(null));
const nearMiss = fc.oneof(
  fc.record({
    eventId: fc.oneof(fc.uuid(), fc.string()),
    type: fc.constantFrom('dispense', 'restock', 'fault', 'heartbeat', 'refund'),
    occurredAt: garbageDate,
    items: fc.array(fc.record({ sku: fc.string(), quantity: fc.double() }), { maxLength: 3 }),
    code: fc.string(),
    temperatureC: fc.double(),
  }),
  fc.record({
    reportId: fc.oneof(fc.uuid(), fc.string()),
    usedOn: garbageDate,
    siteId: fc.oneof(fc.string(), fc.constantFrom(...PROTO_NAMES)),
    outcome: fc.constantFrom('survived', 'died', 'unknown', 'maybe'),
  }),
  fc.record({
    participantRef: fc.string(),
    siteId: fc.string(),
    enrolledOn: garbageDate,
    medication: fc.constantFrom('methadone', 'aspirin'),
    overdosesPrior12m: fc.integer(),
    consent: fc.record({ outreach: fc.boolean(), part2: fc.boolean() }),
  }),
  fc.record({ outcome: fc.constantFrom('maybe', '', 'REACHED'), extra: fc.jsonValue() }),
  fc.record({ advanceTo: garbageDate }),
  fc.dictionary(fc.constantFrom(...PROTO_NAMES), fc.jsonValue({ maxDepth: 2 })),
);
const jsonBody = fc
  .oneof(
    fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value)),
    nearMiss.map((value) => JSON.stringify(value)),
    fc.integer({ min: 20, max: 4000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`),
    fc.integer({ min: 20, max: 2000 }).map((depth) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`),
  )
  .map((text) => Buffer.from(text, 'utf8'));
const byteBody = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 400 }).map((bytes) => Buffer.from(bytes)) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 16_000, max: 70_000 }), fc.integer({ min: 0, max: 255 }))
      .map(([size, byte]) => Buffer.alloc(size, byte)),
  },
);

type Credentials = 'admin' | 'outreach' | 'none' | 'bogus' | 'signed' | 'wrongly-signed';
const credentials = fc.constantFrom<Credentials>(
  'admin',
  'outreach',
  'none',
  'bogus',
  'signed',
  'wrongly-signed',
);

function authHeaders(kind: Credentials, body: Buffer): [string, string][] {
  const timestamp = String(Math.floor(Date.now() / 1000));
  switch (kind) {
    case 'admin':
      return [['authorization', `Bearer ${ADMIN}`]];
    case 'outreach':
      return [['authorization', `Bearer ${OUTREACH}`]];
    case 'bogus':
      return [['authorization', 'Bearer constructor']];
    case 'none':
      return [];
    case 'signed':
    case 'wrongly-signed':
      return [
        ['x-kiosk-id', kiosk.kioskId],
        ['x-kiosk-timestamp', timestamp],
        ['x-kiosk-signature', sign(kind === 'signed' ? kiosk.secret : 'guess', timestamp, body)],
      ];
  }
}

/** Never a 5xx; every error answer is the contract's error body. */
function checkAnswer(answer: Answer, context: string): void {
  expect(answer.status, context).toBeLessThan(500);
  expect(answer.status, context).toBeGreaterThanOrEqual(200);
  if (answer.status >= 400) {
    if (!answer.body) throw new Error(`${answer.status} without a body: ${context}`);
    const body = JSON.parse(answer.body) as { error?: { code?: unknown; message?: unknown } };
    expect(body.error?.code, context).toMatch(/^[a-z_]+$/);
    expect(typeof body.error?.message, context).toBe('string');
  }
}

// ---------------------------------------------------------------------------
// Properties, per route
// ---------------------------------------------------------------------------

const routeCases = (routes as readonly Route[]).map(
  (route, index) => [`${route.method} ${route.path}`, route, index] as const,
);

describe.each(routeCases)('fuzzing %s', (_name, route, index) => {
  async function check(property: fc.IAsyncPropertyWithHooks<unknown[]>, offset: number) {
    const writes = await writesSoFar();
    const published = api.outbox().length;
    // endOnFailure: no shrinking (a failure replays from its seed); the message names the case.
    await fc.assert(property, {
      seed: SEED + index * 10 + offset,
      numRuns: RUNS,
      endOnFailure: true,
      includeErrorInReport: true,
      reporter: (details) => {
        if (details.failed)
          throw new Error(
            `seed ${details.seed}, case ${details.numRuns}: ${String((details.errorInstance as Error)?.message).slice(0, 600)}`,
          );
      },
    });
    expect(await writesSoFar(), 'writes').toBe(writes);
    expect(api.outbox().length, 'notifications').toBe(published);
  }

  it('answers random JSON bodies, with or without credentials, with no 5xx and no write', async () => {
    await check(
      fc.asyncProperty(
        jsonBody,
        credentials,
        fc.array(segment, { minLength: 1, maxLength: 2 }),
        async (body, auth, segments) => {
          const path = target(route, segments, '');
          const answer = await send(
            route.method,
            path,
            [['content-type', 'application/json'], ...authHeaders(auth, body)],
            body,
          );
          checkAnswer(answer, `${route.method} ${path} ${auth} ${body.subarray(0, 80).toString()}`);
        },
      ),
      0,
    );
  });

  it('answers random header and query names and values, prototype members included, with no 5xx and no write', async () => {
    await check(
      fc.asyncProperty(
        headers,
        query,
        credentials,
        fc.array(segment, { minLength: 1, maxLength: 2 }),
        async (extra, search, auth, segments) => {
          const body = Buffer.alloc(0);
          const path = target(route, segments, search);
          const answer = await send(route.method, path, [...extra, ...authHeaders(auth, body)], body);
          checkAnswer(answer, `${route.method} ${path} ${auth} ${JSON.stringify(extra)}`);
        },
      ),
      1,
    );
  });

  it('answers random byte strings as bodies, signed or not, with no 5xx and no write', async () => {
    await check(
      fc.asyncProperty(
        byteBody,
        credentials,
        fc.array(segment, { minLength: 1, maxLength: 2 }),
        async (body, auth, segments) => {
          const path = target(route, segments, '');
          const answer = await send(route.method, path, authHeaders(auth, body), body);
          checkAnswer(answer, `${route.method} ${path} ${auth} ${body.length} bytes`);
        },
      ),
      2,
    );
  });
});

describe('the fuzz run', () => {
  it('sent three properties of fixed size to every route', () => {
    // Runs last in this file: every property above has sent its cases.
    expect(cases).toBe(routes.length * 3 * RUNS);
  });
});
