import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Counters } from '../../../../functions/core/aggregates.js';
import { moudReport } from '../../../../functions/core/metrics/moud.js';
import {
  contribution,
  type EnrollmentSnapshot,
  planEnrollmentEvent,
} from '../../../../functions/core/moud/enrollments.js';
import {
  checkpoints,
  type FollowUpPlan,
  type FollowUpTask,
  followUpState,
  planFollowUp,
  supplyCheck,
} from '../../../../functions/core/moud/followup.js';
import { followUpEnd, type HistoryEntry } from '../../../../functions/core/moud/moud-history.js';
import { type EnrollmentEvent, MEDICATIONS, type Medication } from '../../../../functions/core/schemas.js';

/**
 * Contract: "every figure and every follow-up decision is the same whatever the order in which
 * the events of an enrollment were recorded". One set of events, recorded in random orders
 * through the same core functions the handlers call, gives the same cohort counters (so the same
 * report) and, once known, the same follow-up decisions. Seeded, so a failure replays.
 */
const ENROLLED_ON = '2026-01-05';
const ENROLLED_AT = '2026-01-05T10:00:00.000Z';
const TODAY = '2026-07-30'; // every event is recorded on this backend day, after the last one it dates
const DAY = 86_400_000;
const day = (offset: number) => new Date(Date.parse(ENROLLED_ON) + offset * DAY).toISOString().slice(0, 10);

const eventArbitrary: fc.Arbitrary<Omit<EnrollmentEvent, 'eventId'>> = fc
  .oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        type: fc.constant('dose' as const),
        offset: fc.integer({ min: -10, max: 200 }),
        daysSupply: fc.oneof(fc.constant(undefined), fc.integer({ min: 1, max: 30 })),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        type: fc.constantFrom('injection' as const, 'visit' as const, 'missed-visit' as const),
        offset: fc.integer({ min: -5, max: 200 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        type: fc.constant('overdose' as const),
        offset: fc.integer({ min: -20, max: 200 }),
        fatal: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('disenrolled' as const),
        offset: fc.integer({ min: 0, max: 200 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        type: fc.constant('consent' as const),
        offset: fc.integer({ min: 0, max: 200 }),
        consent: fc.record({ outreach: fc.boolean(), part2: fc.boolean() }),
      }),
    },
  )
  .map(
    ({ offset, daysSupply, ...rest }: { offset: number; daysSupply?: number; [key: string]: unknown }) => ({
      ...(rest as { type: EnrollmentEvent['type'] }),
      occurredOn: day(offset),
      ...(daysSupply === undefined ? {} : { daysSupply }),
    }),
  );

const scenario = fc.record({
  medication: fc.constantFrom(...MEDICATIONS),
  prior: fc.integer({ min: 0, max: 5 }),
  outreach: fc.boolean(),
  events: fc.array(eventArbitrary, { maxLength: 30 }),
  // Two orders of the same events: a sort key per event, for each order.
  keysA: fc.array(fc.double({ noNaN: true }), { minLength: 30, maxLength: 30 }),
  keysB: fc.array(fc.double({ noNaN: true }), { minLength: 30, maxLength: 30 }),
  // How long staff take to complete a follow-up task: from hours (before its escalation) to weeks.
  completeAfterHours: fc.integer({ min: 1, max: 40 * 24 }),
});

type Scenario = typeof scenario extends fc.Arbitrary<infer T> ? T : never;

const eventsOf = (s: Scenario): EnrollmentEvent[] =>
  s.events.map((event, i) => ({
    ...event,
    eventId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  }));

const ordered = <T>(items: readonly T[], keys: readonly number[]) =>
  items
    .map((item, i) => ({ item, key: keys[i] ?? 0, i }))
    .sort((a, b) => a.key - b.key || a.i - b.i)
    .map(({ item }) => item);

const facts = (s: Scenario) => ({
  enrolledOn: ENROLLED_ON,
  medication: s.medication,
  overdosesPrior12m: s.prior,
});

/** Records the events one by one as the handler does: the cohort row gets each difference. */
function record(s: Scenario, events: readonly EnrollmentEvent[]) {
  let snapshot: EnrollmentSnapshot = {
    ...facts(s),
    consent: { outreach: s.outreach, part2: true },
    history: [],
    contribution: contribution(facts(s), []),
  };
  const row: Counters = { ...snapshot.contribution };
  const urgent: string[] = [];
  for (const event of events) {
    const change = planEnrollmentEvent(snapshot, event, TODAY);
    for (const [name, amount] of Object.entries(change.counters)) row[name] = (row[name] ?? 0) + amount;
    if (change.urgent) urgent.push(event.eventId);
    snapshot = { ...snapshot, history: change.history, contribution: change.contribution };
  }
  const nonZero = Object.fromEntries(Object.entries(row).filter(([, value]) => value !== 0));
  return { row: nonZero, history: snapshot.history, urgent };
}

/**
 * The follow-up workflow played from enrollment to day 200 with the history known, staff completing each
 * task after the scenario's `completeAfterHours`. It wakes as the deployed one does: when its park ends, when the supply sweep finds
 * its supply check due (`supplyDueAt`), and when a task is completed; the planner sees the open tasks and
 * the follow-up task completed last, as the plan step reads them.
 */
