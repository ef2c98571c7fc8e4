import { writeFileSync } from 'node:fs';
import { Api, inPool, Slots, Stats } from './client.js';
import { type Comparison, compare, compareFigures, formatComparison } from './compare.js';
import { DAY_MS, dayNumber, utcDayOf } from './days.js';
import { type FleetTruth, fleetReportRows, fleetRows, fleetTruth, withFleetRows } from './fleet-truth.js';
import {
  DEFAULT_PARAMETERS,
  type Fact,
  generatePlan,
  type Plan,
  planHash,
  planSummary,
  reorderKeys,
  type Send,
  type SimParameters,
} from './plan.js';
import { Progress } from './progress.js';
import { hashUnit, weighted } from './random.js';
import {
  type Acknowledged,
  type ListedTask,
  type MoudTruth,
  moudTruth,
  type NaloxoneTruth,
  naloxoneTruth,
} from './truth.js';

/**
 * Plays a whole program against a running backend through its public HTTP API:
 * registers the kiosks, then for each simulated day waits until the backend's
 * clock has passed the end of that day and sends the day's facts (kiosk
 * events, use reports, enrollments and their events, retries included), lets
 * staff work the open outreach tasks, and finally compares the reports with
 * the truth computed from what was generated and acknowledged.
 */

export interface SimulateOptions {
  readonly url: string;
  readonly adminToken: string;
  readonly outreachToken: string;
  readonly seed: number;
  readonly kiosks: number;
  readonly days: number;
  readonly enrollments: number;
  /** Requests in flight at most (default 16). */
  readonly concurrency?: number;
  /** Where to write the truth JSON (nothing written when left out). */
  readonly out?: string;
  /** How hard to insist on a request that gets 5xx or no answer (chaos runs outlast restarts). */
  readonly patience?: { readonly attempts: number; readonly maxBackoffMs: number };
  /** Called as each simulated day starts (chaos runs kill the backend at some). */
  readonly onDay?: (dayIndex: number) => void;
  /** Overrides of the program's rates (DEFAULT_PARAMETERS). */
  readonly parameters?: Partial<Omit<SimParameters, 'seed' | 'kiosks' | 'days' | 'enrollments'>>;
  /** The one-line progress display on stderr (default off). */
  readonly progress?: boolean;
  readonly log?: (line: string) => void;
}

export interface TruthFile {
  readonly parameters: SimParameters & { readonly url: string; readonly concurrency: number };
  readonly planHash: string;
  readonly startDay: string;
  readonly endDay: string;
  readonly generated: ReturnType<typeof planSummary>;
  readonly requests: ReturnType<Stats['toJSON']>;
  readonly naloxone: NaloxoneTruth;
  readonly moud: MoudTruth;
  /** The fleet figures and each kiosk's final stock (scripts/sim/fleet-truth.ts). */
  readonly fleet: FleetTruth;
  readonly comparison: { readonly matches: boolean; readonly mismatches: Comparison['mismatches'] };
  readonly timing: {
    readonly realSeconds: number;
    readonly backendTimeScale: number | 'manual';
    readonly maxDaysBehind: number;
  };
}

export interface SimulationResult {
  readonly plan: Plan;
  readonly planHash: string;
  readonly truth: TruthFile;
  // biome-ignore lint/suspicious/noExplicitAny: the backend's report JSON.
  readonly backend: { readonly naloxone: any; readonly moud: any; readonly kiosks: any[] };
  readonly comparison: Comparison;
  readonly table: string;
  readonly stats: Stats;
  /** The enrollment id the backend gave each participant. */
  readonly enrollmentIds: ReadonlyMap<string, string>;
}

