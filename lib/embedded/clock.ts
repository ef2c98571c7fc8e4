import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StartupError } from './startup-error.js';

/**
 * The backend's one clock (contract: "clock" and "manual clock").
 *
 * Scaled: now = CLOCK_START + (real time since the data directory's first start) × TIME_SCALE.
 * Manual (`TIME_SCALE=manual`): now stands still at CLOCK_START until a driver moves it
 * (`POST /local/clock`); the time reached is kept in DATA_DIR, so a restart resumes there.
 *
 * The settings are kept at the first start and win over the environment afterwards, so a
 * restart never turns the clock back, and (scaled) the time a backend was down passes for it too.
 */
export interface ClockSettings {
  readonly clockStart: string;
  readonly timeScale: number | 'manual';
  readonly realStart: string;
  /** Manual clocks: the time reached so far. */
  readonly now?: string;
}

export interface Sleep {
  readonly promise: Promise<void>;
  cancel(): void;
}

export interface BackendClock {
  readonly settings: ClockSettings;
  now(): Date;
  /** Resolves once the backend clock has reached `at`; `cancel` drops the wait. */
  sleepUntil(at: Date): Sleep;
  /** Present when a driver moves the clock (TIME_SCALE=manual, and tests). */
  readonly manual?: ManualControl;
}

export interface ManualControl {
  /** The earliest time a sleeper waits for, if any. */
  nextWake(): number | undefined;
  /** Moves the clock forward to `at` (never back) and wakes every sleeper whose time has come. */
  set(at: Date): void;
}

export const isManual = (clock: BackendClock): clock is BackendClock & { manual: ManualControl } =>
  clock.manual !== undefined;

/** Node timers overflow past 2^31 - 1 ms; long waits are taken in steps. */
const MAX_TIMER_MS = 2_147_483_647;

function scaledClock(settings: ClockSettings & { timeScale: number }, realNow: () => number): BackendClock {
  const base = Date.parse(settings.clockStart);
  const realBase = Date.parse(settings.realStart);
  const now = () => new Date(base + (realNow() - realBase) * settings.timeScale);
  return {
    settings,
    now,
    sleepUntil(at) {
      let timer: NodeJS.Timeout | undefined;
      let cancelled = false;
      const promise = new Promise<void>((resolve) => {
        const step = () => {
          if (cancelled) return;
          const delay = (at.getTime() - now().getTime()) / settings.timeScale;
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
    },
  };
}

/**
 * A clock that moves only when told to. `set` wakes every sleeper whose time has come,
 * in time order; `persist` (if given) is told each new time before anyone wakes.
 */
export function manualClock(
  start: Date,
  options: { settings?: ClockSettings; persist?: (now: Date) => void } = {},
): BackendClock & { manual: ManualControl; advance(ms: number): void; set(at: Date): void } {
  let current = start.getTime();
  const sleepers = new Set<{ at: number; resolve: () => void }>();
  const settings = options.settings ?? {
    clockStart: start.toISOString(),
    timeScale: 'manual' as const,
    realStart: new Date().toISOString(),
  };
  const set = (at: Date) => {
    if (at.getTime() <= current) return;
    current = at.getTime();
    options.persist?.(new Date(current));
    const due = [...sleepers].filter((sleeper) => sleeper.at <= current).sort((a, b) => a.at - b.at);
    for (const sleeper of due) {
      sleepers.delete(sleeper);
      sleeper.resolve();
    }
  };
  const manual: ManualControl = {
    nextWake() {
      let next: number | undefined;
      for (const sleeper of sleepers) if (next === undefined || sleeper.at < next) next = sleeper.at;
      return next;
    },
    set,
  };
  return {
    get settings() {
      return { ...settings, now: new Date(current).toISOString() };
    },
    now: () => new Date(current),
    sleepUntil(at) {
      let entry: { at: number; resolve: () => void } | undefined;
      const promise = new Promise<void>((resolve) => {
        entry = { at: at.getTime(), resolve };
        if (entry.at <= current) resolve();
        else sleepers.add(entry);
      });
      return { promise, cancel: () => entry && sleepers.delete(entry) };
    },
    manual,
    advance: (ms) => set(new Date(current + ms)),
    set,
  };
}

function writeSettings(file: string, settings: ClockSettings): void {
  // Written aside and renamed: a kill -9 mid-write leaves the previous time, never a torn file.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

/** The backend clock of a data directory, created from CLOCK_START / TIME_SCALE at its first start. */
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
      throw new StartupError(`CLOCK_START is not an ISO 8601 time: ${env.CLOCK_START}`);
    const timeScale = env.TIME_SCALE === 'manual' ? 'manual' : env.TIME_SCALE ? Number(env.TIME_SCALE) : 1;
    if (timeScale !== 'manual' && (!Number.isFinite(timeScale) || timeScale <= 0))
      throw new StartupError(`TIME_SCALE must be a positive number or "manual": ${env.TIME_SCALE}`);
    settings = { clockStart: clockStart.toISOString(), timeScale, realStart };
    mkdirSync(dataDir, { recursive: true });
    writeSettings(file, settings);
  }
  if (settings.timeScale === 'manual') {
    const kept = settings;
    return manualClock(new Date(kept.now ?? kept.clockStart), {
      settings: kept,
      persist: (now) => writeSettings(file, { ...kept, now: now.toISOString() }),
    });
  }
  return scaledClock(settings as ClockSettings & { timeScale: number }, realNow);
}
