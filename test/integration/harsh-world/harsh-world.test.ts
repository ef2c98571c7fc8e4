import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjector } from '../../../lib/embedded/faults.js';
import { ADMIN, apiClock, dispense, OUTREACH, startTestBackend } from '../../support/backend.js';

/**
 * What AWS can do to a call, done on purpose at the moment that hurts, each against a
 * defect the harsh-world issue found: the embedded backend with faults forced one at a time.
 */
const START = Date.parse('2026-07-01T10:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
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

const { now, advanceBy } = apiClock(() => api);

async function enroll(participantRef: string, overrides: Record<string, unknown> = {}) {
  return api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
    participantRef,
    siteId: 'site-harsh',
    enrolledOn: new Date(await now()).toISOString().slice(0, 10),
    medication: 'methadone',
    overdosesPrior12m: 1,
    consent: { outreach: true, part2: true },
    ...overrides,
  });
}

/** A step's input that concerns this enrollment. */
const about = (enrollmentId: string) => (input: unknown) =>
  (input as { enrollmentId?: string } | undefined)?.enrollmentId === enrollmentId;

const event = (enrollmentId: string, type: string, extra: Record<string, unknown> = {}) =>
  api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
    eventId: randomUUID(),
    type,
    occurredOn: new Date(START).toISOString().slice(0, 10),
    ...extra,
  });

async function tasksOf(enrollmentId: string) {
  return (
    (await api.allTasks(OUTREACH, 'open')) as { taskId: string; kind: string; enrollmentId?: string }[]
  ).filter((task) => task.enrollmentId === enrollmentId);
}

describe('an enrollment whose transaction another one cancels (TransactionConflict)', () => {
  it('is written after all and answers 201, its follow-up running', async () => {
    faults.force('dynamodb-conflict', { command: 'TransactWriteItems' });

    const answer = await enroll('P-HARSH-CONFLICT');
    await api.backend.settle();
    const recorded = await event(answer.body.enrollmentId, 'visit');

    expect(answer.status).toBe(201);
    expect(recorded.status).toBe(201);
    expect(api.backend.workflows.isRunning(answer.body.enrollmentId)).toBe(true);
  });

  it('answers 503 and starts nothing while the conflicts last, then 201 to the retry', async () => {
    faults.force('dynamodb-conflict', { command: 'TransactWriteItems', times: 12 });
    const refused = await enroll('P-HARSH-BUSY');

    const retried = await enroll('P-HARSH-BUSY');

    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('service_unavailable');
    expect(retried.status).toBe(201);
  });
});

describe('a Park step whose token write meets a transaction on the enrollment', () => {
  it('plans again instead of failing the follow-up, and still opens the 72-hour task', async () => {
    const failedBefore = api.backend.workflows.stats().failed;
    faults.force('dynamodb-conflict', { command: 'UpdateItem' });
    const { body } = await enroll('P-HARSH-PARK');
    await api.backend.settle();

    await advanceBy(3 * DAY);

    expect(api.backend.workflows.stats().failed).toBe(failedBefore);
    expect((await tasksOf(body.enrollmentId)).map((task) => task.kind)).toEqual(['checkpoint-72h']);
  });
});

describe('a workflow execution that dies', () => {
  it('is restarted by the follow-up sweep, which takes up where it stopped', async () => {
    const failedBefore = api.backend.workflows.stats().failed;
    const { body } = await enroll('P-HARSH-DIES');
    await api.backend.settle();
    // Every attempt of the Plan step at the 72-hour checkpoint fails: the execution fails in Plan.
    faults.force('lambda', { command: 'Plan', times: 100, variant: true, where: about(body.enrollmentId) });

    await advanceBy(3 * DAY);
    const afterFailure = api.backend.workflows.stats().failed;
    faults.clearForced();
    await advanceBy(2 * HOUR);

    expect(afterFailure).toBe(failedBefore + 1);
    expect(api.backend.workflows.isRunning(body.enrollmentId)).toBe(true);
    expect((await tasksOf(body.enrollmentId)).map((task) => task.kind)).toEqual(['checkpoint-72h']);
  });

  it('announces a notice that went out before the crash again under the same messageId', async () => {
    const { body } = await enroll('P-HARSH-TWICE');
    await api.backend.settle();
    // Published, then every attempt to mark it published fails: the execution dies between the two.
    faults.force('lambda', {
      command: 'MarkNotified',
      times: 100,
      variant: true,
      where: about(body.enrollmentId),
    });

    await advanceBy(3 * DAY);
    faults.clearForced();
    await advanceBy(2 * HOUR);
    const copies = api
      .outbox()
      .filter(
        (line) => line.topic === 'outreach' && JSON.parse(line.message).enrollmentId === body.enrollmentId,
      );

    expect(copies.length).toBe(2);
    expect(new Set(copies.map((line) => line.attributes.messageId)).size).toBe(1);
    expect(JSON.parse(copies[0].message).messageId).toBe(copies[0].attributes.messageId);
  });
});

describe('ten events for one enrollment at once', () => {
  it('records every one of them', async () => {
    const { body } = await enroll('P-HARSH-BUSY-DAY');

    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, day) =>
        event(body.enrollmentId, 'dose', {
          occurredOn: new Date(START - day * DAY).toISOString().slice(0, 10),
        }),
      ),
    );

    expect(answers.map((answer) => answer.status)).toEqual(Array(10).fill(201));
  });
});

describe('a write whose answer is lost (an internal error after DynamoDB applied it)', () => {
  it('registers the kiosk once and still shows its secret', async () => {
    faults.force('dynamodb-internal', { command: 'PutItem', variant: true });

    const answer = await api.staff(ADMIN, 'POST', '/v1/kiosks', {
      kioskId: 'K-HARSH-LOST',
      siteId: 'site-harsh',
      lowStockThreshold: 1,
    });

    expect(answer.status).toBe(201);
    expect(typeof answer.body.secret).toBe('string');
  });

  it('records a kiosk event once and answers 201, not "duplicate"', async () => {
    const kiosk = await api.registerKiosk({ kioskId: 'K-HARSH-EVENT', siteId: 'site-harsh' });
    faults.force('dynamodb-internal', { command: 'TransactWriteItems', variant: true });

    const first = await api.kioskPost(kiosk, dispense({ occurredAt: new Date(await now()).toISOString() }));

    expect(first.status).toBe(201);
    expect(first.body.status).toBe('recorded');
  });
});

describe('a follow-up with more than 100 open urgent tasks', () => {
  it('keeps running and escalates them, reading its tasks in batches', async () => {
    const failedBefore = api.backend.workflows.stats().failed;
    const { body } = await enroll('P-HARSH-101', { consent: { outreach: false, part2: true } });
    for (let i = 0; i < 101; i += 1) {
      const answer = await event(body.enrollmentId, 'overdose', { fatal: false });
      expect(answer.status).toBe(201);
    }
    faults.force('dynamodb-unprocessed', { command: 'BatchGetItem', times: 3 });

    await advanceBy(DAY + HOUR);
    const tasks = (await api.allTasks(OUTREACH, 'open')).filter(
      (task: { enrollmentId?: string }) => task.enrollmentId === body.enrollmentId,
    );

    expect(api.backend.workflows.stats().failed).toBe(failedBefore);
    expect(api.backend.workflows.isRunning(body.enrollmentId)).toBe(true);
    expect(tasks.filter((task: { kind: string }) => task.kind === 'overdose-urgent')).toHaveLength(101);
    expect(tasks.every((task: { escalatedAt?: string }) => task.escalatedAt)).toBe(true);
  });
});
