import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The backend's one clock (contract: "clock"):
 * now = CLOCK_START + (real time since the data directory's first start) × TIME_SCALE.
 * Both settings are kept at the first start and win over the environment
 * afterwards, so a restart never turns the clock back, and the time a backend
 * was down passes for it too.
 */
export interface ClockSettings {
  readonly clockStart: string;
  readonly timeScale: number;
  readonly realStart: string;
}

export interface BackendClock {
  readonly settings: ClockSettings;
  now(): Date;
  /** Real milliseconds until the backend clock reaches `at` (0 if it has). */
  realDelayUntil(at: Date): number;
  /** Resolves once the backend clock has reached `at`; `cancel` drops the wait. */
  sleepUntil(at: Date): { promise: Promise<void>; cancel(): void };
}

/** Node timers overflow past 2^31 - 1 ms; long waits are taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

function sleepOn(clock: Pick<BackendClock, 'now' | 'realDelayUntil'>, at: Date) {
  let timer: NodeJS.Timeout | undefined;
  let cancelled = false;
  const promise = new Promise<void>((resolve) => {
    const step = () => {
      if (cancelled) return;
      const delay = clock.realDelayUntil(at);
      if (delay <= 0) return resolve();
      timer = setTimeout(step, Math.min(Math.ceil(delay), MAX_TIMER_MS));
      timer.unref?.();
    };
    step();
  });
  return {
    promise,
    cancel() {
      cancelled = true;
      if (timer) clearTimeout(timer);
    },
  };
}

export function openClock(
  dataDir: string,
  env: { CLOCK_START?: string; TIME_SCALE?: string },
  realNow: () => number = Date.now,
): BackendClock {
  const file = join(dataDir, 'clock.json');
  let settings: ClockSettings;
  if (existsSync(file)) {
    settings = JSON.parse(readFileSync(file, 'utf8')) as ClockSettings;
  } else {
    const realStart = new Date(realNow()).toISOString();
    const clockStart = env.CLOCK_START ? new Date(env.CLOCK_START) : new Date(realStart);
    if (Number.isNaN(clockStart.getTime()))
      throw new Error(`CLOCK_START is not an ISO 8601 time: ${env.CLOCK_START}`);
    const timeScale = env.TIME_SCALE ? Number(env.TIME_SCALE) : 1;
    if (!Number.isFinite(timeScale) || timeScale <= 0)
      throw new Error(`TIME_SCALE must be a positive number: ${env.TIME_SCALE}`);
    settings = { clockStart: clockStart.toISOString(), timeScale, realStart };
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, `${JSON.stringify(settings, null, 2)}\n`);
  }
  const base = Date.parse(settings.clockStart);
  const realBase = Date.parse(settings.realStart);
  const now = () => new Date(base + (realNow() - realBase) * settings.timeScale);
  const realDelayUntil = (at: Date) => Math.max(0, (at.getTime() - now().getTime()) / settings.timeScale);
  return { settings, now, realDelayUntil, sleepUntil: (at) => sleepOn({ now, realDelayUntil }, at) };
}

/**
 * A clock that moves only when told to (tests): `advance` wakes every sleeper
 * whose time has come. Lets a test walk a 180-day enrollment in milliseconds.
 */
export function manualClock(start: Date): BackendClock & { advance(ms: number): void; set(at: Date): void } {
  let current = start.getTime();
  const sleepers = new Set<{ at: number; resolve: () => void }>();
  const wakeDue = () => {
    for (const sleeper of [...sleepers]) {
      if (sleeper.at <= current) {
        sleepers.delete(sleeper);
        sleeper.resolve();
      }
    }
  };
  return {
    settings: { clockStart: start.toISOString(), timeScale: 1, realStart: start.toISOString() },
    now: () => new Date(current),
    realDelayUntil: (at) => (at.getTime() <= current ? 0 : Number.POSITIVE_INFINITY),
    sleepUntil(at) {
      let entry: { at: number; resolve: () => void } | undefined;
      const promise = new Promise<void>((resolve) => {
        entry = { at: at.getTime(), resolve };
        if (entry.at <= current) resolve();
        else sleepers.add(entry);
      });
      return { promise, cancel: () => entry && sleepers.delete(entry) };
    },
    advance(ms) {
      current += ms;
      wakeDue();
    },
    set(at) {
      current = Math.max(current, at.getTime());
      wakeDue();
    },
  };
}
