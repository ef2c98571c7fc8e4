import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../../lib/embedded/clock.js';
import { ADMIN, dispense, OUTREACH, startTestBackend } from '../../support/backend.js';

const DAY = 86_400_000;
const clock = manualClock(new Date('2026-01-05T12:00:00.000Z'));
let api: Awaited<ReturnType<typeof startTestBackend>>;

beforeAll(async () => {
  api = await startTestBackend({}, undefined, clock);
});
afterAll(async () => {
  await api.backend.stop();
});

const day = (offset: number) =>
  new Date(Date.parse('2026-01-05T00:00:00Z') + offset * DAY).toISOString().slice(0, 10);

async function advanceTo(offset: number) {
  clock.set(new Date(Date.parse('2026-01-05T12:00:00Z') + offset * DAY));
  await api.backend.workflows.idle();
}

async function enroll(siteId: string, medication: string, overdosesPrior12m: number, enrolledOn: string) {
  const answer = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
    participantRef: `P-${randomUUID().slice(0, 8)}`,
    siteId,
    enrolledOn,
    medication,
    overdosesPrior12m,
    consent: { outreach: false, part2: true },
  });
  expect(answer.status, answer.text).toBe(201);
  return answer.body.enrollmentId as string;
}

const record = (
  enrollmentId: string,
  type: string,
  occurredOn: string,
  extra: Record<string, unknown> = {},
) =>
  api.staff(OUTREACH, 'POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
    eventId: randomUUID(),
    type,
    occurredOn,
    ...extra,
  });

