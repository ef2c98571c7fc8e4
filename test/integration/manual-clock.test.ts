import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, dispense, OUTREACH, startTestBackend } from '../support/backend.js';

/** TIME_SCALE=manual: the backend's time moves only by POST /local/clock (contract: "manual clock"). */
const START = Date.parse('2026-09-01T08:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend({ TIME_SCALE: 'manual', CLOCK_START: new Date(START).toISOString() });
});
afterAll(async () => {
  await api?.backend.stop();
});

const advance = (to: number, token = ADMIN) =>
  api.staff(token, 'POST', '/local/clock', { advanceTo: new Date(to).toISOString() });

describe('POST /local/clock', () => {
  it('stands still until moved, then answers the new time', async () => {
    const before = (await api.request('GET', '/health')).body.now;
    const moved = await advance(START + HOUR);
    const after = (await api.request('GET', '/health')).body.now;

    expect(before).toBe(new Date(START).toISOString());
    expect(moved.status).toBe(200);
    expect(moved.body).toEqual({ now: new Date(START + HOUR).toISOString() });
    expect(after).toBe(new Date(START + HOUR).toISOString());
  });

  it('refuses to go backwards and stays where it was', async () => {
    const answer = await advance(START);
    const now = (await api.request('GET', '/health')).body.now;

    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('clock_backwards');
    expect(now).toBe(new Date(START + HOUR).toISOString());
  });

  it('accepts the time it already is (the backend settles and answers)', async () => {
    const answer = await advance(START + HOUR);
    expect(answer.status).toBe(200);
  });

  it('is for administrators: no token is 401, an outreach token 403', async () => {
    const anonymous = await api.request('POST', '/local/clock', {
      body: JSON.stringify({ advanceTo: new Date(START + 2 * HOUR).toISOString() }),
      headers: { 'content-type': 'application/json' },
    });
    const outreach = await advance(START + 2 * HOUR, OUTREACH);

    expect(anonymous.status).toBe(401);
    expect(outreach.status).toBe(403);
    expect(outreach.body.error.code).toBe('forbidden');
  });

  it('answers a body that is not JSON with invalid_json and a bad time with invalid_request', async () => {
    const notJson = await api.staff(ADMIN, 'POST', '/local/clock', '{"advanceTo":');
    const badTime = await api.staff(ADMIN, 'POST', '/local/clock', { advanceTo: 'tomorrow', extra: 1 });

    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_json');
    expect(badTime.status).toBe(400);
    expect(badTime.body.error.code).toBe('invalid_request');
    expect(badTime.body.error.issues.map((issue: { path: string }) => issue.path).sort()).toEqual([
      'advanceTo',
      'extra',
    ]);
  });
});

describe('one long advance', () => {
  it('fires follow-ups and escalations at their own times, in time order, and answers once they are published', async () => {
    // Arrange: a person with no recorded treatment (a task at 72 h, escalated 24 h later)
    // and a kiosk contact request (escalated 24 h after it was made).
    const now = Date.parse((await api.request('GET', '/health')).body.now);
    const enrolled = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-CLOCK-1',
      siteId: 'site-clock',
      enrolledOn: new Date(now).toISOString().slice(0, 10),
      medication: 'methadone',
      overdosesPrior12m: 0,
      consent: { outreach: true, part2: true },
    });
    const kiosk = await api.registerKiosk({ kioskId: 'K-CLOCK-1', siteId: 'site-clock' });
    const contact = await api.kioskPost(
      kiosk,
      dispense({
        occurredAt: new Date(now).toISOString(),
        contactRequest: { phone: '+15555550111', topic: 'treatment' },
      }),
    );
    const enrolledAt = Date.parse(enrolled.body.followUps[0].dueAt) - 3 * DAY;

    // Act: ten days in one call.
    const answer = await advance(now + 10 * DAY);
    const mine = api
      .outbox()
      .map((line) => ({ topic: line.topic, publishedAt: line.publishedAt, ...JSON.parse(line.message) }))
      .filter((m) => m.enrollmentId === enrolled.body.enrollmentId || m.kioskId === 'K-CLOCK-1');

    // Assert
    expect(enrolled.status).toBe(201);
    expect(contact.status).toBe(201);
    expect(answer.status).toBe(200);
    const at = (topic: string, key: 'enrollmentId' | 'kioskId') =>
      mine.filter((m) => m.topic === topic && m[key] !== undefined).map((m) => m.publishedAt);
    expect(at('outreach-escalation', 'kioskId')).toEqual([new Date(now + DAY).toISOString()]);
    expect(at('outreach', 'enrollmentId')).toEqual([new Date(enrolledAt + 3 * DAY).toISOString()]);
    expect(at('outreach-escalation', 'enrollmentId')).toEqual([new Date(enrolledAt + 4 * DAY).toISOString()]);
    const times = mine.map((m) => m.publishedAt);
    expect([...times].sort()).toEqual(times);
  });
});
