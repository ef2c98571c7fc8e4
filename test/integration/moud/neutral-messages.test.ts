/**
 * Issue 8, items 9 and 11: what leaves the store about an enrollment (SNS messages, their
 * attributes, the ids in them) tells nobody which medication a person takes or that they
 * overdosed, and an enrollment id cannot be turned back into the participant and day; staff read
 * why a task opened through the authenticated API.
 */
import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../lib/embedded/clock.js';
import { OUTREACH, startTestBackend } from '../../support/backend.js';

const DAY = 86_400_000;
const clock = manualClock(new Date('2026-03-02T10:00:00.000Z'));
let api: Awaited<ReturnType<typeof startTestBackend>>;
const today = () => clock.now().toISOString().slice(0, 10);
const settle = async () => {
  await api.backend.workflows.idle();
  await api.backend.streams.drained();
};
const REVEALING = /inject|supply|overdose|urgent|buprenorphine|methadone|naltrexone|checkpoint|P-NEUTRAL/i;

/** A day at a time as `POST /local/clock` moves it: wakes, escalations and sweeps (the supply sweep) fire in order. */
async function walk(days: number, eachDay?: () => Promise<void>) {
  for (let day = 0; day < days; day += 1) {
    if (eachDay) await eachDay();
    await api.backend.advanceTo(new Date(clock.now().getTime() + DAY));
  }
  await settle();
}

async function enroll(participantRef: string, medication: string) {
  const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
    participantRef,
    siteId: 'site-neutral',
    enrolledOn: today(),
    medication,
    overdosesPrior12m: 1,
    consent: { outreach: true, part2: true },
  });
  expect(answer.status, answer.text).toBe(201);
  await settle();
  return answer.body.enrollmentId as string;
}

const record = (enrollmentId: string, type: string, extra: Record<string, unknown> = {}) =>
  api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
    eventId: randomUUID(),
    type,
    occurredOn: today(),
    ...extra,
  });

const ids: Record<string, string> = {};

beforeAll(async () => {
  api = await startTestBackend({}, undefined, clock);
  ids.injectable = await enroll('P-NEUTRAL-1', 'buprenorphine-er-monthly');
  ids.daily = await enroll('P-NEUTRAL-2', 'buprenorphine-sublingual');
  ids.overdose = await enroll('P-NEUTRAL-3', 'naltrexone-er');
  await record(ids.injectable, 'injection');
  // Daily doses for 11 days, then a gap; the monthly injection's window ends on day 31.
  await walk(11, async () => {
    await record(ids.daily!, 'dose');
  });
  await record(ids.overdose, 'overdose', { fatal: false });
  await walk(22);
  await settle();
}, 120_000);
afterAll(async () => {
  await api.backend.stop();
});

const linesOf = (enrollmentId: string) =>
  api.outbox().filter((line) => JSON.parse(line.message).enrollmentId === enrollmentId);

describe('messages about MOUD follow-up tasks', () => {
  it('exist for each enrollment: outreach for a missed injection, a supply gap and an overdose, and escalations', () => {
    // Act
    const topics = Object.fromEntries(
      Object.entries(ids).map(([name, id]) => [name, new Set(linesOf(id).map((line) => line.topic))]),
    );

    // Assert: the checks below have something to check
    for (const name of Object.keys(ids)) expect(topics[name]?.has('outreach'), name).toBe(true);
    expect(topics.overdose?.has('outreach-escalation')).toBe(true);
  });

  it('carry a neutral kind and opaque ids, never the reason, the medication or the participant', () => {
    // Act
    const lines = Object.values(ids).flatMap(linesOf);

    // Assert
    for (const line of lines) {
      const message = JSON.parse(line.message);
      expect(line.message, line.message).not.toMatch(REVEALING);
      expect(JSON.stringify(line.attributes)).not.toMatch(REVEALING);
      expect(['follow-up', 'escalation']).toContain(message.kind);
      if (message.kind === 'escalation') expect(message.taskKind).toBe('follow-up');
      expect(message.taskId).toMatch(/^T-[0-9a-f]{32}$/);
    }
  });

  it('leave the reason to the authenticated task read', async () => {
    // Arrange
    const [line] = linesOf(ids.injectable!).filter((candidate) => candidate.topic === 'outreach');
    const { taskId } = JSON.parse(line!.message);

    // Act
    const detail = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${taskId}`);

    // Assert
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ taskId, kind: 'missed-injection', enrollmentId: ids.injectable });
  });
});

describe('an enrollment id', () => {
  it('is a keyed HMAC: opaque, and not the unkeyed hash of the participant and day', () => {
    // Arrange
    const enrolledOn = '2026-03-02';
    const unkeyed = createHash('sha256').update(`P-NEUTRAL-1\u0000${enrolledOn}`).digest('hex');

    // Act / Assert
    expect(ids.injectable).toMatch(/^E-[0-9a-f]{32}$/);
    expect(ids.injectable).not.toContain(unkeyed.slice(0, 24));
  });

  it('is the same for the same participant and day, so a retried enrollment finds itself', async () => {
    // Act
    const again = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-NEUTRAL-2',
      siteId: 'site-neutral',
      enrolledOn: '2026-03-02',
      medication: 'buprenorphine-sublingual',
      overdosesPrior12m: 1,
      consent: { outreach: true, part2: true },
    });

    // Assert
    expect(again.status).toBe(200);
    expect(again.body.enrollmentId).toBe(ids.daily);
  });
});
