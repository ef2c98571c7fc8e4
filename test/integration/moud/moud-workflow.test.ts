import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../lib/embedded/clock.js';
import { ADMIN, OUTREACH, startTestBackend } from '../../support/backend.js';

const DAY = 86_400_000;
const clock = manualClock(new Date('2026-06-01T10:00:00.000Z'));
let api: Awaited<ReturnType<typeof startTestBackend>>;
/** Transitions per 180-day enrollment, for the closing note (Standard workflows are billed per transition). */
const transitions: Record<string, number> = {};

beforeAll(async () => {
  api = await startTestBackend({}, undefined, clock);
});
afterAll(async () => {
  console.log('state transitions per enrollment:', JSON.stringify(transitions));
  await api.backend.stop();
});

const today = () => clock.now().toISOString().slice(0, 10);
const settle = () => api.backend.workflows.idle();

/**
 * Moves the backend clock a day at a time as `POST /local/clock` does: every workflow wake, escalation
 * and scheduled sweep (the supply sweep among them) fires in time order, and the backend is quiet after.
 */
async function walk(days: number, eachDay?: () => Promise<void>) {
  for (let day = 0; day < days; day += 1) {
    if (eachDay) await eachDay();
    await api.backend.advanceTo(new Date(clock.now().getTime() + DAY));
  }
}

async function enroll(overrides: Record<string, unknown> = {}) {
  const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
    participantRef: `P-${randomUUID().slice(0, 8)}`,
    siteId: 'site-moud',
    enrolledOn: today(),
    medication: 'methadone',
    overdosesPrior12m: 1,
    consent: { outreach: true, part2: true },
    ...overrides,
  });
  expect(answer.status, answer.text).toBe(201);
  await settle();
  return answer.body.enrollmentId as string;
}

function record(enrollmentId: string, type: string, extra: Record<string, unknown> = {}) {
  return api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
    eventId: randomUUID(),
    type,
    occurredOn: today(),
    ...extra,
  });
}

async function tasksOf(enrollmentId: string) {
  const answer = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?limit=500');
  return (
    answer.body.tasks as {
      taskId: string;
      kind: string;
      status: string;
      enrollmentId?: string;
      dueAt: string;
    }[]
  ).filter((task) => task.enrollmentId === enrollmentId);
}

function messagesOf(enrollmentId: string) {
  return api
    .outbox()
    .filter((line) => JSON.parse(line.message).enrollmentId === enrollmentId)
    .map((line) => ({ topic: line.topic, ...JSON.parse(line.message) }));
}

