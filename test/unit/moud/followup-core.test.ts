import { describe, expect, it } from 'vitest';
import {
  CHECKPOINTS,
  checkpoints,
  coverageDays,
  engagedAt,
  type FollowUpState,
  type FollowUpTask,
  followUpState,
  planFollowUp,
  supplyCheck,
} from '../../../functions/core/moud/followup.js';
import type { Medication } from '../../../functions/core/schemas.js';
import { ESCALATION_MS } from '../../../functions/core/staff/tasks.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ENROLLED_ON = '2026-03-02';
/** The backend's time of day when the enrollment was recorded: 14:30 UTC. */
const ENROLLED_AT = '2026-03-02T14:30:00.000Z';
const ENROLLMENT_ID = 'E-0123456789abcdef01234567';

/** The backend's time `dayIndex` days (plus `extraMs`) after the enrollment was recorded. */
const atDay = (dayIndex: number, extraMs = 0) => new Date(Date.parse(ENROLLED_AT) + dayIndex * DAY + extraMs);
const iso = (dayIndex: number, extraMs = 0) => atDay(dayIndex, extraMs).toISOString();
/** The calendar day `dayIndex` days after enrolledOn, as events record it. */
const day = (dayIndex: number) =>
  new Date(Date.parse(ENROLLED_ON) + dayIndex * DAY).toISOString().slice(0, 10);
const days = (...indexes: number[]) => indexes.map(day);

/** Recorded activity by kind (one-day doses), as the history lists it. */
interface Activity {
  readonly doseDays?: readonly string[];
  readonly injectionDays?: readonly string[];
  readonly visitDays?: readonly string[];
}

function state(overrides: Partial<FollowUpState> & Activity = {}): FollowUpState {
  const { doseDays = [], injectionDays = [], visitDays = [], history = [], ...rest } = overrides;
  return {
    enrollmentId: ENROLLMENT_ID,
    siteId: 'site-7',
    enrolledOn: ENROLLED_ON,
    enrolledAt: ENROLLED_AT,
    medication: 'methadone',
    consentOutreach: true,
    history: [
      ...history,
      ...doseDays.map((d) => ({ type: 'dose' as const, day: d, daysSupply: 1 })),
      ...injectionDays.map((d) => ({ type: 'injection' as const, day: d })),
      ...visitDays.map((d) => ({ type: 'visit' as const, day: d })),
    ],
    judged: [],
    ...rest,
  };
}

function task(overrides: Partial<FollowUpTask> = {}): FollowUpTask {
  return {
    taskId: `T-${ENROLLMENT_ID}-checkpoint-72h`,
    kind: 'checkpoint-72h',
    status: 'open',
    dueAt: iso(3),
    createdAt: iso(3),
    escalateAt: iso(4),
    ...overrides,
  };
}

/**
 * Plays the workflow without tasks from `from` on: plan, record what was judged,
 * park until the plan says, until the first task opens (or the follow-up ends).
 */
function firstOpening(start: FollowUpState, from: Date) {
  let current = start;
  let now = from;
  for (let step = 0; step < 50; step += 1) {
    const plan = planFollowUp(current, [], now);
    if (plan.open) return { at: now.toISOString(), open: plan.open, judgedBefore: current.judged };
    current = { ...current, judged: [...current.judged, ...plan.judged] };
    if (plan.next.action !== 'park') return undefined;
    // The workflow wakes when its park ends, or earlier when the supply sweep finds its supply check due.
    now = new Date(Math.min(Date.parse(plan.next.until), Date.parse(plan.supplyDueAt ?? plan.next.until)));
  }
  throw new Error('the plan never opened a task nor ended');
}

