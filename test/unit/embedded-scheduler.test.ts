import { describe, expect, it } from 'vitest';
import { manualClock } from '../../lib/embedded/clock.js';
import { type JobReport, NotQuietError, type ScheduledJob, Scheduler } from '../../lib/embedded/scheduler.js';

const START = new Date('2026-03-01T00:00:00Z');

/** A job that answers the given reports in turn, then the last one for ever. */
function scripted(name: string, reports: readonly JobReport[]): ScheduledJob & { runs: number } {
  const job = {
    name,
    everyMinutes: 60,
    runs: 0,
    async run() {
      const report = reports[Math.min(job.runs, reports.length - 1)];
      job.runs += 1;
      return report;
    },
  };
  return job;
}

const quiet: JobReport = { busy: false, incomplete: false };
const busy: JobReport = { busy: true, incomplete: false };
const incomplete: JobReport = { busy: false, incomplete: true };

describe('Scheduler on a manual clock', () => {
  it('moves the clock once every job has a round with nothing left to do', async () => {
    // Arrange
    const clock = manualClock(START);
    const relay = scripted('outboxRelay', [incomplete, busy, busy, quiet]);
    const scheduler = new Scheduler(
      clock,
      [relay],
      async () => undefined,
      () => undefined,
    );

    // Act
    const now = await scheduler.advanceTo(new Date('2026-03-02T00:00:00Z'));

    // Assert
    expect(now.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(relay.runs).toBeGreaterThanOrEqual(4);
  });

  it('gives up on a backend that never becomes quiet, naming what kept it busy in the last round', async () => {
    // Arrange: the relay failed once long ago; the sweep never stops finding work
    const clock = manualClock(START);
    const relay = scripted('outboxRelay', [incomplete, quiet]);
    const sweep = scripted('fleetSweep', [busy]);
    const scheduler = new Scheduler(
      clock,
      [relay, sweep],
      async () => undefined,
      () => undefined,
    );

    // Act
    const error = await scheduler.advanceTo(new Date('2026-03-02T00:00:00Z')).catch((caught) => caught);

    // Assert
    expect(error).toBeInstanceOf(NotQuietError);
    expect(error.message).toBe('The backend did not become quiet: fleetSweep kept finding work');
  });

  it('counts a job that throws as work not finished, and reports it', async () => {
    // Arrange
    const clock = manualClock(START);
    const failing: ScheduledJob = {
      name: 'followUpSweep',
      everyMinutes: 60,
      run: async () => {
        throw new Error('ProvisionedThroughputExceededException');
      },
    };
    const failures: string[] = [];
    const scheduler = new Scheduler(
      clock,
      [failing],
      async () => undefined,
      (job) => failures.push(job),
    );

    // Act
    const error = await scheduler.settleNow().catch((caught) => caught);

    // Assert
    expect(error.message).toBe('The backend did not become quiet: followUpSweep could not finish its work');
    expect(failures.length).toBeGreaterThan(1);
  });
});