describe('MOUD enrollment over HTTP', () => {
  it('answers the checkpoints at 72 hours and 7, 30, 90 and 180 days from the enrollment day at the time of recording', async () => {
    const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-CHECKPOINTS',
      siteId: 'site-moud',
      enrolledOn: today(),
      medication: 'buprenorphine-sublingual',
      overdosesPrior12m: 0,
      consent: { outreach: false, part2: false },
    });
    const dueAt = Object.fromEntries(
      answer.body.followUps.map((f: { kind: string; dueAt: string }) => [f.kind, f.dueAt]),
    );
    const start = clock.now().getTime();
    expect(answer.status).toBe(201);
    expect(dueAt).toMatchObject({
      'checkpoint-72h': new Date(start + 3 * DAY).toISOString(),
      'checkpoint-7d': new Date(start + 7 * DAY).toISOString(),
      'checkpoint-30d': new Date(start + 30 * DAY).toISOString(),
      'checkpoint-90d': new Date(start + 90 * DAY).toISOString(),
      'checkpoint-180d': new Date(start + 180 * DAY).toISOString(),
    });
  });

  it('answers a retried enrollment with the same id, and another body for the same person and day with enrollment_exists', async () => {
    const body = {
      participantRef: 'P-RETRY',
      siteId: 'site-moud',
      enrolledOn: today(),
      medication: 'methadone',
      overdosesPrior12m: 2,
      consent: { outreach: true, part2: true },
      contact: { phone: '+15555550177' },
    };
    const first = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', body);
    const retry = await api.staff(ADMIN, 'POST', '/v1/moud/enrollments', { ...body });
    const otherPhone = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      ...body,
      contact: { phone: '+15555550178' },
    });
    const otherDrug = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      ...body,
      medication: 'naltrexone-er',
    });
    expect([first.status, retry.status, otherPhone.status, otherDrug.status]).toEqual([201, 200, 409, 409]);
    expect(retry.body).toEqual(first.body);
    expect(otherDrug.body.error.code).toBe('enrollment_exists');
  });

  it('refuses bad enrollments with invalid_request and bad events with invalid_event, naming the field', async () => {
    const tomorrow = new Date(clock.now().getTime() + DAY).toISOString().slice(0, 10);
    const base = {
      participantRef: 'P-BAD',
      siteId: 's',
      enrolledOn: today(),
      medication: 'methadone',
      overdosesPrior12m: 0,
      consent: { outreach: true, part2: true },
    };
    const cases: [unknown, string][] = [
      [{ ...base, enrolledOn: tomorrow }, 'enrolledOn'],
      [{ ...base, medication: 'fentanyl' }, 'medication'],
      [{ ...base, overdosesPrior12m: 51 }, 'overdosesPrior12m'],
      [{ ...base, consent: { outreach: true } }, 'consent.part2'],
      [{ ...base, nickname: 'Sam' }, 'nickname'],
      [{ ...base, contact: { phone: '555' } }, 'contact.phone'],
    ];
    for (const [body, path] of cases) {
      const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', body);
      expect(answer.status, path).toBe(400);
      expect(answer.body.error.code).toBe('invalid_request');
      expect(answer.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const enrollmentId = await enroll({ consent: { outreach: false, part2: true } });
    const events: [Record<string, unknown>, string][] = [
      [{ eventId: randomUUID(), type: 'overdose', occurredOn: today() }, 'fatal'],
      [{ eventId: randomUUID(), type: 'dose', occurredOn: today(), fatal: false }, 'fatal'],
      [{ eventId: randomUUID(), type: 'dose', occurredOn: tomorrow }, 'occurredOn'],
      [{ eventId: randomUUID(), type: 'refill', occurredOn: today() }, 'type'],
    ];
    for (const [body, path] of events) {
      const answer = await api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, body);
      expect(answer.status, path).toBe(400);
      expect(answer.body.error.code).toBe('invalid_event');
      expect(answer.body.error.issues.map((i: { path: string }) => i.path)).toContain(path);
    }
    const unknown = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments/E-nobody/events', {
      eventId: randomUUID(),
      type: 'dose',
      occurredOn: today(),
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    expect((await api.staff(undefined, 'POST', '/v1/moud/enrollments', base)).status).toBe(401);
  });

  it('records an event once, answers its retry as a duplicate and a changed body as event_id_conflict', async () => {
    const enrollmentId = await enroll();
    const event = { eventId: randomUUID(), type: 'visit', occurredOn: today() };
    const path = `/v1/moud/enrollments/${enrollmentId}/events`;
    const first = await api.staff(OUTREACH, 'POST', path, event);
    const retry = await api.staff(OUTREACH, 'POST', path, {
      occurredOn: event.occurredOn,
      type: 'visit',
      eventId: event.eventId,
    });
    const changed = await api.staff(OUTREACH, 'POST', path, { ...event, type: 'dose' });
    expect([first.status, retry.status, changed.status]).toEqual([201, 200, 409]);
    expect(retry.body).toEqual({ eventId: event.eventId, status: 'duplicate' });
    expect(changed.body.error.code).toBe('event_id_conflict');
  });
});

