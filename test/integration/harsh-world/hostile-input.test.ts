/**
 * Regression tests for the holes a black-box attack on the embedded backend found (issue 8,
 * items 1-7): each class of hostile input is answered with a 4xx from the contract, never a
 * 5xx, and writes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sign } from '../../../functions/core/kiosk/signing.js';
import { ADMIN, dispense, OUTREACH, startTestBackend, today } from '../../support/backend.js';
import { head, rawExchange } from '../../support/raw-http.js';

let api: Awaited<ReturnType<typeof startTestBackend>>;
let kiosk: { kioskId: string; secret: string };

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
});
afterAll(async () => {
  await api.backend.stop();
});

/** A kiosk request whose signature covers exactly these bytes. */
async function kioskPostBytes(bytes: Buffer) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const res = await fetch(`${api.backend.url}/v1/kiosk/events`, {
    method: 'POST',
    body: new Uint8Array(bytes),
    headers: {
      'content-type': 'application/json',
      'x-kiosk-id': kiosk.kioskId,
      'x-kiosk-timestamp': timestamp,
      'x-kiosk-signature': sign(kiosk.secret, timestamp, bytes),
    },
  });
  const text = await res.text();
  return { status: res.status, body: JSON.parse(text) };
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

describe('names that Object.prototype also has (item 1)', () => {
  const names = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

  it.each(names)('answers /health normally with a query parameter named %s', async (name) => {
    // Act
    const answer = await api.request('GET', `/health?${name}=1`);

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body.status).toBe('ok');
  });

  it.each(names)('answers /health normally with a header named %s', async (name) => {
    // Act
    const answer = await api.request('GET', '/health', { headers: { [name]: '1' } });

    // Assert
    expect(answer.status).toBe(200);
  });

  it.each(names)('lists tasks for staff with a query parameter named %s and writes nothing', async (name) => {
    // Arrange
    const before = await writesSoFar();

    // Act
    const answer = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks?${name}=x&status=open`);

    // Assert
    expect(answer.status).toBe(200);
    expect(Array.isArray(answer.body.tasks)).toBe(true);
    expect(await writesSoFar()).toBe(before);
  });

  it('reads a repeated header and a repeated query parameter named like a prototype member', async () => {
    // Act
    const answer = await rawExchange(api.backend.port, (socket) =>
      socket.write(
        'GET /health?constructor=1&constructor=2 HTTP/1.1\r\nhost: x\r\nconstructor: a\r\nconstructor: b\r\nconnection: close\r\n\r\n',
      ),
    ).answer;

    // Assert
    expect(answer.status).toBe(200);
  });
});

describe('request targets that do not decode (item 2)', () => {
  it.each([
    ['a malformed escape', '/v1/outreach/tasks/%ZZ'],
    ['a truncated escape', '/v1/outreach/tasks/abc%E2%82'],
    ['an escape of a lone surrogate half', '/v1/outreach/tasks/%ED%A0%80'],
    ['an escape that is not UTF-8', '/v1/outreach/tasks/%FF'],
  ])('answers a task id with %s with 400 invalid_request', async (_name, path) => {
    // Act
    const answer = await api.staff(OUTREACH, 'GET', path);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
  });

  it('answers a malformed enrollment id on the events route with 400 and writes nothing', async () => {
    // Arrange
    const before = await writesSoFar();

    // Act
    const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments/%E0%A4%A/events', {
      eventId: randomUUID(),
      type: 'visit',
      occurredOn: today(),
    });

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(await writesSoFar()).toBe(before);
  });

  it.each([
    ['an authority that is not a host', 'GET //[ HTTP/1.1'],
    ['an absolute URL', 'GET http://example.test/health HTTP/1.1'],
    ['a target without a leading slash', 'GET health HTTP/1.1'],
  ])('answers a request target with %s without a server error', async (_name, line) => {
    // Act
    const answer = await rawExchange(api.backend.port, (socket) =>
      socket.write(head(line, { connection: 'close' })),
    ).answer;

    // Assert
    expect(answer.status).toBeGreaterThanOrEqual(200);
    expect(answer.status).toBeLessThan(500);
  });
});

describe('bodies nested deeper than any legitimate one (item 3)', () => {
  it('answers a correctly signed kiosk body nested 5,000 levels deep with 400 invalid_event', async () => {
    // Arrange
    const before = await writesSoFar();
    const body = `{"eventId":"${randomUUID()}","type":"dispense","items":${nested(5000)}}`;

    // Act
    const answer = await api.kioskPost(kiosk, body);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_event');
    expect(await writesSoFar()).toBe(before);
  });

  it('answers a kiosk body that is only brackets, 8,000 deep, with 400 invalid_event', async () => {
    // Act
    const answer = await api.kioskPost(kiosk, nested(8000));

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_event');
  });

  it.each([
    ['a use report', '/v1/naloxone/use-reports', 'invalid_request'],
    ['an enrollment', '/v1/moud/enrollments', 'invalid_request'],
    ['a kiosk registration', '/v1/kiosks', 'invalid_request'],
  ])('answers %s nested 20,000 levels deep (%s) with 400 %s', async (_name, path, code) => {
    // Arrange
    const before = await writesSoFar();

    // Act
    const answer = await api.staff(ADMIN, 'POST', path, `{"a":${nested(20_000)}}`);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe(code);
    expect(await writesSoFar()).toBe(before);
  });
});

describe('values DynamoDB cannot store (item 4)', () => {
  it.each([
    ['1e-200', 1e-200],
    ['-1e-131', -1e-131],
  ])('refuses a fault with temperatureC %s with invalid_event naming the field', async (_name, value) => {
    // Arrange
    const before = await writesSoFar();
    const event = {
      eventId: randomUUID(),
      type: 'fault',
      occurredAt: new Date().toISOString(),
      code: 'temperature',
      temperatureC: value,
    };

    // Act
    const answer = await api.kioskPost(kiosk, event);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_event');
    expect(answer.body.error.issues.map((issue: { path: string }) => issue.path)).toContain('temperatureC');
    expect(await writesSoFar()).toBe(before);
  });

  it('records a fault with temperatureC 0 and one with a small but storable value', async () => {
    // Arrange
    const fault = (temperatureC: number) => ({
      eventId: randomUUID(),
      type: 'fault',
      occurredAt: new Date().toISOString(),
      code: 'temperature',
      temperatureC,
    });

    // Act
    const answers = [await api.kioskPost(kiosk, fault(0)), await api.kioskPost(kiosk, fault(1e-100))];

    // Assert
    expect(answers.map((answer) => answer.status)).toEqual([201, 201]);
  });

  it.each([
    [
      'a task id of 1,024 three-byte characters',
      'GET',
      `/v1/outreach/tasks/${encodeURIComponent('€'.repeat(1024))}`,
    ],
    ['a task id of 1,025 bytes', 'GET', `/v1/outreach/tasks/${'t'.repeat(1025)}`],
    [
      'an enrollment id of 700 three-byte characters',
      'POST',
      `/v1/moud/enrollments/${encodeURIComponent('€'.repeat(700))}/events`,
    ],
  ])('answers %s, which no DynamoDB key can hold, with 400 invalid_request', async (_name, method, path) => {
    // Arrange
    const before = await writesSoFar();

    // Act
    const answer = await api.staff(
      OUTREACH,
      method,
      path,
      method === 'POST' ? { outcome: 'reached' } : undefined,
    );

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(await writesSoFar()).toBe(before);
  });

  it('looks up a task id of exactly 1,024 bytes and answers 404', async () => {
    // Act
    const answer = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${'t'.repeat(1024)}`);

    // Assert
    expect(answer.status).toBe(404);
  });

  it('refuses a site id holding a lone surrogate half with invalid_request naming siteId', async () => {
    // Arrange
    const before = await writesSoFar();
    const body = `{"reportId":"${randomUUID()}","usedOn":"${today()}","outcome":"survived","siteId":"s\\ud800"}`;

    // Act
    const answer = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', body);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues.map((issue: { path: string }) => issue.path)).toContain('siteId');
    expect(await writesSoFar()).toBe(before);
  });
});

