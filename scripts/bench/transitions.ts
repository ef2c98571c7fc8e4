/**
 * Step Functions state transitions per 180-day MOUD enrollment, measured on the embedded backend.
 *
 * Three enrollments are recorded on one backend with a manual clock and walked a day at a time
 * through `advanceTo` (what `POST /local/clock` does: every due wake, escalation and scheduled
 * sweep fires in time order), up to day 366, Step Functions Standard's one-year limit:
 *
 * - engaged: methadone, a dose every day and a visit every week;
 * - injection: buprenorphine-er-monthly, an injection every 28 days (within its 26-31 day window);
 * - disengaged: methadone, nothing recorded, tasks never completed.
 *
 * Transitions are counted from the embedded Step Functions' execution history: each state entered
 * is one transition, as AWS bills Standard workflows (retries are not states entered). An
 * enrollment's count covers all of its executions (a restart or a resume runs under a new name).
 *
 * `tsx scripts/bench/transitions.ts` prints the table; `npm run bench` imports `measureTransitions`.
 */
import './env.js';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { manualClock } from '../../lib/embedded/clock.js';
import { startBackend } from '../../lib/embedded/runtime.js';
import { memoryBackedDir } from './common.js';

const DAY_MS = 86_400_000;
const CLOCK_START = '2026-01-05T10:00:00.000Z';
/** Standard executions stop at one year: a follow-up still running then has never ended. */
const LAST_DAY = 366;
const ADMIN_TOKEN = 'bench-admin-token';
const OUTREACH_TOKEN = 'bench-outreach-token';

export interface TransitionRow {
  readonly profile: string;
  readonly transitions: number;
  /** Days from enrollment when the clock had reached the end of every execution of the enrollment (a whole day: the walk goes a day at a time); null: still running at day 366. */
  readonly endedOnDay: number | null;
}

interface Profile {
  readonly name: string;
  readonly medication: string;
  /** What staff record on day `day` (0 = the enrollment day), up to day 180. */
  readonly events: (day: number) => { type: string; daysSupply?: number }[];
}

const PROFILES: readonly Profile[] = [
  {
    name: 'engaged',
    medication: 'methadone',
    events: (day) => [{ type: 'dose', daysSupply: 1 }, ...(day % 7 === 0 ? [{ type: 'visit' }] : [])],
  },
  {
    name: 'injection',
    medication: 'buprenorphine-er-monthly',
    events: (day) => (day % 28 === 0 ? [{ type: 'injection' }] : []),
  },
  { name: 'disengaged', medication: 'methadone', events: () => [] },
];

export async function measureTransitions(): Promise<{ rows: TransitionRow[] }> {
  const dataDir = mkdtempSync(join(memoryBackedDir(), 'bridgeway-bench-transitions-'));
  const clock = manualClock(new Date(CLOCK_START));
  const backend = await startBackend({
    dataDir,
    port: 0,
    clock,
    env: { ADMIN_TOKEN, OUTREACH_TOKEN },
    log: () => undefined,
  });
  try {
    const staff = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${backend.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${OUTREACH_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as Record<string, unknown>;
    };
    const today = () => clock.now().toISOString().slice(0, 10);

    const enrolled: { profile: Profile; enrollmentId: string }[] = [];
    for (const profile of PROFILES) {
      const answer = await staff('POST', '/v1/moud/enrollments', {
        participantRef: `P-BENCH-${profile.name}`,
        siteId: 'site-bench',
        enrolledOn: today(),
        medication: profile.medication,
        overdosesPrior12m: 1,
        consent: { outreach: true, part2: true },
      });
      enrolled.push({ profile, enrollmentId: String(answer.enrollmentId) });
    }
    await backend.settle();

    const endedOnDay = new Map<string, number>();
    const start = clock.now().getTime();
    for (let day = 0; day < LAST_DAY; day += 1) {
      if (day <= 180) {
        for (const { profile, enrollmentId } of enrolled) {
          for (const event of profile.events(day)) {
            await staff('POST', `/v1/moud/enrollments/${enrollmentId}/events`, {
              eventId: randomUUID(),
              occurredOn: today(),
              ...event,
            });
          }
        }
      }
      await backend.advanceTo(new Date(start + (day + 1) * DAY_MS));
      for (const { enrollmentId } of enrolled) {
        if (!endedOnDay.has(enrollmentId) && !backend.workflows.isRunning(enrollmentId))
          endedOnDay.set(enrollmentId, day + 1);
      }
      if (endedOnDay.size === enrolled.length) break;
    }

    const counts = backend.workflows.stats().transitionsByExecution;
    return {
      rows: enrolled.map(({ profile, enrollmentId }) => ({
        profile: profile.name,
        transitions: counts.get(enrollmentId) ?? 0,
        endedOnDay: endedOnDay.get(enrollmentId) ?? null,
      })),
    };
  } finally {
    await backend.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export function transitionsTable(rows: readonly TransitionRow[]): string {
  return [
    '| profile | state transitions | execution ended on day |',
    '| --- | ---: | ---: |',
    ...rows.map(
      (row) =>
        `| ${row.profile} | ${row.transitions} | ${row.endedOnDay === null ? `still running at day ${LAST_DAY}` : row.endedOnDay} |`,
    ),
  ].join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const { rows } = await measureTransitions();
  console.log(transitionsTable(rows));
  console.log(`\n(${((Date.now() - started) / 1000).toFixed(1)} s)`);
}