describe('the MOUD report over recorded data', () => {
  it('computes enrollments, retention and overdose rates before and after enrollment by its documented definitions', async () => {
    // Three people enrolled on day 0 at site-r, watched through day 100.
    await advanceTo(100);
    const steady = await enroll('site-r', 'buprenorphine-er-monthly', 2, day(0));
    const lapsed = await enroll('site-r', 'buprenorphine-er-monthly', 3, day(0));
    const left = await enroll('site-r', 'methadone', 1, day(0));
    // steady: injections every 28 days cover 0..92 → continuous through 30 and 90.
    for (const d of [0, 28, 56, 84]) expect((await record(steady, 'injection', day(d))).status).toBe(201);
    // lapsed: one injection (covers 0..30), then nothing: the 8th uncovered day is day 38.
    await record(lapsed, 'injection', day(0));
    await record(lapsed, 'overdose', day(40), { fatal: false });
    // left: a dose on day 0 only (gap from day 1), an overdose on day 5, disenrolled on day 20.
    await record(left, 'dose', day(0));
    await record(left, 'overdose', day(5), { fatal: false });
    await record(left, 'disenrolled', day(20));
    await record(left, 'overdose', day(30), { fatal: false }); // after the follow-up ended: not counted

    const report = (
      await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(0)}&to=${day(100)}&siteId=site-r&raw=true`)
    ).body;

    expect(report.enrollments).toBe(3);
    expect(report.activeAtTo).toBe(2);
    expect(report.disenrollments).toBe(1);
    expect(report.deaths).toBe(0);
    expect(report.retention['30']).toEqual({ retained: 2, eligible: 3, rate: 2 / 3 });
    expect(report.retention['90']).toEqual({ retained: 1, eligible: 3, rate: 1 / 3 });
    expect(report.retention['180']).toEqual({ retained: 0, eligible: 0, rate: null });
    // Before: 2 + 3 + 1 = 6 overdoses over 3 × 12 member-months.
    expect(report.overdoseRate.before).toEqual({
      overdoses: 6,
      personMonths: 36,
      per1000MemberMonths: (6 / 36) * 1000,
    });
    // After: days 0..100 inclusive for two people (101 each), 0..20 for the one who left (21).
    const months = (101 + 101 + 21) / 30.4375;
    expect(report.overdoseRate.after.overdoses).toBe(2);
    expect(report.overdoseRate.after.personMonths).toBeCloseTo(months, 9);
    expect(report.overdoseRate.after.per1000MemberMonths).toBeCloseTo((2 / months) * 1000, 9);
    expect(report.overdoseRate.reduction).toBeCloseTo(1 - 2 / months / (6 / 36), 9);
    expect(report.definitionsVersion).toMatch(/^moud-/);
    expect(report.definitions.retention.numerator).toContain('continuous');
  });

  it('counts person-time only up to `to`, and leaves enrollees after `to` out of the cohort', async () => {
    const early = (
      await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(0)}&to=${day(10)}&siteId=site-r&raw=true`)
    ).body;
    expect(early.enrollments).toBe(3);
    expect(early.overdoseRate.after.overdoses).toBe(1);
    expect(early.overdoseRate.after.personMonths).toBeCloseTo((3 * 11) / 30.4375, 9);
    expect(early.retention['30'].eligible).toBe(0);
    const later = (
      await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(1)}&to=${day(100)}&siteId=site-r&raw=true`)
    ).body;
    expect(later.enrollments).toBe(0);
  });

  it('shows small counts as "<11", totals included, and rates from them as suppressed, unless raw=true', async () => {
    const suppressed = (await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(0)}&to=${day(100)}`)).body;
    const raw = (await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(0)}&to=${day(100)}&raw=true`))
      .body;
    expect(suppressed).toMatchObject({ enrollments: '<11', activeAtTo: '<11', smallCellsSuppressed: true });
    expect(suppressed.overdoseRate.reduction).toBe('suppressed');
    expect(suppressed.bySite).toEqual([expect.objectContaining({ siteId: 'site-r', enrollments: '<11' })]);
    expect(raw.enrollments).toBe(3);
    expect(raw.bySite).toEqual([expect.objectContaining({ siteId: 'site-r', enrollments: 3 })]);
  });

  it('answers the MOUD report as CSV with every nested figure on its own line', async () => {
    const csv = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/moud?from=${day(0)}&to=${day(100)}&siteId=site-r&raw=true&format=csv`,
    );
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.headers.get('content-disposition')).toBe(
      `attachment; filename="bridgeway-moud-${day(0)}-to-${day(100)}-site-r.csv"`,
    );
    expect(csv.text).toContain('\r\ntotal,30.rate,retention,0.6667\r\n');
    expect(csv.text).toContain('\r\ntotal,before.overdoses,overdoseRate,6\r\n');
    expect(csv.text).toMatch(/\r\ndefinitions,retention,coverage,/);
  });

  it('reads the same number of aggregate items whatever the number of events', async () => {
    const id = await enroll('site-r', 'methadone', 0, day(0));
    await api.backend.workflows.idle(); // the follow-up judges the past checkpoints (a task opens) first
    const before = (await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(0)}&to=${day(100)}`)).body
      .itemsRead;
    for (let d = 0; d < 30; d += 1) await record(id, 'dose', day(d));
    const after = (await api.staff(ADMIN, 'GET', `/v1/reports/moud?from=${day(0)}&to=${day(100)}`)).body
      .itemsRead;
    expect(after).toBe(before);
  });
});

describe('late and back-dated entries', () => {
  const figures = async (siteId: string) => {
    const {
      asOf: _a,
      generatedAt: _g,
      itemsRead: _i,
      siteId: _s,
      ...rest
    } = (
      await api.staff(
        ADMIN,
        'GET',
        `/v1/reports/moud?from=${day(200)}&to=${day(330)}&siteId=${siteId}&raw=true`,
      )
    ).body;
    return rest;
  };

  it('counts no overdose dated after a disenrollment recorded later, nor one after a death recorded later (the issue’s cases)', async () => {
    // Arrange: day 200 is the enrollment day; the clock stands at day 300.
    await advanceTo(300);
    const first = await enroll('site-late-a', 'methadone', 2, day(200));
    const second = await enroll('site-late-b', 'methadone', 2, day(200));

    // Act: overdose on day 250 recorded, then a disenrollment on day 245; overdose on 270, then a death on 260.
    await record(first, 'overdose', day(250), { fatal: false });
    await record(first, 'disenrolled', day(245));
    await record(second, 'overdose', day(270), { fatal: false });
    await record(second, 'overdose', day(260), { fatal: true });

    // Assert
    expect((await figures('site-late-a')).overdoseRate.after.overdoses).toBe(0);
    expect((await figures('site-late-b')).overdoseRate.after.overdoses).toBe(1);
    expect((await figures('site-late-b')).deaths).toBe(1);
  });

  it('runs a finished follow-up again to escalate the urgent task of an overdose recorded after its end, dated before it', async () => {
    // Arrange: the disenrollment of day 290 ends the follow-up once the task it had open is escalated.
    await advanceTo(300);
    const id = await enroll('site-late-c', 'methadone', 1, day(200));
    await record(id, 'disenrolled', day(290));
    await advanceTo(302);
    expect(api.backend.workflows.isRunning(id)).toBe(false);

    // Act: an overdose of day 280 is recorded now; a day passes.
    await record(id, 'overdose', day(280), { fatal: false });
    await advanceTo(303.5);

    // Assert
    const urgent = (await api.allTasks(ADMIN)).filter(
      (task: { enrollmentId?: string; kind: string }) =>
        task.enrollmentId === id && task.kind === 'overdose-urgent',
    );
    expect(urgent).toHaveLength(1);
    expect(urgent[0].escalatedAt).toEqual(expect.any(String));
  });

  it('gives the same figures for the same events recorded in the opposite order', async () => {
    // Arrange
    const events: [string, string, Record<string, unknown>?][] = [
      ['dose', day(200), { daysSupply: 14 }],
      ['dose', day(210), { daysSupply: 14 }],
      ['visit', day(214)],
      ['overdose', day(230), { fatal: false }],
      ['dose', day(238), { daysSupply: 7 }],
      ['disenrolled', day(250)],
      ['overdose', day(260), { fatal: false }],
    ];
    const forward = await enroll('site-order-a', 'buprenorphine-sublingual', 3, day(200));
    const backward = await enroll('site-order-b', 'buprenorphine-sublingual', 3, day(200));

    // Act
    for (const [type, on, extra] of events) await record(forward, type, on, extra);
    for (const [type, on, extra] of [...events].reverse()) await record(backward, type, on, extra);

    // Assert: every cohort figure is the same.
    const { outreach: outreachA, bySite: sitesA, ...a } = await figures('site-order-a');
    const { outreach: outreachB, bySite: sitesB, ...b } = await figures('site-order-b');
    expect(a).toEqual(b);
    const { siteId: _a, ...siteA } = sitesA[0];
    const { siteId: _b, ...siteB } = sitesB[0];
    expect(siteA).toEqual(siteB);
    expect(a.overdoseRate.after.overdoses).toBe(1);
    // The outreach figures count the tasks as they were opened: the overdose of day 260, recorded
    // before the disenrollment of day 250 was, opened its urgent task at once (the one decision made
    // on what was known then); recorded after it, it opens none.
    expect(outreachA.opened.byKind['overdose-urgent']).toBe(1);
    expect(outreachB.opened.byKind['overdose-urgent']).toBe(2);
    // 14 days from day 200, carried forward from 210 to 227, then 238..244: continuous through day 30.
    expect(a.retention['30']).toMatchObject({ retained: 1, eligible: 1 });
  });
});

describe('kiosk contact tasks nobody completes', () => {
  it('escalates a kiosk contact task once, 24 hours after it opened, and never a completed one', async () => {
    const kiosk = await api.registerKiosk({ siteId: 'site-esc' });
    await advanceTo(101);
    const occurredAt = clock.now().toISOString();
    await api.kioskPost(
      kiosk,
      dispense({ occurredAt, contactRequest: { phone: '+15555550188', topic: 'treatment' } }),
    );
    await api.kioskPost(
      kiosk,
      dispense({ occurredAt, contactRequest: { phone: '+15555550189', topic: 'other' } }),
    );
    const tasks = (await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=open')).body.tasks.filter(
      (t: { kioskId?: string }) => t.kioskId === kiosk.kioskId,
    );
    await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${tasks[1].taskId}/complete`, {
      outcome: 'reached',
    });
    const escalations = () =>
      api
        .outbox()
        .filter((l) => l.topic === 'outreach-escalation' && JSON.parse(l.message).kioskId === kiosk.kioskId);

    // The relay escalates; the outbox table's stream publishes: wait for both, as for any stream.
    clock.advance(23 * 3_600_000);
    await api.backend.relayOutbox();
    await api.backend.streams.drained();
    expect(escalations()).toHaveLength(0);
    clock.advance(2 * 3_600_000);
    await api.backend.relayOutbox();
    await api.backend.relayOutbox();
    await api.backend.streams.drained();

    expect(escalations()).toHaveLength(1);
    expect(JSON.parse(escalations()[0].message)).toMatchObject({
      taskId: tasks[0].taskId,
      kioskId: kiosk.kioskId,
    });
    expect(escalations()[0].message).not.toContain('5555550188');
  });
});