describe('bodies measured and signed as raw bytes (item 5)', () => {
  it('answers a correctly signed 6,008-byte body of 0xFF bytes with 400 invalid_json, not 413', async () => {
    // Arrange
    const bytes = Buffer.alloc(6008, 0xff);
    const before = await writesSoFar();

    // Act
    const answer = await kioskPostBytes(bytes);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_json');
    expect(await writesSoFar()).toBe(before);
  });

  it('answers a body signed over its raw bytes with one invalid UTF-8 byte with 400 invalid_json, not 401', async () => {
    // Arrange
    const valid = Buffer.from(JSON.stringify(dispense({ note: 'x' })), 'utf8');
    const bytes = Buffer.from(valid);
    bytes[bytes.indexOf('"x"') + 1] = 0xc3; // a lead byte with no continuation

    // Act
    const answer = await kioskPostBytes(bytes);

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_json');
  });

  it('still refuses a body of 16,385 raw bytes with 413, whatever they are', async () => {
    // Act
    const answer = await kioskPostBytes(Buffer.alloc(16_385, 0x20));

    // Assert
    expect(answer.status).toBe(413);
    expect(answer.body.error.code).toBe('payload_too_large');
  });

  it('records a body of multi-byte characters signed over its bytes', async () => {
    // Arrange: accented letters are two bytes each; the signature covers the bytes
    const fault = Buffer.from(
      JSON.stringify({
        eventId: randomUUID(),
        type: 'fault',
        occurredAt: new Date().toISOString(),
        code: 'other',
        detail: 'porte ouverte, température élevée',
      }),
      'utf8',
    );

    // Act
    const answer = await kioskPostBytes(fault);

    // Assert
    expect(answer.status).toBe(201);
  });
});