describe('the follow-up workflow over whole enrollments', () => {
  it('leaves an engaged person alone for 180 days and then ends', async () => {
    const enrollmentId = await enroll({ medication: 'methadone' });
    await walk(182, async () => {
      await record(enrollmentId, 'dose');
    });
    expect(await tasksOf(enrollmentId)).toEqual([]);
    expect(messagesOf(enrollmentId)).toEqual([]);
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(false);
    transitions.engaged = api.backend.workflows.stats().transitionsByExecution.get(enrollmentId) ?? 0;
  });

  it('opens one task at 72 hours for a person with no recorded treatment, escalates it once after 24 hours and folds later checkpoints into it', async () => {
    const enrollmentId = await enroll();
    await walk(2);
    expect(await tasksOf(enrollmentId)).toEqual([]);
    await walk(1);
    const [task] = await tasksOf(enrollmentId);
    expect(task).toMatchObject({ kind: 'checkpoint-72h', status: 'open', enrollmentId });
    expect(messagesOf(enrollmentId)).toEqual([
      expect.objectContaining({ topic: 'outreach', taskId: task.taskId, enrollmentId }),
    ]);
    await walk(1);
    const escalations = () => messagesOf(enrollmentId).filter((m) => m.topic === 'outreach-escalation');
    expect(escalations()).toEqual([expect.objectContaining({ taskId: task.taskId, enrollmentId })]);
    await walk(40);
    expect(await tasksOf(enrollmentId)).toHaveLength(1);
    expect(escalations()).toHaveLength(1);
    await walk(140);
    transitions.missesEverything =
      api.backend.workflows.stats().transitionsByExecution.get(enrollmentId) ?? 0;
  });

  it('does not bother a person whose monthly injection was recorded on the enrollment day before day 26, and opens a task when no next injection comes by day 31', async () => {
    const enrollmentId = await enroll({ medication: 'buprenorphine-er-monthly' });
    await record(enrollmentId, 'injection');
    await walk(30);
    expect(await tasksOf(enrollmentId)).toEqual([]);
    await walk(1);
    const tasks = await tasksOf(enrollmentId);
    expect(tasks).toEqual([expect.objectContaining({ kind: 'missed-injection', status: 'open' })]);
  });

  it('lets an injection recorded in its window cancel the pending reminder', async () => {
    const enrollmentId = await enroll({ medication: 'buprenorphine-er-monthly' });
    await record(enrollmentId, 'injection');
    await walk(28);
    await record(enrollmentId, 'injection');
    await walk(30);
    expect(await tasksOf(enrollmentId)).toEqual([]);
  });

  it('opens a supply-gap task before day 8 of a gap in daily medication', async () => {
    const enrollmentId = await enroll({ medication: 'buprenorphine-sublingual' });
    await walk(11, async () => {
      await record(enrollmentId, 'dose');
    });
    // Last dose on day 10 (the clock is now at day 11): the gap's 7th day is day 17.
    await walk(5);
    expect(await tasksOf(enrollmentId)).toEqual([]);
    await walk(1);
    expect(await tasksOf(enrollmentId)).toEqual([
      expect.objectContaining({ kind: 'supply-gap', status: 'open' }),
    ]);
  });

  it('goes on after staff complete a task: no escalation, and the next lapse opens a new task', async () => {
    const enrollmentId = await enroll();
    await walk(3);
    const [task] = await tasksOf(enrollmentId);
    const done = await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${task.taskId}/complete`, {
      outcome: 're-engaged',
    });
    await settle();
    expect(done.status).toBe(200);
    await walk(2);
    expect(messagesOf(enrollmentId).filter((m) => m.topic === 'outreach-escalation')).toEqual([]);
    // No treatment recorded still: the 7-day supply check opens the next task.
    await walk(3);
    const open = (await tasksOf(enrollmentId)).filter((t) => t.status === 'open');
    expect(open).toHaveLength(1);
    expect(open[0].taskId).not.toBe(task.taskId);
  });

  it('opens no task after a disenrollment and ends the follow-up', async () => {
    const enrollmentId = await enroll();
    await walk(1);
    expect((await record(enrollmentId, 'disenrolled')).status).toBe(201);
    await settle();
    await walk(10);
    expect(await tasksOf(enrollmentId)).toEqual([]);
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(false);
  });

  it('ends the follow-up on a fatal overdose: nothing opens afterwards, and the task left open is escalated once', async () => {
    const enrollmentId = await enroll();
    await walk(3);
    const [task] = await tasksOf(enrollmentId);
    await record(enrollmentId, 'overdose', { fatal: true });
    await settle();
    await walk(40);
    expect(await tasksOf(enrollmentId)).toEqual([expect.objectContaining({ taskId: task.taskId })]);
    expect(messagesOf(enrollmentId).filter((m) => m.topic === 'outreach-escalation')).toEqual([
      expect.objectContaining({ taskId: task.taskId }),
    ]);
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(false);
  });

  it('opens an urgent task at once on a non-fatal overdose, besides an open follow-up task, and escalates it after 24 hours', async () => {
    const enrollmentId = await enroll();
    await walk(3);
    await record(enrollmentId, 'overdose', { fatal: false });
    const tasks = await tasksOf(enrollmentId);
    expect(tasks.map((t) => t.kind).sort()).toEqual(['checkpoint-72h', 'overdose-urgent']);
    const urgent = tasks.find((t) => t.kind === 'overdose-urgent')!;
    expect(messagesOf(enrollmentId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ topic: 'outreach', taskId: urgent.taskId, kind: 'follow-up' }),
      ]),
    );
    await settle();
    await walk(1);
    const escalated = messagesOf(enrollmentId)
      .filter((m) => m.topic === 'outreach-escalation')
      .map((m) => m.taskId);
    expect(escalated).toContain(urgent.taskId);
    expect(escalated.filter((id) => id === urgent.taskId)).toHaveLength(1);
  });

  it('contacts nobody without consent to outreach: tasks open for the record, no message, escalations included', async () => {
    const enrollmentId = await enroll({
      consent: { outreach: false, part2: true },
      contact: { phone: '+15555550166' },
    });
    await walk(5);
    await record(enrollmentId, 'overdose', { fatal: false });
    await walk(2);
    expect((await tasksOf(enrollmentId)).length).toBeGreaterThanOrEqual(2);
    expect(messagesOf(enrollmentId)).toEqual([]);
  });

  it('judges checkpoints already past at enrollment at once, opening one task and folding the rest', async () => {
    const tenDaysAgo = new Date(clock.now().getTime() - 10 * DAY).toISOString().slice(0, 10);
    const enrollmentId = await enroll({ enrolledOn: tenDaysAgo });
    const tasks = await tasksOf(enrollmentId);
    expect(tasks).toHaveLength(1);
    expect(tasks[0].kind).toBe('checkpoint-72h');
  });

  it('keeps contact details out of messages and shows them only on the task read, which is recorded', async () => {
    const enrollmentId = await enroll({ contact: { phone: '+15555550133' } });
    await walk(3);
    const [task] = await tasksOf(enrollmentId);
    const detail = await api.staff(OUTREACH, 'GET', `/v1/outreach/tasks/${task.taskId}`);
    expect(detail.body.contact).toEqual({ phone: '+15555550133' });
    expect(JSON.stringify(api.outbox())).not.toContain('5555550133');
    expect(JSON.stringify(messagesOf(enrollmentId))).not.toMatch(/methadone|buprenorphine|naltrexone/);
  });
});

describe('a follow-up workflow that sleeps until it is needed', () => {
  const transitionsOf = (enrollmentId: string) =>
    api.backend.workflows.stats().transitionsByExecution.get(enrollmentId) ?? 0;

  it('ends a disengaged enrollment’s execution on day 180, its task escalated and never completed, within 24 state transitions', async () => {
    const enrollmentId = await enroll({ medication: 'methadone' });

    await walk(179);
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(true);
    await walk(1);

    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(false);
    expect(transitionsOf(enrollmentId)).toBeLessThanOrEqual(24);
    const [task] = await tasksOf(enrollmentId);
    expect(await tasksOf(enrollmentId)).toEqual([
      expect.objectContaining({ kind: 'checkpoint-72h', status: 'open' }),
    ]);
    expect(messagesOf(enrollmentId).map((m) => [m.topic, m.taskId])).toEqual([
      ['outreach', task.taskId],
      ['outreach-escalation', task.taskId],
    ]);
  });

  it('starts the finished follow-up again for a late overdose, escalates its urgent task once, and ends again', async () => {
    const enrollmentId = await enroll({ medication: 'methadone' });
    await walk(180);
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(false);

    expect((await record(enrollmentId, 'overdose', { fatal: false })).status).toBe(201);
    await settle();
    const urgent = (await tasksOf(enrollmentId)).find((t) => t.kind === 'overdose-urgent');
    expect(urgent).toMatchObject({ status: 'open' });
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(true);
    await walk(2);

    const escalated = messagesOf(enrollmentId).filter(
      (m) => m.topic === 'outreach-escalation' && m.taskId === urgent!.taskId,
    );
    expect(escalated).toHaveLength(1);
    expect(api.backend.workflows.isRunning(enrollmentId)).toBe(false);
  });

  it('finds a supply gap through the sweep and wakes only the enrollment in it', async () => {
    const steady = await enroll({ medication: 'buprenorphine-sublingual' });
    const lapsing = await enroll({ medication: 'buprenorphine-sublingual' });
    await walk(11, async () => {
      await record(steady, 'dose');
      await record(lapsing, 'dose');
    });
    const steadyBefore = transitionsOf(steady);
    const lapsingBefore = transitionsOf(lapsing);

    // The lapsing person's last dose was on day 10: the gap's 7th day is day 17. No checkpoint falls in between.
    await walk(6, async () => {
      await record(steady, 'dose');
    });

    expect(await tasksOf(steady)).toEqual([]);
    expect(await tasksOf(lapsing)).toEqual([expect.objectContaining({ kind: 'supply-gap', status: 'open' })]);
    expect(transitionsOf(steady)).toBe(steadyBefore);
    expect(transitionsOf(lapsing)).toBeGreaterThan(lapsingBefore);
  });
});
