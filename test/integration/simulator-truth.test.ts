import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePlan, type Plan, planHash, planSummary } from '../../scripts/sim/plan.js';
import { parametersOf, type SimulationResult, simulate } from '../../scripts/sim/simulate.js';
import { ADMIN, OUTREACH, startTestBackend } from '../support/backend.js';

/**
 * The simulator against the embedded backend, in this process: a small program
 * (3 kiosks, 40 days, 25 enrollments) played through the public API on a manual
 * clock the simulator moves a day at a time, then every figure of both reports compared
 * with the truth the simulator computed from what it generated and what was acknowledged.
 */
const SIZE = { seed: 11, kiosks: 3, days: 40, enrollments: 25 } as const;

let api: Awaited<ReturnType<typeof startTestBackend>>;
let result: SimulationResult;
const lines: string[] = [];

beforeAll(async () => {
  api = await startTestBackend({ CLOCK_START: '2026-03-01T00:00:00Z', TIME_SCALE: 'manual' });
  result = await simulate({
    url: api.backend.url,
    adminToken: ADMIN,
    outreachToken: OUTREACH,
    ...SIZE,
    concurrency: 8,
    log: (line) => lines.push(line),
  });
}, 120_000);

afterAll(async () => {
  await api?.backend.stop();
});