describe('the checkpoints of an enrollment', () => {
  it('falls due 72 hours and 7, 30, 90 and 180 days after the enrollment was recorded, at its time of day', () => {
    expect(checkpoints(ENROLLED_AT)).toEqual([
      { kind: 'checkpoint-72h', dueAt: '2026-03-05T14:30:00.000Z' },
      { kind: 'checkpoint-7d', dueAt: '2026-03-09T14:30:00.000Z' },
      { kind: 'checkpoint-30d', dueAt: '2026-04-01T14:30:00.000Z' },
      { kind: 'checkpoint-90d', dueAt: '2026-05-31T14:30:00.000Z' },
      { kind: 'checkpoint-180d', dueAt: '2026-08-29T14:30:00.000Z' },
    ]);
  });

  it('keeps the time of day of enrolledAt to the millisecond, whatever the time of day', () => {
    const enrolledAt = '2026-10-30T23:59:59.999Z';

    const dueTimes = checkpoints(enrolledAt).map((checkpoint) => checkpoint.dueAt);

    expect(dueTimes.map((dueAt) => dueAt.slice(10))).toEqual(Array(5).fill('T23:59:59.999Z'));
    expect(dueTimes.map((dueAt) => (Date.parse(dueAt) - Date.parse(enrolledAt)) / DAY)).toEqual([
      3, 7, 30, 90, 180,
    ]);
  });
});

describe('days of coverage', () => {
  it.each<[Medication, 'dose' | 'injection' | 'visit', number]>([
    ['buprenorphine-er-monthly', 'injection', 31],
    ['buprenorphine-er-weekly', 'injection', 7],
    ['naltrexone-er', 'injection', 28],
    ['methadone', 'dose', 1],
    ['buprenorphine-sublingual', 'dose', 1],
    ['buprenorphine-er-monthly', 'visit', 1],
    ['buprenorphine-er-monthly', 'dose', 1],
  ])('a %s %s covers %i day(s)', (medication, type, expected) => {
    expect(coverageDays(medication, type)).toBe(expected);
  });
});