describe('bodies refused before they are read (item 6)', () => {
  it.each([
    ['60 KiB', 60 * 1024],
    ['1 MiB', 1024 * 1024],
  ])(
    'answers 401 to a staff upload of %s without a token before any of its body arrives',
    async (_name, length) => {
      // Arrange: the headers announce the body; not one byte of it is ever sent
      const request = head('POST /v1/naloxone/use-reports HTTP/1.1', {
        'content-type': 'application/json',
        'content-length': length,
      });

      // Act
      const answer = await rawExchange(api.backend.port, (socket) => socket.write(request)).answer;

      // Assert
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.body).error.code).toBe('unauthorized');
    },
    10_000,
  );

  it('answers 413 to a kiosk body announced larger than 16 KiB before any of it arrives', async () => {
    // Arrange
    const request = head('POST /v1/kiosk/events HTTP/1.1', {
      'content-type': 'application/json',
      'content-length': 16_385,
    });

    // Act
    const answer = await rawExchange(api.backend.port, (socket) => socket.write(request)).answer;

    // Assert
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('payload_too_large');
  }, 10_000);

  it('answers 413 to a chunked kiosk body as soon as it passes 16 KiB, without waiting for its end', async () => {
    // Arrange
    const request = head('POST /v1/kiosk/events HTTP/1.1', {
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    const chunk = 'x'.repeat(17_000);

    // Act: the body never ends
    const answer = await rawExchange(api.backend.port, (socket) =>
      socket.write(`${request}${chunk.length.toString(16)}\r\n${chunk}\r\n`),
    ).answer;

    // Assert
    expect(answer.status).toBe(413);
  }, 10_000);

  it('answers 413 to a staff body past 64 KiB and stops reading it', async () => {
    // Arrange: an endless chunked upload with a valid token
    const request = head('POST /v1/naloxone/use-reports HTTP/1.1', {
      authorization: `Bearer ${OUTREACH}`,
      'content-type': 'application/json',
      'transfer-encoding': 'chunked',
    });
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const frame = Buffer.concat([
      Buffer.from(`${chunk.length.toString(16)}\r\n`),
      chunk,
      Buffer.from('\r\n'),
    ]);
    let sent = 0;
    const budget = 256 * 1024 * 1024;

    // Act: keep sending until the server cuts the connection or 256 MiB have gone
    const exchange = rawExchange(api.backend.port, async (socket) => {
      socket.write(request);
      while (sent < budget && !socket.destroyed) {
        const ok = await new Promise<boolean>((resolve) => socket.write(frame, (error) => resolve(!error)));
        if (!ok) break;
        sent += frame.length;
      }
    });
    const answer = await exchange.closed;

    // Assert
    expect(answer.status).toBe(413);
    expect(sent).toBeLessThan(budget);
  }, 30_000);

  it('refuses a kiosk body over 16 KiB that asks for 100-continue without taking the body', async () => {
    // Arrange
    const request = head('POST /v1/kiosk/events HTTP/1.1', {
      'content-type': 'application/json',
      'content-length': 20_000,
      expect: '100-continue',
    });

    // Act
    const answer = await rawExchange(api.backend.port, (socket) => socket.write(request)).answer;

    // Assert
    expect(answer.status).toBe(413);
  }, 10_000);
});

