import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector } from '../../../lib/embedded/faults.js';
import { ADMIN, apiClock, OUTREACH, startTestBackend } from '../../support/backend.js';

/**
 * Consent staff can see and change (contract: MOUD enrollment and outreach): consent events,
 * `doNotContact` on tasks, withdrawal stopping what is still unpublished, and the access log.
 * The embedded backend on a manual clock, faults forced where a message must stay unpublished.
 */
const START = Date.parse('2026-04-01T09:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const PHONE = '+15555550177';
const faults = new FaultInjector({ rate: 0, seed: 1, kinds: [] });
let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend(
    { TIME_SCALE: 'manual', CLOCK_START: new Date(START).toISOString() },
    undefined,
    undefined,
    faults,
  );
});
afterAll(async () => {
  await api?.backend.stop();
});

const { today, advanceBy } = apiClock(() => api);

async function enroll(outreach: boolean) {
  const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
    participantRef: `P-${randomUUID().slice(0, 8)}`,
    siteId: 'site-consent',
    enrolledOn: await today(),
    medication: 'methadone',
    overdosesPrior12m: 1,
    consent: { outreach, part2: true },
    contact: { phone: PHONE },
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body.enrollmentId as string;
}

async function record(enrollmentId: string, type: string, extra: Record<string, unknown> = {}) {
  const answer = await api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
    eventId: randomUUID(),
    type,
    occurredOn: await today(),
    ...extra,
  });
  expect(answer.status, answer.text).toBe(201);
}

const tasksOf = async (enrollmentId: string) =>
  (await api.allTasks(OUTREACH)).filter((task) => task.enrollmentId === enrollmentId);
const messagesAbout = (enrollmentId: string) =>
  api.outbox().filter((line) => JSON.parse(line.message).enrollmentId === enrollmentId);

