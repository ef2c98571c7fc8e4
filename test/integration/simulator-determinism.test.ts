import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type SimulationResult, simulate } from '../../scripts/sim/simulate.js';
import { ADMIN, OUTREACH } from '../support/backend.js';
import { startChild } from '../support/child.js';

/**
 * The same seed, twice, on two fresh backends with manual clocks, while two busy loops
 * take the machine's cores: the simulated program, its truth and every report figure are
 * the same. Nothing the backend decides may depend on how fast the machine is.
 */
const SIZE = { seed: 5, kiosks: 2, days: 24, enrollments: 12 } as const;

let busy: ChildProcess[] = [];
const runs: SimulationResult[] = [];

async function runOnce(): Promise<SimulationResult> {
  const backend = await startChild(mkdtempSync(join(tmpdir(), 'bridgeway-determinism-')), {
    CLOCK_START: '2026-05-01T00:00:00Z',
    TIME_SCALE: 'manual',
    ADMIN_TOKEN: ADMIN,
    OUTREACH_TOKEN: OUTREACH,
  });
  try {
    return await simulate({
      url: backend.url,
      adminToken: ADMIN,
      outreachToken: OUTREACH,
      ...SIZE,
      concurrency: 8,
      log: () => undefined,
    });
  } finally {
    await backend.stop();
  }
}

/** What must not change from run to run: everything but the wall-clock timing. */
function figures(result: SimulationResult) {
  const { timing: _timing, requests: _requests, parameters: _parameters, ...truth } = result.truth;
  return { truth, naloxone: result.backend.naloxone, moud: result.backend.moud };
}

beforeAll(async () => {
  busy = [0, 1].map(() =>
    spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore', detached: false }),
  );
  runs.push(await runOnce());
  runs.push(await runOnce());
}, 240_000);

afterAll(() => {
  for (const child of busy) child.kill('SIGKILL');
});

describe('a seeded simulation on a manual clock, next to two busy loops', () => {
  it('matches its own truth both times', () => {
    for (const run of runs) {
      expect(run.comparison.mismatches).toEqual([]);
      expect(run.stats.serverErrors).toBe(0);
      expect(run.stats.unexpected).toEqual([]);
    }
  });

  it('gives identical ground truth and report figures from the same seed', () => {
    const [first, second] = runs.map(figures);
    expect(second.truth).toEqual(first.truth);
    expect(second.naloxone).toEqual(first.naloxone);
    expect(second.moud).toEqual(first.moud);
  });

  it('had staff complete tasks, so the runs exercised the workflow and not only the counters', () => {
    expect(runs[0].stats.byKind['task-complete']?.['200'] ?? 0).toBeGreaterThan(0);
    expect(runs[1].stats.byKind['task-complete']).toEqual(runs[0].stats.byKind['task-complete']);
  });
});