describe('npm run simulate: the reports equal the truth of a simulated program', () => {
  it('plays the whole range through the public API without a 5xx or a surprise', () => {
    const { stats, truth } = result;
    expect(truth.endDay > truth.startDay).toBe(true);
    expect(stats.serverErrors).toBe(0);
    expect(
      Object.keys(stats.byStatus).filter((status) => status === 'network' || Number(status) >= 500),
    ).toEqual([]);
    // Every first send answered 201 and every retry 200: nothing refused, nothing missing.
    expect(stats.unexpected).toEqual([]);
    // Staff worked the outreach tasks (kiosk contact requests, follow-ups).
    expect(stats.byKind['task-complete']?.['200'] ?? 0).toBeGreaterThan(0);
  });

  it('answers every duplicate (a retry of an acknowledged fact, keys maybe reordered) with 200', () => {
    const retries = planSummary(result.plan).retries;
    expect(retries).toBeGreaterThan(20);
    expect(result.stats.duplicates).toEqual({ 200: retries });
  });

  it('generated a program with something in every figure that matters', () => {
    const { naloxone, moud } = result.truth;
    expect(naloxone.dispenseEvents).toBeGreaterThan(100);
    expect(naloxone.useReports).toBeGreaterThan(5);
    expect(naloxone.contactRequests).toBeGreaterThan(0);
    expect(naloxone.restockEvents).toBeGreaterThan(0);
    expect(moud.enrollments).toBe(SIZE.enrollments);
    expect(moud.retention['30'].eligible).toBeGreaterThan(0);
    expect(moud.overdoseRate.before.overdoses).toBeGreaterThan(0);
  });

  it('finds every naloxone figure of the backend report equal to the truth', () => {
    const { naloxone: truth } = result.truth;
    const backend = result.backend.naloxone;
    for (const figure of [
      'dispenseEvents',
      'naloxoneKitsDispensed',
      'contactRequests',
      'useReports',
      'survived',
      'died',
      'unknownOutcome',
      'emsCalled',
      'restockEvents',
      'faultEvents',
      'stockMismatchUnits',
    ] as const) {
      expect(backend[figure], figure).toBe(truth[figure]);
    }
    expect(backend.kitsDispensed).toEqual(truth.kitsDispensed);
    expect(backend.survivalRate).toBeCloseTo(truth.survivalRate as number, 9);
    expect(backend.reportRate).toBeCloseTo(truth.reportRate as number, 9);
    expect(backend.bySite).toEqual(truth.bySite);
    expect(backend.byDay).toEqual(truth.byDay);
  });

  it('finds every MOUD figure of the backend report equal to the truth', () => {
    const { moud: truth } = result.truth;
    const backend = result.backend.moud;
    for (const figure of ['enrollments', 'activeAtTo', 'disenrollments', 'deaths'] as const) {
      expect(backend[figure], figure).toBe(truth[figure]);
    }
    for (const n of ['30', '90', '180'] as const) {
      expect(backend.retention[n].retained, `retained ${n}`).toBe(truth.retention[n].retained);
      expect(backend.retention[n].eligible, `eligible ${n}`).toBe(truth.retention[n].eligible);
      if (truth.retention[n].rate === null) expect(backend.retention[n].rate).toBeNull();
      else expect(backend.retention[n].rate).toBeCloseTo(truth.retention[n].rate, 9);
    }
    for (const side of ['before', 'after'] as const) {
      const want = truth.overdoseRate[side];
      const got = backend.overdoseRate[side];
      expect(got.overdoses, `${side} overdoses`).toBe(want.overdoses);
      expect(Math.abs(got.personMonths - want.personMonths), `${side} person-months`).toBeLessThanOrEqual(
        1e-9,
      );
      expect(
        Math.abs(got.per1000MemberMonths - (want.per1000MemberMonths as number)),
        `${side} per 1,000`,
      ).toBeLessThanOrEqual(1e-9);
    }
    const reduction = truth.overdoseRate.reduction;
    if (reduction === null) expect(backend.overdoseRate.reduction).toBeNull();
    else expect(Math.abs(backend.overdoseRate.reduction - reduction)).toBeLessThanOrEqual(1e-9);
    expect(backend.bySite).toEqual(truth.bySite);
  });

  it('played the fleet too: heartbeats, a silence, an excursion swapped, lots; every fleet figure and kiosk equals the truth', () => {
    // Arrange
    const sent = result.plan.days.flatMap((day) => day.streams.flatMap((stream) => stream.sends));
    const kioskEvents = sent.flatMap((send) => (send.fact.kind === 'kiosk-event' ? [send.fact.event] : []));
    const { figures, kiosks } = result.truth.fleet;
    const fleetRows = result.comparison.rows.filter((row) => /^(fleet|kiosks)[.[]/.test(row.figure));

    // Assert: the program had what the fleet figures are about
    expect(kioskEvents.filter((event) => event.type === 'heartbeat').length).toBeGreaterThan(100);
    expect(figures.quarantinedUnits).toBeGreaterThan(0);
    expect(figures.offlineHours).toBeGreaterThan(0);
    expect(Object.keys(figures.kitsByLot).some((key) => !key.endsWith('/(none)'))).toBe(true);
    expect(Object.keys(kiosks)).toHaveLength(SIZE.kiosks);
    // ... and the backend says the same, figure by figure and kiosk by kiosk.
    expect(fleetRows.length).toBeGreaterThan(10);
    expect(fleetRows.filter((row) => !row.match)).toEqual([]);
  });

  it('reports the side-by-side comparison as matching, figure by figure', () => {
    expect(result.comparison.mismatches).toEqual([]);
    expect(result.comparison.rows.length).toBeGreaterThan(40);
    expect(result.table).toContain('EVERY FIGURE MATCHES');
    expect(lines.join('\n')).toContain('moud.overdoseRate.reduction');
  });

  it('generates the same facts, ids included, from the same seed (and other facts from another)', () => {
    const parameters = parametersOf(SIZE);
    const again = generatePlan(parameters, result.plan.startDay);
    expect(planHash(again)).toBe(result.planHash);
    expect(planHash(generatePlan(parameters, result.plan.startDay))).toBe(result.planHash);
    expect(planHash(generatePlan({ ...parameters, seed: 12 }, result.plan.startDay))).not.toBe(
      result.planHash,
    );
    expect(again.kiosks.map((kiosk) => kiosk.kioskId)).toEqual(['SIM-11-K01', 'SIM-11-K02', 'SIM-11-K03']);
    expect(result.truth.planHash).toBe(result.planHash);
    // Dates count from the backend's first day; everything else is the seed's alone.
    // (An enrollment is known by participant and day, so its key carries the date: left out here.)
    const keys = (plan: Plan) =>
      plan.days.flatMap((day) =>
        day.streams.flatMap((stream) =>
          stream.sends.map((send) => send.fact.key.replace(/\/\d{4}-\d\d-\d\d$/, '')),
        ),
      );
    expect(keys(generatePlan(parameters, '2031-01-01'))).toEqual(keys(again));
  });
});
