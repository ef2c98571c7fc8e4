import { type BackendClock, isManual } from './clock.js';

/** What a scheduled function (the manifest's `scheduleMinutes`) tells the embedded runtime after a run. */
export interface JobReport {
  /** It did something (published, escalated, swept): the backend may not be quiet yet. */
  readonly busy: boolean;
  /** It failed to do some of its work (a publish failed): run it again before calling the backend quiet. */
  readonly incomplete: boolean;
  /** The next backend time it has work for, if it knows (ISO 8601). */
  readonly nextDueAt?: string;
}

export interface ScheduledJob {
  readonly name: string;
  /** The schedule in AWS, in backend minutes. */
  readonly everyMinutes: number;
  /** `catchUp`: do all the work there is, however recent (start-up, and every step of a manual clock). */
  run(options: { catchUp: boolean }): Promise<JobReport>;
}

export class ClockBackwardsError extends Error {
  constructor(readonly now: Date) {
    super('The backend clock never goes backwards.');
    this.name = 'ClockBackwardsError';
  }
}

export class NotQuietError extends Error {
  constructor(reason: string) {
    super(`The backend did not become quiet: ${reason}`);
    this.name = 'NotQuietError';
  }
}

/** Rounds of "run the jobs, wait for the workflows" before a stuck backend is reported, not waited on forever. */
const MAX_SETTLE_ROUNDS = 50;

/**
 * Runs the scheduled functions of the manifest on the backend clock.
 *
 * Scaled clock: each job on a real-time interval (its schedule, at most every 30 s).
 * Manual clock: nothing runs by itself. `advanceTo` moves the clock from one due time to the
 * next — the earliest sleeping workflow or job due time — and at each one wakes what is due,
 * runs the jobs and waits until the backend is quiet (every workflow parked or ended, every
 * due notification published), so everything happens in time order whatever the machine's speed.
 */
export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly nextDue = new Map<string, number>();
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly clock: BackendClock,
    private readonly jobs: readonly ScheduledJob[],
    private readonly idle: () => Promise<void>,
    private readonly onError: (job: string, error: Error) => void,
  ) {}

  get manual(): boolean {
    return isManual(this.clock);
  }

  /** At start-up: every job once, then (scaled clock) on its interval. */
  async start(realIntervalMs?: number): Promise<void> {
    if (this.manual) {
      await this.serialized(() => this.settle());
      return;
    }
    for (const job of this.jobs) {
      await this.runJob(job, true);
      const scale = this.clock.settings.timeScale as number;
      const every =
        realIntervalMs ?? Math.min(30_000, Math.max(500, (job.everyMinutes * 60_000) / Math.max(1, scale)));
      const timer = setInterval(() => void this.runJob(job, false), every);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }

  /** Runs every job now and waits until the backend is quiet (manual clock: without moving it). */
  settleNow(): Promise<void> {
    return this.serialized(() => this.settle());
  }

  /** Manual clock: moves to `target`, firing everything due on the way in time order; answers the new now. */
  advanceTo(target: Date): Promise<Date> {
    const clock = this.clock;
    if (!isManual(clock)) throw new Error('advanceTo needs a manual clock');
    return this.serialized(async () => {
      if (target.getTime() < clock.now().getTime()) throw new ClockBackwardsError(clock.now());
      await this.settle();
      for (;;) {
        const now = clock.now().getTime();
        const candidates = [clock.manual.nextWake(), ...this.nextDue.values()].filter(
          (time): time is number => time !== undefined && time > now,
        );
        const next = candidates.length ? Math.min(...candidates) : undefined;
        if (next === undefined || next >= target.getTime()) break;
        clock.manual.set(new Date(next));
        await this.settle();
      }
      clock.manual.set(target);
      await this.settle();
      return clock.now();
    });
  }

  private serialized<T>(task: () => Promise<T>): Promise<T> {
    const result = this.chain.then(task);
    this.chain = result.catch(() => undefined);
    return result;
  }

  private async settle(): Promise<void> {
    // What kept the last round from being quiet: the error names that, not a failure long since mended.
    let reasons: string[] = [];
    for (let round = 0; round < MAX_SETTLE_ROUNDS; round += 1) {
      await this.idle();
      reasons = [];
      for (const job of this.jobs) {
        const report = await this.runJob(job, true);
        if (!report || report.incomplete) reasons.push(`${job.name} could not finish its work`);
        else if (report.busy) reasons.push(`${job.name} kept finding work`);
      }
      await this.idle();
      if (reasons.length === 0) return;
    }
    throw new NotQuietError(reasons.join('; '));
  }

  private async runJob(job: ScheduledJob, catchUp: boolean): Promise<JobReport | undefined> {
    try {
      const report = await job.run({ catchUp });
      if (report.nextDueAt) this.nextDue.set(job.name, Date.parse(report.nextDueAt));
      else this.nextDue.delete(job.name);
      return report;
    } catch (error) {
      this.onError(job.name, error as Error);
      return undefined;
    }
  }
}
