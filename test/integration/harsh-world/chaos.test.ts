import { beforeAll, describe, expect, it } from 'vitest';
import { type ChaosReport, formatChaosReport, runChaos } from '../../../scripts/sim/chaos.js';

/**
 * The chaos suite, small: a seeded program against a backend failing at FAULT_RATE=0.1 the way
 * AWS documents, the client retrying every 5xx. (`npm run chaos` plays a larger one and also
 * kills the backend with SIGKILL at random moments.) One attempt in ten fails, near the 14 % of
 * DynamoDB write attempts that 0.05 failed when each fault kind rolled on its own.
 */
let report: ChaosReport;

beforeAll(async () => {
  report = await runChaos({
    seed: 21,
    kiosks: 2,
    days: 12,
    enrollments: 8,
    faultRate: 0.1,
    kills: 0,
    log: () => {},
  });
  console.log(formatChaosReport(report));
}, 240_000);

describe('a program played against a backend that fails as AWS does', () => {
  it('was really hit: DynamoDB and workflow faults were injected', () => {
    // (Whether any reached the client as a 5xx depends on how the retries inside fell; either is fine.)
    const { faultsInjected } = report;
    expect(faultsInjected['dynamodb-throttle']).toBeGreaterThan(0);
    expect(faultsInjected['dynamodb-internal']).toBeGreaterThan(0);
    expect(faultsInjected['dynamodb-conflict']).toBeGreaterThan(0);
    expect(faultsInjected.lambda).toBeGreaterThan(0);
  });

  it.each([
    'every report figure equals the truth (nothing missing, nothing counted twice)',
    'every fact acknowledged in the end, no answer the contract does not allow',
    'every copy of one announcement carries the same messageId, and one messageId means one message',
    'every fault, task and escalation that calls for a message was announced at least once',
    'every enrollment has a live or finished follow-up, and no execution failed',
  ])('keeps the invariant: %s', (name) => {
    const invariant = report.invariants.find((candidate) => candidate.name === name);
    expect(invariant, name).toBeDefined();
    expect(invariant!.holds, invariant!.detail).toBe(true);
  });
});