describe('UUIDs in either case (item 7)', () => {
  it('answers the same kiosk event sent again with its eventId in upper case as a duplicate', async () => {
    // Arrange
    const event = dispense();
    await api.kioskPost(kiosk, event);
    const dispensed = async () =>
      (await api.staff(ADMIN, 'GET', `/v1/reports/naloxone?from=${today()}&to=${today()}&raw=true`)).body
        .dispenseEvents;
    const before = await dispensed();

    // Act
    const again = await api.kioskPost(kiosk, { ...event, eventId: event.eventId.toUpperCase() });

    // Assert: its write was cancelled on the event's guard, and nothing was counted again
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ eventId: event.eventId, status: 'duplicate' });
    expect(await dispensed()).toBe(before);
  });

  it('records an upper-case eventId under its lower-case form, so the lower-case retry is a duplicate', async () => {
    // Arrange
    const event = dispense();
    const first = await api.kioskPost(kiosk, { ...event, eventId: event.eventId.toUpperCase() });

    // Act
    const again = await api.kioskPost(kiosk, event);

    // Assert
    expect(first.status).toBe(201);
    expect(first.body.eventId).toBe(event.eventId);
    expect(again.status).toBe(200);
  });

  it('answers a use report sent again with its reportId in upper case as a duplicate', async () => {
    // Arrange
    const report = { reportId: randomUUID(), usedOn: today(), outcome: 'survived' };
    await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', report);

    // Act
    const again = await api.staff(OUTREACH, 'POST', '/v1/naloxone/use-reports', {
      ...report,
      reportId: report.reportId.toUpperCase(),
    });

    // Assert
    expect(again.status).toBe(200);
    expect(again.body.reportId).toBe(report.reportId);
  });

  it('answers an enrollment event sent again with its eventId in upper case as a duplicate', async () => {
    // Arrange
    const enrolled = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: `P-${randomUUID().slice(0, 8)}`,
      siteId: 'site-7',
      enrolledOn: today(),
      medication: 'methadone',
      overdosesPrior12m: 0,
      consent: { outreach: false, part2: false },
    });
    const path = `/v1/moud/enrollments/${enrolled.body.enrollmentId}/events`;
    const event = { eventId: randomUUID(), type: 'visit', occurredOn: today() };
    await api.staff(OUTREACH, 'POST', path, event);

    // Act
    const again = await api.staff(OUTREACH, 'POST', path, { ...event, eventId: event.eventId.toUpperCase() });

    // Assert
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('duplicate');
  });
});
