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
  return {
    settings,
    now,
    realDelayUntil: (at) => Math.max(0, (at.getTime() - now().getTime()) / settings.timeScale),
  };
}