describe('engagement at a checkpoint', () => {
  it('counts an activity whose coverage reaches into the window since the previous checkpoint', () => {
    const monthly = state({ medication: 'buprenorphine-er-monthly', injectionDays: days(0) });

    // Covered days 0-30: the windows [0,3], [4,7] and [8,30] are covered, [31,90] is not.
    expect([0, 1, 2, 3, 4].map((index) => engagedAt(monthly, index))).toEqual([
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('does not count a dose from before the previous checkpoint for the next one', () => {
    const daily = state({ doseDays: days(0, 1, 2, 3) });

    expect(engagedAt(daily, 0)).toBe(true);
    expect(engagedAt(daily, 1)).toBe(false);
  });
});

describe('supply checks', () => {
  it.each<[Medication, number, string]>([
    ['buprenorphine-er-monthly', 31, 'missed-injection'],
    ['buprenorphine-er-weekly', 9, 'missed-injection'],
    ['naltrexone-er', 30, 'missed-injection'],
  ])('after a %s injection on day 0 the next one is checked on day %i', (medication, dueDay, kind) => {
    expect(supplyCheck(state({ medication, injectionDays: days(0) }))).toEqual({
      id: 'supply-0',
      kind,
      dueAt: iso(dueDay),
      dayIndex: dueDay,
    });
  });

  it('checks a daily medication 7 days after its last recorded activity, whatever the kind', () => {
    const daily = state({ doseDays: days(0, 1, 2), visitDays: days(5), injectionDays: [] });

    expect(supplyCheck(daily)).toEqual({ id: 'supply-5', kind: 'supply-gap', dueAt: iso(12), dayIndex: 12 });
  });

  it('counts only injections for an injectable medication', () => {
    const monthly = state({
      medication: 'buprenorphine-er-monthly',
      injectionDays: days(0),
      visitDays: days(20),
      doseDays: days(25),
    });

    expect(supplyCheck(monthly)?.id).toBe('supply-0');
    expect(supplyCheck(monthly)?.dayIndex).toBe(31);
  });

  it('plans a supply check on day 180 but none beyond it', () => {
    expect(supplyCheck(state({ doseDays: days(173) }))?.dayIndex).toBe(180);
    expect(supplyCheck(state({ doseDays: days(174) }))).toBeUndefined();
    expect(
      supplyCheck(state({ medication: 'buprenorphine-er-monthly', injectionDays: days(150) })),
    ).toBeUndefined();
  });
});

describe('planning the follow-up of an engaged person', () => {
  it('opens nothing at the 72-hour checkpoint and parks until the 7-day checkpoint', () => {
    const engaged = state({ doseDays: days(0, 1, 2, 3) });

    const plan = planFollowUp(engaged, [], atDay(3));

    expect(plan.judged).toEqual(['checkpoint-72h']);
    expect(plan.open).toBeUndefined();
    expect(plan.escalate).toEqual([]);
    expect(plan.next).toEqual({ action: 'park', until: iso(7) });
    expect(plan.finished).toBe(false);
  });

  it('parks until the next checkpoint, not the supply check before it, and leaves that check to the supply sweep', () => {
    const engaged = state({
      doseDays: days(0, 4, 5, 6, 7, 8, 9, 10),
      judged: ['checkpoint-72h', 'checkpoint-7d'],
    });

    const plan = planFollowUp(engaged, [], atDay(10, HOUR));

    expect(plan.judged).toEqual([]);
    expect(plan.next).toEqual({ action: 'park', until: iso(30) });
    // The last dose covers day 10: the sweep wakes the follow-up on day 17 if nothing comes before.
    expect(plan.supplyDueAt).toBe(iso(17));
  });

  it('does not judge a check before its due time', () => {
    const plan = planFollowUp(state(), [], atDay(3, -1));

    expect(plan.judged).toEqual([]);
    expect(plan.open).toBeUndefined();
    expect(plan.next).toEqual({ action: 'park', until: iso(3) });
  });
});

describe('planning the follow-up of a person with no recorded activity', () => {
  it('opens one checkpoint-72h task at day 3 and notifies outreach first, with consent', () => {
    const plan = planFollowUp(state(), [], atDay(3));

    expect(plan.judged).toEqual(['checkpoint-72h']);
    expect(plan.open).toEqual({
      checkId: 'checkpoint-72h',
      taskId: `T-${ENROLLMENT_ID}-checkpoint-72h`,
      kind: 'checkpoint-72h',
      dueAt: iso(3),
      createdAt: iso(3),
      escalateAt: iso(4),
      pendingNotice: 'outreach',
    });
    expect(plan.next).toEqual({
      action: 'notify',
      taskId: `T-${ENROLLMENT_ID}-checkpoint-72h`,
      notice: 'outreach',
    });
  });

  it('opens the task without a notice and parks until its escalation time, without consent', () => {
    const plan = planFollowUp(state({ consentOutreach: false }), [], atDay(3));

    expect(plan.open?.kind).toBe('checkpoint-72h');
    expect(plan.open).not.toHaveProperty('pendingNotice');
    expect(plan.next).toEqual({ action: 'park', until: iso(4) });
  });

  it('judges every past checkpoint at once and opens one task for the earliest, folding the rest', () => {
    // Recorded ten days late: 72 h, 7 days and the daily supply check (day 7) are all past.
    const plan = planFollowUp(state(), [], atDay(10));

    expect(plan.judged).toEqual(['checkpoint-72h', 'checkpoint-7d', 'supply-none']);
    expect(plan.open).toMatchObject({ checkId: 'checkpoint-72h', createdAt: iso(10), escalateAt: iso(11) });
  });
});

describe('at most one open follow-up task', () => {
  it('folds a check that falls due while a follow-up task is open into it', () => {
    const plan = planFollowUp(
      state({ judged: ['checkpoint-72h'] }),
      [task({ escalatedAt: iso(4) })],
      atDay(7),
    );

    expect(plan.judged).toEqual(['checkpoint-7d', 'supply-none']);
    expect(plan.open).toBeUndefined();
    expect(plan.next.action).toBe('park');
  });

  it('opens a follow-up task although an urgent overdose task is open', () => {
    const urgent = task({
      taskId: `T-${ENROLLMENT_ID}-overdose-1`,
      kind: 'overdose-urgent',
      urgent: true,
      createdAt: iso(2, 20 * HOUR),
      escalateAt: iso(3, 20 * HOUR),
    });

    const plan = planFollowUp(state(), [urgent], atDay(3));

    expect(plan.open?.kind).toBe('checkpoint-72h');
  });

  it('does not wake for a checkpoint that would only be folded into the open task, nor keep a supply check for the sweep', () => {
    const plan = planFollowUp(
      state({ judged: ['checkpoint-72h'] }),
      [task({ escalatedAt: iso(4) })],
      atDay(4),
    );

    expect(plan.next).toEqual({ action: 'park', until: iso(180) });
    expect(plan.supplyDueAt).toBeUndefined();
  });

  it('folds the checks that fell due while a task was open when they are judged after its completion, and judges the later ones as usual', () => {
    // The task opened on day 3 was completed on day 20: the plan its completion wakes runs a little later.
    const closed = task({ status: 'completed', escalatedAt: iso(4), completedAt: iso(20) });

    const afterCompletion = planFollowUp(state({ judged: ['checkpoint-72h'] }), [closed], atDay(20, HOUR));
    const atDay30 = planFollowUp(
      state({ judged: ['checkpoint-72h', ...afterCompletion.judged] }),
      [closed],
      atDay(30),
    );

    expect(afterCompletion.judged).toEqual(['checkpoint-7d', 'supply-none']);
    expect(afterCompletion.open).toBeUndefined();
    expect(afterCompletion.next).toEqual({ action: 'park', until: iso(30) });
    expect(atDay30.open).toMatchObject({ checkId: 'checkpoint-30d' });
  });

  it('decides the same whether a plan ran at each check while the task was open or only after its completion', () => {
    const closedOn = (dayIndex: number) =>
      task({ status: 'completed', escalatedAt: iso(4), completedAt: iso(dayIndex) });
    const openTask = task({ escalatedAt: iso(4) });
    const eager = ['checkpoint-72h'];
    for (const dayIndex of [7, 30])
      eager.push(...planFollowUp(state({ judged: eager }), [openTask], atDay(dayIndex)).judged);

    const eagerAfter = planFollowUp(state({ judged: eager }), [closedOn(40)], atDay(40));
    const lazyAfter = planFollowUp(state({ judged: ['checkpoint-72h'] }), [closedOn(40)], atDay(40));

    expect(lazyAfter.open).toEqual(eagerAfter.open);
    expect(lazyAfter.next).toEqual(eagerAfter.next);
    expect([...lazyAfter.judged].sort()).toEqual([...eager.slice(1), ...eagerAfter.judged].sort());
  });

  it('opens a task again once the previous one is completed', () => {
    const plan = planFollowUp(
      state({ judged: ['checkpoint-72h'] }),
      [task({ status: 'completed' })],
      atDay(7),
    );

    expect(plan.open?.checkId).toBe('checkpoint-7d');
  });
});

describe('escalation', () => {
  const opened = () => state({ judged: ['checkpoint-72h'] });

  it('does not escalate an open task a millisecond before 24 hours', () => {
    const plan = planFollowUp(opened(), [task()], atDay(4, -1));

    expect(plan.escalate).toEqual([]);
    expect(plan.next).toEqual({ action: 'park', until: iso(4) });
  });

  it('escalates an open task 24 hours after it opened and notifies the escalation', () => {
    const plan = planFollowUp(opened(), [task()], atDay(3, ESCALATION_MS));

    expect(plan.escalate).toEqual([`T-${ENROLLMENT_ID}-checkpoint-72h`]);
    expect(plan.next).toEqual({
      action: 'notify',
      taskId: `T-${ENROLLMENT_ID}-checkpoint-72h`,
      notice: 'escalation',
    });
  });

  it('does not escalate a task again once escalatedAt is set', () => {
    const plan = planFollowUp(opened(), [task({ escalatedAt: iso(4) })], atDay(5));

    expect(plan.escalate).toEqual([]);
    // Checkpoints falling due meanwhile would only be folded into the open task: the next wake is day 180.
    expect(plan.next).toEqual({ action: 'park', until: iso(180) });
  });

  it('escalates without a message when there is no outreach consent', () => {
    const plan = planFollowUp(
      state({ judged: ['checkpoint-72h'], consentOutreach: false }),
      [task()],
      atDay(4),
    );

    expect(plan.escalate).toEqual([`T-${ENROLLMENT_ID}-checkpoint-72h`]);
    expect(plan.next).toEqual({ action: 'park', until: iso(180) });
  });

  it('does not escalate a completed task', () => {
    const plan = planFollowUp(opened(), [task({ status: 'completed' })], atDay(5));

    expect(plan.escalate).toEqual([]);
  });

  it('sends a pending notice left by an earlier step before parking', () => {
    const plan = planFollowUp(
      opened(),
      [task({ escalatedAt: iso(4), pendingNotice: 'escalation' })],
      atDay(4, HOUR),
    );

    expect(plan.next).toEqual({
      action: 'notify',
      taskId: `T-${ENROLLMENT_ID}-checkpoint-72h`,
      notice: 'escalation',
    });
  });
});

describe('which notice goes first', () => {
  it('sends the outreach notice of a newly opened task before an escalation due at the same time', () => {
    const urgent = task({
      taskId: `T-${ENROLLMENT_ID}-overdose-1`,
      kind: 'overdose-urgent',
      urgent: true,
      createdAt: iso(2),
      escalateAt: iso(3),
    });

    const plan = planFollowUp(state(), [urgent], atDay(3));

    expect(plan.escalate).toEqual([`T-${ENROLLMENT_ID}-overdose-1`]);
    expect(plan.open?.taskId).toBe(`T-${ENROLLMENT_ID}-checkpoint-72h`);
    expect(plan.next).toEqual({
      action: 'notify',
      taskId: `T-${ENROLLMENT_ID}-checkpoint-72h`,
      notice: 'outreach',
    });
  });

  it('sends no notice at all without outreach consent, even with a notice pending', () => {
    const plan = planFollowUp(
      state({ judged: ['checkpoint-72h'], consentOutreach: false }),
      [task({ escalatedAt: iso(4), pendingNotice: 'escalation' })],
      atDay(5),
    );

    expect(plan.next.action).toBe('park');
  });
});

describe('the end of the follow-up', () => {
  it('opens nothing once the enrollment has ended, and ends when no open task awaits its escalation', () => {
    const plan = planFollowUp(
      state({ endedOn: day(2) }),
      [task({ escalateAt: iso(1), escalatedAt: iso(1) })],
      atDay(30),
    );

    expect(plan).toEqual({ judged: [], escalate: [], next: { action: 'end' }, finished: true });
  });

  it('still escalates, once, a task that was open when the enrollment ended, then ends', () => {
    const open = task({ escalateAt: iso(4) });
    const before = planFollowUp(state({ endedOn: day(3) }), [open], atDay(3));
    const due = planFollowUp(state({ endedOn: day(3) }), [open], atDay(5));
    const after = planFollowUp(state({ endedOn: day(3) }), [{ ...open, escalatedAt: iso(5) }], atDay(6));

    expect(before.open).toBeUndefined();
    expect(before.next).toEqual({ action: 'park', until: iso(4) });
    expect(due.escalate).toEqual([open.taskId]);
    expect(due.judged).toEqual([]);
    expect(after.next).toEqual({ action: 'end' });
  });

  it('ends when all five checkpoints are judged and no task is open', () => {
    const plan = planFollowUp(
      state({
        doseDays: days(100, 150, 178),
        judged: ['checkpoint-72h', 'checkpoint-7d', 'checkpoint-30d', 'checkpoint-90d'],
      }),
      [task({ status: 'completed' })],
      atDay(180),
    );

    expect(plan.judged).toEqual(['checkpoint-180d']);
    expect(plan.open).toBeUndefined();
    expect(plan.next).toEqual({ action: 'end' });
    expect(plan.finished).toBe(true);
  });

  it('does not end while a task opened at the last checkpoint still awaits its escalation, and parks exactly until then', () => {
    const plan = planFollowUp(
      state({ judged: CHECKPOINTS.map((checkpoint) => checkpoint.id) }),
      [task({ createdAt: iso(180), escalateAt: iso(181) })],
      atDay(180, HOUR),
    );

    expect(plan.next).toEqual({ action: 'park', until: iso(181) });
    expect(plan.finished).toBe(false);
  });

  it('ends when day 180 is judged and the task left open has been escalated: nobody completing it keeps no workflow running', () => {
    const plan = planFollowUp(
      state({ judged: ['checkpoint-72h', 'checkpoint-7d', 'checkpoint-30d', 'checkpoint-90d'] }),
      [task({ escalatedAt: iso(4) })],
      atDay(180),
    );

    // The checks that fell due while the task was open (the workflow did not wake for them) are folded into it.
    expect(plan.judged).toEqual(['supply-none', 'checkpoint-180d']);
    expect(plan.open).toBeUndefined();
    expect(plan.next).toEqual({ action: 'end' });
    expect(plan.finished).toBe(true);
    expect(plan.supplyDueAt).toBeUndefined();
  });

  it('ends right after escalating the last task open at day 180, once its notice is out', () => {
    const judgedAll = state({ judged: CHECKPOINTS.map((checkpoint) => checkpoint.id) });
    const open = task({ createdAt: iso(180), escalateAt: iso(181) });

    const escalating = planFollowUp(judgedAll, [open], atDay(181));
    const afterNotice = planFollowUp(judgedAll, [{ ...open, escalatedAt: iso(181) }], atDay(181));

    expect(escalating.next).toEqual({ action: 'notify', taskId: open.taskId, notice: 'escalation' });
    expect(afterNotice.next).toEqual({ action: 'end' });
  });
});

describe('long-acting injections', () => {
  it('opens no task before day 31 after a monthly injection on day 0, then a missed-injection task', () => {
    const monthly = state({ medication: 'buprenorphine-er-monthly', injectionDays: days(0) });

    const first = firstOpening(monthly, atDay(0));

    expect(first?.at).toBe(iso(31));
    expect(first?.judgedBefore).toEqual(['checkpoint-72h', 'checkpoint-7d', 'checkpoint-30d']);
    expect(first?.open).toMatchObject({ checkId: 'supply-0', kind: 'missed-injection', dueAt: iso(31) });
  });

  it('parks a monthly patient past day 30 until the day-90 checkpoint, with the supply sweep due exactly on day 31', () => {
    const monthly = state({
      medication: 'buprenorphine-er-monthly',
      injectionDays: days(0),
      judged: ['checkpoint-72h', 'checkpoint-7d', 'checkpoint-30d'],
    });

    const plan = planFollowUp(monthly, [], atDay(31, -1));

    expect(plan.open).toBeUndefined();
    expect(plan.next).toEqual({ action: 'park', until: iso(90) });
    expect(plan.supplyDueAt).toBe(iso(31));
  });

  it('opens a missed-injection task on day 9 after a weekly injection on day 0', () => {
    const first = firstOpening(
      state({ medication: 'buprenorphine-er-weekly', injectionDays: days(0) }),
      atDay(0),
    );

    expect(first?.at).toBe(iso(9));
    expect(first?.open).toMatchObject({ checkId: 'supply-0', kind: 'missed-injection' });
  });

  it('opens a missed-injection task on day 30 after a naltrexone injection on day 0', () => {
    const first = firstOpening(state({ medication: 'naltrexone-er', injectionDays: days(0) }), atDay(0));

    expect(first?.at).toBe(iso(30));
    expect(first?.open).toMatchObject({ checkId: 'supply-0', kind: 'missed-injection' });
  });

  it('opens a supply-gap task 7 days after the last dose of a daily medication', () => {
    const first = firstOpening(state({ doseDays: days(0, 1, 2, 3, 4, 5) }), atDay(0));

    expect(first?.at).toBe(iso(12));
    expect(first?.open).toMatchObject({ checkId: 'supply-5', kind: 'supply-gap', dueAt: iso(12) });
  });
});

describe('take-home supplies', () => {
  it('opens no supply-gap task while a 14-day supply lasts, and checks 7 days after it runs out', () => {
    // A 14-day supply on day 0 covers days 0..13: the first uncovered day is 14, its 7th day 20.
    const takeHome = state({ history: [{ type: 'dose', day: day(0), daysSupply: 14 }] });

    const first = firstOpening(takeHome, atDay(0));

    expect(first?.at).toBe(iso(20));
    expect(first?.open).toMatchObject({ checkId: 'supply-13', kind: 'supply-gap' });
    expect(first?.judgedBefore).toEqual(['checkpoint-72h', 'checkpoint-7d']);
  });

  it('carries an early refill forward before checking the supply', () => {
    const refilled = state({
      history: [
        { type: 'dose', day: day(10), daysSupply: 14 },
        { type: 'dose', day: day(0), daysSupply: 14 },
      ],
    });

    expect(supplyCheck(refilled)).toMatchObject({ id: 'supply-27', dayIndex: 34 });
  });

  it('is engaged at a checkpoint that a supply given before it still covers', () => {
    const takeHome = state({ history: [{ type: 'dose', day: day(1), daysSupply: 28 }] });

    expect(engagedAt(takeHome, 2)).toBe(true); // the 30-day checkpoint: days 8..30, covered through 28
  });
});

describe('the planner’s view of an enrollment', () => {
  const base = {
    enrollmentId: ENROLLMENT_ID,
    siteId: 'site-7',
    enrolledOn: ENROLLED_ON,
    enrolledAt: ENROLLED_AT,
    medication: 'methadone' as Medication,
    consent: { outreach: true, part2: true },
    judged: [],
  };

  it('takes outreach consent from the latest consent event, and the end from the earliest ending', () => {
    const view = followUpState(
      {
        ...base,
        history: [
          { type: 'overdose', day: day(30), fatal: true },
          { type: 'consent', day: day(5), outreach: false, part2: true },
          { type: 'disenrolled', day: day(20) },
        ],
      },
      atDay(40),
    );

    expect(view.consentOutreach).toBe(false);
    expect(view.endedOn).toBe(day(20));
  });

  it('decides the same plan whatever order the history was recorded in', () => {
    const history = [
      { type: 'dose', day: day(0), daysSupply: 7 },
      { type: 'visit', day: day(14) },
      { type: 'dose', day: day(3), daysSupply: 7 },
      { type: 'consent', day: day(9), outreach: false, part2: true },
    ] as const;
    const planAt = (entries: readonly (typeof history)[number][], at: Date) =>
      planFollowUp(followUpState({ ...base, history: entries }, at), [], at);

    for (const at of [atDay(3), atDay(7), atDay(17), atDay(30)]) {
      expect(planAt([...history].reverse(), at)).toEqual(planAt(history, at));
    }
  });
});

describe('parking', () => {
  it('parks a monthly patient exactly until the next checkpoint, however far (no cap, no supply re-check wake)', () => {
    const monthly = state({
      medication: 'buprenorphine-er-monthly',
      injectionDays: days(0, 30),
      judged: ['checkpoint-72h', 'checkpoint-7d', 'checkpoint-30d'],
    });

    const plan = planFollowUp(monthly, [], atDay(31));

    // 59 days: the day-90 checkpoint. The supply check of the day-30 injection (day 61) is the sweep's.
    expect(plan.next).toEqual({ action: 'park', until: iso(90) });
    expect(plan.supplyDueAt).toBe(iso(61));
  });

  it('parks until the earliest of the next check and the escalation of an open task', () => {
    const plan = planFollowUp(
      state({ doseDays: days(4, 5), judged: ['checkpoint-72h'] }),
      [task({ kind: 'overdose-urgent', urgent: true, escalateAt: iso(6) })],
      atDay(5),
    );

    expect(plan.next).toEqual({ action: 'park', until: iso(6) });
  });
});