/** Registers a kiosk and answers the secret it is to sign with. */
async function registerKiosk(api: Api, kiosk: { kioskId: string }): Promise<string> {
  const answer = await api.staff('kiosk-registration', 'admin', 'POST', '/v1/kiosks', kiosk);
  if (answer.status === 201) return answer.body.secret;
  if (answer.status === 409 && answer.afterFailure) {
    // An earlier attempt registered it and its answer was lost, so its secret was never shown:
    // rotate it, as the runbook tells an administrator to.
    const path = `/v1/kiosks/${encodeURIComponent(kiosk.kioskId)}/secret`;
    const rotated = await api.staff('kiosk-secret', 'admin', 'POST', path);
    if (rotated.status === 200) return rotated.body.secret;
    throw new Error(
      `rotating the secret of kiosk ${kiosk.kioskId} answered ${rotated.status} ${rotated.text}`,
    );
  }
  const hint =
    answer.status === 409
      ? ' (this seed already ran against this backend: use a fresh DATA_DIR or another --seed)'
      : '';
  throw new Error(`registering kiosk ${kiosk.kioskId} answered ${answer.status} ${answer.text}${hint}`);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Days the simulator may fall behind the backend before it warns (kiosk events older than 30 days are refused). */
export const BEHIND_WARNING_DAYS = 20;
/** Days sent at once at most: a day's streams may start before earlier days' other streams are done. */
const PIPELINE_DAYS = 3;

const TASK_OUTCOMES = [
  ['reached', 0.45],
  ['no-answer', 0.3],
  ['declined', 0.1],
  ['re-engaged', 0.15],
] as const;

export function parametersOf(
  options: Pick<SimulateOptions, 'seed' | 'kiosks' | 'days' | 'enrollments' | 'parameters'>,
): SimParameters {
  return {
    ...DEFAULT_PARAMETERS,
    ...options.parameters,
    seed: options.seed,
    kiosks: options.kiosks,
    days: options.days,
    enrollments: options.enrollments,
  };
}

export async function simulate(options: SimulateOptions): Promise<SimulationResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const concurrency = options.concurrency ?? 16;
  const parameters = parametersOf(options);
  if (parameters.days < 1 || parameters.kiosks < 1 || parameters.enrollments < 0)
    throw new Error('days and kiosks must be at least 1, enrollments at least 0');
  const stats = new Stats();
  const api = new Api({
    url: options.url.replace(/\/$/, ''),
    adminToken: options.adminToken,
    outreachToken: options.outreachToken,
    stats,
    attempts: options.patience?.attempts,
    maxBackoffMs: options.patience?.maxBackoffMs,
  });
  const progress = new Progress(options.progress ?? false);
  const realStart = Date.now();

  // The backend's clock: a manual one (TIME_SCALE=manual) is moved by the simulator, day by day;
  // a scaled one is measured (two readings a second apart, each at the middle of its round trip).
  const reading = async () => {
    const before = Date.now();
    const now = await api.health();
    return { now, real: (before + Date.now()) / 2 };
  };
  const { now: first, real: firstReal } = await reading();
  const probe = await api.advanceClock(first);
  // 200: a manual clock; 409 clock_not_manual, or 404 where the route does not exist (AWS): a running
  // one. Anything else (a 503 that outlasted the retries) says nothing about the clock.
  if (probe.status !== 200 && probe.status !== 409 && probe.status !== 404)
    throw new Error(
      `the backend's clock could not be probed: POST /local/clock answered ${probe.status} ${probe.text}`,
    );
  const manual = probe.status === 200;
  let scale = Number.POSITIVE_INFINITY;
  if (!manual) {
    await sleep(1_000);
    const { now: second, real: secondReal } = await reading();
    scale = Math.max((second.getTime() - first.getTime()) / Math.max(1, secondReal - firstReal), 1e-6);
  }
  const startDay = utcDayOf(first);
  const startNumber = dayNumber(startDay);
  if (manual) {
    log(
      `backend ${options.url}: manual clock at ${first.toISOString()}; the simulator moves it a day at a time ` +
        `(${parameters.days} days from ${startDay})`,
    );
  } else {
    const realSecondsNeeded = ((startNumber + parameters.days) * DAY_MS - first.getTime()) / scale / 1000;
    log(
      `backend ${options.url}: clock ${first.toISOString()} running ×${scale < 10 ? scale.toFixed(2) : Math.round(scale)}; ` +
        `${parameters.days} days from ${startDay} take about ${formatDuration(realSecondsNeeded)} of real time`,
    );
    if (scale < 2) {
      log(
        `hint: the backend clock runs at real time (TIME_SCALE 1), so this simulation would take ${parameters.days} real days. ` +
          'Start a backend on a fresh DATA_DIR with `TIME_SCALE=manual npm start` (the simulator then moves its clock) and run it against that.',
      );
    }
  }

  const plan = generatePlan(parameters, startDay);
  const hash = planHash(plan);
  const summary = planSummary(plan);
  log(
    `seed ${parameters.seed}: ${plan.kiosks.length} kiosks at ${plan.sites.length} sites, ${parameters.enrollments} enrollments, ` +
      `${plan.startDay}..${plan.endDay}; ${summary.sends} requests planned (${summary.retries} retries) ` +
      `${JSON.stringify(summary.facts)}; plan ${hash.slice(0, 16)}`,
  );

  // Kiosks: registered by an administrator; each secret is shown once.
  const secrets = new Map<string, string>();
  await inPool(plan.kiosks, concurrency, async (kiosk) => {
    secrets.set(kiosk.kioskId, await registerKiosk(api, kiosk));
  });

  const slots = new Slots(concurrency);
  const acknowledged = new Map<string, { seq: number; fact: Fact }>();
  const enrollmentIds = new Map<string, string>();
  let seq = 0;
  // On a manual clock every request of a day arrives at that day's end: when each fact was first heard.
  const arrivals = new Map<string, number>();
  let arrivalAt: number | undefined;

  async function send({ fact, retry, reorder }: Send): Promise<void> {
    const body = (value: object) => JSON.stringify(reorder ? reorderKeys(value) : value);
    let answer: {
      status: number;
      body: { enrollmentId?: string } | undefined;
      text: string;
      afterFailure?: boolean;
    };
    switch (fact.kind) {
      case 'kiosk-event':
        answer = await api.kioskEvent(
          { kioskId: fact.kioskId, secret: secrets.get(fact.kioskId) as string },
          body(fact.event),
        );
        break;
      case 'use-report':
        answer = await api.staff(
          'use-report',
          'outreach',
          'POST',
          '/v1/naloxone/use-reports',
          body(fact.report),
        );
        break;
      case 'enrollment':
        answer = await api.staff(
          'enrollment',
          'outreach',
          'POST',
          '/v1/moud/enrollments',
          body(fact.enrollment),
        );
        if ((answer.status === 201 || answer.status === 200) && answer.body?.enrollmentId)
          enrollmentIds.set(fact.enrollment.participantRef, answer.body.enrollmentId);
        break;
      case 'moud-event': {
        const enrollmentId = enrollmentIds.get(fact.participantRef);
        if (!enrollmentId) {
          stats.noteUnexpected(fact.kind, fact.key, 'not sent', 'its enrollment was not acknowledged');
          return;
        }
        answer = await api.staff(
          'moud-event',
          'outreach',
          'POST',
          `/v1/moud/enrollments/${encodeURIComponent(enrollmentId)}/events`,
          body(fact.event),
        );
        break;
      }
    }
    const ok = answer.status === 201 || answer.status === 200;
    if (ok && !acknowledged.has(fact.key)) {
      seq += 1;
      acknowledged.set(fact.key, { seq, fact });
      if (arrivalAt !== undefined && answer.status === 201) arrivals.set(fact.key, arrivalAt);
    }
    if (retry) stats.duplicates[String(answer.status)] = (stats.duplicates[String(answer.status)] ?? 0) + 1;
    // A first send that was answered 5xx (or not at all) may have landed: its retry is then a duplicate.
    const expected = retry ? [200] : answer.afterFailure ? [201, 200] : [201];
    if (!expected.includes(answer.status)) {
      stats.noteUnexpected(
        fact.kind,
        fact.key,
        answer.status,
        `${retry ? 'retry' : 'first send'}: ${answer.text}`,
      );
    }
  }

  /**
   * Staff work the open tasks: each day a seeded ~70 % of them are completed with a seeded outcome.
   * Tasks are known by what the simulator generated (the person or kiosk, the kind, the due time),
   * never by their ids, so the same seed works the same tasks whatever ids the backend gives them.
   */
  const participantOf = new Map<string, string>();
  async function workTasks(dayIndex: number): Promise<void> {
    // The list is paged: follow `next` until the last page.
    const tasks: { taskId: string; kind: string; dueAt: string; kioskId?: string; enrollmentId?: string }[] =
      [];
    for (let next: string | undefined, first = true; first || next; first = false) {
      const query = next ? `&next=${encodeURIComponent(next)}` : '';
      const answer = await slots.run(() =>
        api.staff('tasks-list', 'outreach', 'GET', `/v1/outreach/tasks?status=open&limit=200${query}`),
      );
      if (answer.status !== 200) {
        stats.noteUnexpected('tasks-list', `day ${dayIndex}`, answer.status, answer.text);
        return;
      }
      tasks.push(...((answer.body?.tasks ?? []) as typeof tasks));
      next = answer.body?.next;
    }
    for (const [participantRef, enrollmentId] of enrollmentIds)
      participantOf.set(enrollmentId, participantRef);
    const known = tasks.map((task) => ({
      task,
      key: [
        task.enrollmentId
          ? (participantOf.get(task.enrollmentId) ?? task.enrollmentId)
          : (task.kioskId ?? ''),
        task.kind,
        task.dueAt,
      ].join('/'),
    }));
    known.sort((a, b) => a.key.localeCompare(b.key));
    const rank = new Map<string, number>();
    const chosen = known.flatMap(({ task, key }) => {
      // Tasks alike in everything the simulator knows are told apart by their rank among their like.
      const index = rank.get(key) ?? 0;
      rank.set(key, index + 1);
      const unit = hashUnit(parameters.seed, 'task', key, index, dayIndex);
      return unit < parameters.taskCompletionRate
        ? [{ task, outcome: weighted(() => hashUnit(parameters.seed, 'outcome', key, index), TASK_OUTCOMES) }]
        : [];
    });
    await Promise.all(
      chosen.map(async ({ task, outcome }) => {
        const done = await slots.run(() =>
          api.staff(
            'task-complete',
            'outreach',
            'POST',
            `/v1/outreach/tasks/${encodeURIComponent(task.taskId)}/complete`,
            { outcome },
          ),
        );
        if (done.status !== 200) stats.noteUnexpected('task-complete', task.taskId, done.status, done.text);
      }),
    );
  }

  /** Every kiosk as the administrator lists them (GET /v1/kiosks, page by page). */
  async function listKiosks(): Promise<Record<string, unknown>[]> {
    const all: Record<string, unknown>[] = [];
    for (let next: string | undefined, first = true; first || next; first = false) {
      const query = next ? `&next=${encodeURIComponent(next)}` : '';
      const answer = await api.staff('kiosk-list', 'admin', 'GET', `/v1/kiosks?limit=200${query}`);
      if (answer.status !== 200) {
        stats.noteUnexpected('kiosk-list', 'page', answer.status, answer.text);
        break;
      }
      all.push(...(answer.body?.kiosks ?? []));
      next = answer.body?.next;
    }
    return all;
  }

  /** Moves a manual backend clock to `target` (ms); answers once the backend is quiet. */
  async function advanceBackend(target: number): Promise<void> {
    const answer = await api.advanceClock(new Date(target));
    if (answer.status !== 200)
      throw new Error(`moving the backend clock answered ${answer.status} ${answer.text}`);
  }

  /** Polls the backend clock until it reaches `target` (ms); sleeps by the measured scale in between. */
  async function waitForBackend(target: number): Promise<Date> {
    for (;;) {
      const now = await api.health();
      if (now.getTime() >= target) return now;
      const realMs = (target - now.getTime()) / scale;
      await sleep(Math.min(Math.max(realMs + 2, 5), 5_000));
    }
  }

  // Days are pipelined: a stream starts once its day has ended on the backend clock and the same
  // key's stream of the day before is done (per kiosk and per person, order is kept), while
  // at most `concurrency` requests are in flight and at most PIPELINE_DAYS days are open.
  const sendsOfDay = plan.days.map((day) =>
    day.streams.reduce((sum, stream) => sum + stream.sends.length, 0),
  );
  const chains = new Map<string, Promise<void>>();
  const finished: Promise<void>[] = [];
  const doneDays = new Array<boolean>(plan.days.length).fill(false);
  const realAtDay: number[] = [];
  const requestsAtDay: number[] = [];
  const sendStart = Date.now();
  let completedThrough = -1;
  let maxBehind = 0;
  let warnedAt = 0;
  let paceWarned = false;
  let advice = '';

  const suggestScale = (perSecond: number) => {
    const perDay = summary.sends / parameters.days;
    const fastest = (86_400 * perSecond) / perDay;
    return Math.max(3_600, Math.floor((fastest * 0.7) / 3_600) * 3_600);
  };

  /** After day `index` is done: progress, how far behind the backend clock, and whether the pace can hold. */
  async function dayDone(index: number): Promise<void> {
    doneDays[index] = true;
    while (completedThrough + 1 < doneDays.length && doneDays[completedThrough + 1]) {
      completedThrough += 1;
      realAtDay[completedThrough] = Date.now();
      requestsAtDay[completedThrough] = stats.requests;
    }
    const through = completedThrough;
    if (through < 0) return;
    const backendNow = await api.health();
    const behind = Math.max(0, dayNumber(utcDayOf(backendNow)) - (startNumber + through + 1));
    maxBehind = Math.max(maxBehind, behind);
    const day = plan.days[through];

    // Saturated (behind): the recent request rate is what this backend takes; project the end.
    const window = through - 10;
    if (!paceWarned && window >= 0 && behind > 0) {
      const perSecond =
        (stats.requests - requestsAtDay[window]) / Math.max(0.001, (Date.now() - realAtDay[window]) / 1000);
      const remainingSends = sendsOfDay.slice(through + 1).reduce((sum, n) => sum + n, 0);
      const remainingBackendDays = Math.max(0, parameters.days - (through + 1) - behind);
      const projected =
        behind + ((remainingSends / perSecond - (remainingBackendDays * 86_400) / scale) * scale) / 86_400;
      if (projected > BEHIND_WARNING_DAYS) {
        paceWarned = true;
        advice = ` Suggested: TIME_SCALE=${suggestScale(perSecond)} on a fresh DATA_DIR.`;
        progress.note(
          `warning: this backend takes about ${Math.round(perSecond)} requests/s and its clock runs ×${Math.round(scale)}: ` +
            `the simulator is ${behind} days behind and will end about ${Math.round(projected)} backend days behind ` +
            `(kiosk events more than 30 days old are refused).${advice}`,
          log,
        );
      }
    }
    if (behind > BEHIND_WARNING_DAYS && behind >= warnedAt + 5) {
      warnedAt = behind;
      progress.note(
        `warning: the simulator is ${behind} backend days behind the backend clock after ${day.day}; ` +
          `kiosk events more than 30 days old are refused. Use a slower TIME_SCALE (fresh DATA_DIR) or fewer kiosks/enrollments.${advice}`,
        log,
      );
    }
    progress.update(
      {
        day: through + 1,
        days: plan.days.length,
        date: day.day,
        backendDay: utcDayOf(backendNow),
        behind,
        requests: stats.requests,
        errors: stats.errors,
        rate: stats.requests / Math.max(0.001, (Date.now() - sendStart) / 1000),
      },
      through === plan.days.length - 1,
    );
  }

  if (manual) {
    // Day by day: the clock moves to the end of the day (firing what falls due), the day's facts
    // are sent, the backend settles, then staff work their tasks. Nothing races the machine.
    for (const day of plan.days) {
      const dayEnd = (startNumber + day.index + 1) * DAY_MS;
      options.onDay?.(day.index);
      await advanceBackend(dayEnd);
      arrivalAt = dayEnd;
      await Promise.all(
        day.streams.map(async ({ sends }) => {
          for (const item of sends) await slots.run(() => send(item));
        }),
      );
      await advanceBackend(dayEnd);
      await workTasks(day.index);
      const done = dayDone(day.index);
      finished.push(done);
      await done;
    }
  }
  for (const day of manual ? [] : plan.days) {
    if (day.index >= PIPELINE_DAYS) await finished[day.index - PIPELINE_DAYS];
    await waitForBackend((startNumber + day.index + 1) * DAY_MS);
    const parts = day.streams.map(({ key, sends }) => {
      const next = (chains.get(key) ?? Promise.resolve()).then(async () => {
        for (const item of sends) await slots.run(() => send(item));
      });
      chains.set(key, next);
      return next;
    });
    parts.push(workTasks(day.index));
    const done = Promise.all(parts).then(() => dayDone(day.index));
    done.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
    finished.push(done);
  }
  await Promise.all(finished);
  progress.done();

  // Every task as the list shows it (the outreach figures' facts), the backend's now, then the truth
  // and the backend's reports for the same range, raw counts.
  const listed: ListedTask[] = [];
  for (let next: string | undefined, first = true; first || next; first = false) {
    const query = next ? `&next=${encodeURIComponent(next)}` : '';
    const answer = await api.staff('tasks-list', 'admin', 'GET', `/v1/outreach/tasks?limit=500${query}`);
    if (answer.status !== 200) {
      stats.noteUnexpected('tasks-list', 'final', answer.status, answer.text);
      break;
    }
    listed.push(...((answer.body?.tasks ?? []) as ListedTask[]));
    next = answer.body?.next;
  }
  const asOf = (await api.health()).toISOString();
  const acks: Acknowledged = acknowledged;
  const range$ = { from: plan.startDay, to: plan.endDay };
  const endAt = manual ? (await api.health()).getTime() : undefined;
  const fleet = fleetTruth(plan, acks, {
    ...range$,
    ...(manual ? { arrivals, registeredAt: first.getTime(), endAt } : {}),
  });
  const naloxone = withFleetRows(
    naloxoneTruth(plan, acks, plan.startDay, plan.endDay, asOf, listed),
    fleetReportRows(plan, fleet, range$),
  );
  const moud = moudTruth(plan, acks, plan.startDay, plan.endDay, asOf, listed);
  const range = `from=${plan.startDay}&to=${plan.endDay}&raw=true`;
  const [naloxoneReport, moudReport] = await Promise.all([
    api.staff('report', 'admin', 'GET', `/v1/reports/naloxone?${range}`),
    api.staff('report', 'admin', 'GET', `/v1/reports/moud?${range}`),
  ]);
  for (const [name, answer] of [
    ['naloxone', naloxoneReport],
    ['moud', moudReport],
  ] as const) {
    if (answer.status !== 200) stats.noteUnexpected('report', name, answer.status, answer.text);
  }
  const kiosks = await listKiosks();
  const { from: _nf, to: _nt, ...naloxoneFigures } = naloxone;
  const { from: _mf, to: _mt, ...moudFigures } = moud;
  const comparison = compare([
    ...compareFigures('naloxone', naloxoneFigures, naloxoneReport.body),
    ...compareFigures('moud', moudFigures, moudReport.body),
    // Offline hours have a truth on a manual clock only (arrival times are the backend's).
    ...fleetRows(fleet, naloxoneReport.body, kiosks, manual),
  ]);
  const table = formatComparison(comparison);

  const truth: TruthFile = {
    parameters: { ...parameters, url: options.url, concurrency },
    planHash: hash,
    startDay: plan.startDay,
    endDay: plan.endDay,
    generated: summary,
    requests: stats.toJSON(),
    naloxone,
    moud,
    fleet,
    comparison: { matches: comparison.matches, mismatches: comparison.mismatches },
    timing: {
      realSeconds: Math.round((Date.now() - realStart) / 100) / 10,
      backendTimeScale: manual ? 'manual' : Math.round(scale),
      maxDaysBehind: maxBehind,
    },
  };
  if (options.out) writeFileSync(options.out, `${JSON.stringify(truth, null, 2)}\n`);

  log(
    `requests: ${stats.requests} (${JSON.stringify(stats.byStatus)}), duplicates answered ${JSON.stringify(stats.duplicates)}, ` +
      `unexpected answers ${stats.unexpectedCount}, at most ${maxBehind} days behind, ${truth.timing.realSeconds} s`,
  );
  for (const entry of stats.unexpected.slice(0, 10)) {
    log(`  unexpected: ${entry.kind} ${entry.key} → ${entry.status} ${entry.detail}`);
  }
  log(table);
  return {
    plan,
    planHash: hash,
    truth,
    backend: { naloxone: naloxoneReport.body, moud: moudReport.body, kiosks },
    comparison,
    table,
    stats,
    enrollmentIds,
  };
}

function formatDuration(seconds: number): string {
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86_400)} days`;
}