describe('consent staff can see and change', () => {
  it('marks the tasks of an enrollment whose outreach consent was withdrawn doNotContact, in the list and the detail, without contact details', async () => {
    // Arrange: nothing recorded, so the 72-hour checkpoint opens a task; then consent is withdrawn.
    const enrollmentId = await enroll(true);
    await advanceBy(3 * DAY + HOUR);
    const [opened] = await tasksOf(enrollmentId);
    expect(opened.doNotContact).toBe(false);

    // Act
    await record(enrollmentId, 'consent', { consent: { outreach: false, part2: true } });
    const [listed] = await tasksOf(enrollmentId);
    const detail = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${opened.taskId}`);

    // Assert
    expect(listed.doNotContact).toBe(true);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({
      taskId: opened.taskId,
      doNotContact: true,
      contact: null,
      consent: { outreach: false, part2: true },
    });
    expect(detail.text).not.toContain(PHONE.slice(2));
  });

  it('publishes no escalation after the withdrawal, and contacts the person again once consent is given back', async () => {
    // Arrange: an urgent task; outreach consent withdrawn before its escalation.
    const enrollmentId = await enroll(true);
    await record(enrollmentId, 'overdose', { fatal: false });
    const published = messagesAbout(enrollmentId).length;
    await record(enrollmentId, 'consent', { consent: { outreach: false, part2: true } });

    // Act
    await advanceBy(DAY + HOUR);
    const afterWithdrawal = messagesAbout(enrollmentId).length;
    await record(enrollmentId, 'consent', { consent: { outreach: true, part2: true } });
    await record(enrollmentId, 'overdose', { fatal: false });

    // Assert
    expect(published).toBe(1);
    expect(afterWithdrawal).toBe(published);
    expect(messagesAbout(enrollmentId).length).toBe(published + 1);
    const urgent = (await tasksOf(enrollmentId)).filter((task) => task.kind === 'overdose-urgent');
    expect(urgent.every((task) => task.doNotContact === false)).toBe(true);
  });

  it('stops an urgent notice still waiting in the outbox when outreach consent is withdrawn', async () => {
    // Arrange: the outbox stream is behind, so the urgent task's notice is still waiting in the outbox.
    const enrollmentId = await enroll(true);
    api.backend.streams.pause();
    await record(enrollmentId, 'overdose', { fatal: false });
    expect(messagesAbout(enrollmentId)).toEqual([]);

    // Act
    await record(enrollmentId, 'consent', { consent: { outreach: false, part2: false } });
    api.backend.streams.resume();
    await advanceBy(2 * HOUR); // the stream delivers the notice's record, the relay runs: neither publishes it

    // Assert
    expect(messagesAbout(enrollmentId)).toEqual([]);
  });

  it('stops an urgent notice whose publishes keep failing when outreach consent is withdrawn meanwhile', async () => {
    // Arrange: SNS fails every publish about the enrollment, so the stream keeps delivering the record again.
    const enrollmentId = await enroll(true);
    faults.force('sns', {
      times: 1_000,
      where: (input) => String((input as { Message?: string } | undefined)?.Message).includes(enrollmentId),
    });
    await record(enrollmentId, 'overdose', { fatal: false });

    // Act
    await record(enrollmentId, 'consent', { consent: { outreach: false, part2: false } });
    await advanceBy(2 * HOUR); // the stream retries, the relay runs: the row is gone, nothing goes out
    faults.clearForced();

    // Assert
    expect(messagesAbout(enrollmentId)).toEqual([]);
  });

  it('lists the consent given, every consent change and every read of the contact details in the access log, to administrators only', async () => {
    // Arrange
    const enrollmentId = await enroll(false);
    await record(enrollmentId, 'consent', { consent: { outreach: true, part2: true } });
    await record(enrollmentId, 'overdose', { fatal: false });
    const [urgent] = await tasksOf(enrollmentId);
    const read = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${urgent.taskId}`);
    expect(read.body.contact).toEqual({ phone: PHONE });

    // Act
    const log = await api.staff(ADMIN, 'GET', `/v1/moud/enrollments/${enrollmentId}/access-log`);
    const forbidden = await api.staff(OUTREACH, 'GET', `/v1/moud/enrollments/${enrollmentId}/access-log`);
    const unknown = await api.staff(ADMIN, 'GET', '/v1/moud/enrollments/E-unknown/access-log');

    // Assert
    expect(log.status).toBe(200);
    expect(log.body.enrollmentId).toBe(enrollmentId);
    // Oldest first; entries of one instant (the clock stands still here) in no particular order.
    const entries = log.body.entries as { what: string; at: string; [field: string]: unknown }[];
    expect(entries.map((entry) => entry.at)).toEqual(entries.map((entry) => entry.at).sort());
    expect(entries[0]).toMatchObject({ what: 'consent-recorded', consent: { outreach: false, part2: true } });
    const change = entries.find((entry) => entry.what === 'consent-change');
    const contactRead = entries.find((entry) => entry.what === 'read-contact');
    expect(entries).toHaveLength(3);
    expect(change).toMatchObject({ consent: { outreach: true, part2: true }, occurredOn: await today() });
    expect(contactRead).toMatchObject({ taskId: urgent.taskId });
    for (const entry of log.body.entries) expect(entry.by).toEqual(expect.any(String));
    expect(log.text).not.toContain(PHONE.slice(2));
    expect(forbidden.status).toBe(403);
    expect(unknown.status).toBe(404);
  });

  it('records no read when the detail of a doNotContact task is shown', async () => {
    const enrollmentId = await enroll(false);
    await record(enrollmentId, 'overdose', { fatal: false });
    const [urgent] = await tasksOf(enrollmentId);

    await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${urgent.taskId}`);
    const log = await api.staff(ADMIN, 'GET', `/v1/moud/enrollments/${enrollmentId}/access-log`);

    expect(log.body.entries.map((entry: { what: string }) => entry.what)).toEqual(['consent-recorded']);
  });
});