function playFollowUp(s: Scenario, history: readonly HistoryEntry[], options: { eager?: boolean } = {}) {
  const COMPLETED_AFTER_MS = s.completeAfterHours * 3_600_000;
  let judged: string[] = [];
  let tasks: FollowUpTask[] = [];
  let lastClosed: string | undefined;
  let now = new Date(ENROLLED_AT);
  const completesAt = (task: FollowUpTask) => Date.parse(task.createdAt) + COMPLETED_AFTER_MS;
  const log: { at: string; plan: FollowUpPlan }[] = [];
  for (let step = 0; step < 400; step += 1) {
    tasks = tasks.map((task) => {
      if (task.status !== 'open' || completesAt(task) > now.getTime()) return task;
      lastClosed = task.taskId;
      return {
        ...task,
        status: 'completed' as const,
        completedAt: new Date(completesAt(task)).toISOString(),
      };
    });
    const state = followUpState(
      {
        enrollmentId: 'E-1',
        taskKey: 'k',
        siteId: 'site-1',
        enrolledOn: ENROLLED_ON,
        enrolledAt: ENROLLED_AT,
        medication: s.medication as Medication,
        consent: { outreach: s.outreach, part2: true },
        history,
        judged,
      },
      now,
    );
    const seen = tasks.filter((task) => task.status === 'open' || task.taskId === lastClosed);
    const plan = planFollowUp(state, seen, now);
    log.push({ at: now.toISOString(), plan });
    judged = [...judged, ...plan.judged];
    if (plan.open) {
      const { checkId: _check, ...opened } = plan.open;
      tasks = [...tasks, { ...opened, status: 'open' }];
    }
    tasks = tasks.map((task) => ({
      ...task,
      ...(plan.escalate.includes(task.taskId) ? { escalatedAt: now.toISOString() } : {}),
      ...(plan.next.action === 'notify' && plan.next.taskId === task.taskId
        ? { pendingNotice: undefined }
        : {}),
    }));
    if (plan.next.action === 'end') break;
    if (plan.next.action === 'park') {
      const wakes = [
        Date.parse(plan.next.until),
        ...(plan.supplyDueAt ? [Date.parse(plan.supplyDueAt)] : []),
        ...tasks.filter((task) => task.status === 'open').map(completesAt),
        // Eager: as the workflow did before, waking at every check, even one that would only be folded.
        ...(options.eager
          ? [...checkpoints(ENROLLED_AT), ...(supplyCheck(state) ? [supplyCheck(state)!] : [])]
              .map((check) => Date.parse(check.dueAt))
              .filter((time) => time > now.getTime())
          : []),
      ];
      now = new Date(Math.max(now.getTime() + 1, Math.min(...wakes)));
    }
    if (now.getTime() > Date.parse(ENROLLED_AT) + 200 * DAY) break;
  }
  return log;
}

const PARAMETERS = { seed: 20_260_105, numRuns: 250 };

describe('one set of MOUD events recorded in any order', () => {
  it('leaves the same cohort counters, and so the same report, whatever the order', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const events = eventsOf(s);
        const a = record(s, ordered(events, s.keysA));
        const b = record(s, ordered(events, s.keysB));

        expect(a.row).toEqual(b.row);
        // ... and that row is what the whole history contributes, computed at once.
        expect(a.row).toEqual(contribution(facts(s), a.history));
        const report = (row: Counters) =>
          moudReport([{ day: ENROLLED_ON, siteId: 'site-1', counters: row }], {
            from: ENROLLED_ON,
            to: TODAY,
            raw: true,
            asOf: `${TODAY}T12:00:00.000Z`,
          });
        expect(report(a.row)).toEqual(report(b.row));
      }),
      PARAMETERS,
    );
  });

  it('makes the same follow-up decisions from the same recorded events, whatever order they came in', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const events = eventsOf(s);
        const a = record(s, ordered(events, s.keysA));
        const b = record(s, ordered(events, s.keysB));

        expect(playFollowUp(s, b.history)).toEqual(playFollowUp(s, a.history));
      }),
      { ...PARAMETERS, numRuns: 120 },
    );
  });

  it('makes the same decisions waking only when needed as waking at every check: the same tasks opened when and as they were, the same escalations, the same end', () => {
    const decisions = (log: { at: string; plan: FollowUpPlan }[]) => ({
      opened: log.flatMap(({ at, plan }) => (plan.open ? [`${at} ${plan.open.checkId}`] : [])),
      escalated: log.flatMap(({ at, plan }) => plan.escalate.map((taskId) => `${at} ${taskId}`)),
      ended: log.find(({ plan }) => plan.next.action === 'end')?.at ?? null,
    });
    fc.assert(
      fc.property(scenario, (s) => {
        const { history } = record(s, ordered(eventsOf(s), s.keysA));

        expect(decisions(playFollowUp(s, history))).toEqual(
          decisions(playFollowUp(s, history, { eager: true })),
        );
      }),
      { ...PARAMETERS, numRuns: 120 },
    );
  });

  it('opens an urgent task for every non-fatal overdose not after the end of the follow-up in every order, and one dated after the end only if it came before the ending', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const events = eventsOf(s);
        const end = followUpEnd(
          ENROLLED_ON,
          events.map((event) => record(s, [event]).history[0]),
        );
        const within = events
          .filter((e) => e.type === 'overdose' && !e.fatal && (!end || e.occurredOn <= end.on))
          .map((e) => e.eventId)
          .sort();
        for (const keys of [s.keysA, s.keysB]) {
          const order = ordered(events, keys);
          const { urgent } = record(s, order);
          expect(urgent.filter((id) => within.includes(id)).sort()).toEqual(within);
          // An urgent task beyond those: its overdose was recorded while the ending before it was not yet known.
          for (const id of urgent.filter((candidate) => !within.includes(candidate))) {
            const overdose = order.findIndex((event) => event.eventId === id);
            const endingsBefore = order
              .slice(0, overdose)
              .filter((event) => event.type === 'disenrolled' || event.fatal);
            expect(endingsBefore.every((ending) => ending.occurredOn > order[overdose].occurredOn)).toBe(
              true,
            );
          }
        }
      }),
      PARAMETERS,
    );
  });
});
