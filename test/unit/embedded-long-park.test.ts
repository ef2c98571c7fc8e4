/**
 * A follow-up parks for as long as its plan says: months, up to day 180. The embedded runtime runs the
 * synthesized state machine in aws-local-stepfunctions, which arms a real-time Node timer for every
 * Task, and a Node timer holds at most 2^31 - 1 ms (24.8 days). Here a park of 60 days runs on a clock
 * at real speed (TIME_SCALE=1), with the real definition and interpreter; only time is faked (vitest's
 * fake timers, also behind Date.now), so nothing depends on the wall clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { openClock } from '../../lib/embedded/clock.js';
import {
  forInterpreter,
  INTERPRETER_TIMEOUT_SECONDS,
  type LocalWorkflowEngine,
  localWorkflows,
  synthesizeFollowUpDefinition,
} from '../../lib/embedded/workflows.js';
import { FOLLOW_UP_STATES } from '../../lib/workflows/follow-up.js';

const DAY_MS = 86_400_000;
const START = Date.parse('2026-01-05T10:00:00.000Z');
const PARK_DAYS = 60;

let definition: Record<string, unknown>;
let dataDir: string;
let engine: LocalWorkflowEngine | undefined;

beforeAll(async () => {
  // Synthesized (or read from its cache) before the timers are faked.
  definition = await synthesizeFollowUpDefinition();
}, 120_000);

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-long-park-'));
  vi.useFakeTimers({ now: START });
});

afterEach(() => {
  engine?.stop();
  vi.useRealTimers();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('a park longer than a Node timer holds', () => {
  it('gives the interpreter a Park timeout a Node timer can hold, and a retrier that takes the same wait up again', () => {
    const park = (forInterpreter(definition) as { States: Record<string, Record<string, unknown>> }).States[
      FOLLOW_UP_STATES.park
    ];

    expect(INTERPRETER_TIMEOUT_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
    expect(park.TimeoutSeconds).toBe(INTERPRETER_TIMEOUT_SECONDS);
    expect(park.TimeoutSecondsPath).toBeUndefined();
    expect((park.Retry as { ErrorEquals: string[] }[])[0].ErrorEquals).toEqual(['States.Timeout']);
  });

  it('wakes at its time 60 days later, not at the 24.8-day ceiling, in the same wait and with no extra state entered', async () => {
    const clock = openClock(dataDir, { CLOCK_START: new Date(START).toISOString(), TIME_SCALE: '1' });
    const until = new Date(START + PARK_DAYS * DAY_MS).toISOString();
    const plans: string[] = [];
    const parks: string[] = [];
    engine = localWorkflows({
      definition,
      clock,
      publish: async () => undefined,
      log: () => undefined,
      steps: async (input) => {
        const { step } = input as { step: string };
        if (step === 'plan') {
          plans.push(clock.now().toISOString());
          // Park once for 60 days, then end.
          return plans.length === 1
            ? { action: 'park', seq: 1, until, waitSeconds: PARK_DAYS * 86_400 }
            : { action: 'end', seq: 1 };
        }
        if (step === 'park') parks.push(clock.now().toISOString());
        return {};
      },
    });

    await engine.serve('StartExecution', {
      name: 'E-long',
      input: JSON.stringify({ enrollmentId: 'E-long' }),
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(plans).toHaveLength(1);
    expect(engine.isRunning('E-long')).toBe(true);

    // Past the interpreter's own ceiling (24.8 days) and well beyond: still the same park.
    await vi.advanceTimersByTimeAsync(40 * DAY_MS);
    expect(plans).toHaveLength(1);
    expect(parks).toHaveLength(1);
    expect(engine.isRunning('E-long')).toBe(true);

    // Its time comes: it plans again (and ends), at 60 days.
    await vi.advanceTimersByTimeAsync(20 * DAY_MS);
    expect(plans).toHaveLength(2);
    expect(Date.parse(plans[1]) - Date.parse(until)).toBeGreaterThanOrEqual(0);
    expect(Date.parse(plans[1]) - Date.parse(until)).toBeLessThan(60_000);
    expect(engine.isRunning('E-long')).toBe(false);
    // Plan, Route, Park, Plan, Route, FollowUpDone: the retry at the ceiling is not a state entered.
    expect(engine.stats().transitionsByExecution.get('E-long')).toBe(6);
  });
});
