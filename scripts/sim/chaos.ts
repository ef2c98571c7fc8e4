import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { startEmbeddedDynamo } from '../../lib/embedded/dynamo/dynamo.js';
import { type BackendProcess, freePort, startBackendProcess } from './backend-process.js';
import { Api, Stats } from './client.js';
import { stream } from './random.js';
import { type SimulationResult, simulate } from './simulate.js';

/**
 * A program played against a backend that fails the way AWS does (FAULT_RATE) and, in the
 * large run, is killed with SIGKILL at random moments and started again. The client retries
 * every 5xx and every request left unanswered with the same body, as the contract says a
 * client should. Then the invariants that must hold whatever happened are checked.
 */

export interface ChaosOptions {
  readonly seed: number;
  readonly kiosks: number;
  readonly days: number;
  readonly enrollments: number;
  readonly faultRate: number;
  /** SIGKILLs of the backend during the run (at seeded days, a seeded moment into the day). */
  readonly kills: number;
  readonly log?: (line: string) => void;
  readonly progress?: boolean;
}

export interface Invariant {
  readonly name: string;
  readonly holds: boolean;
  readonly detail: string;
}

export interface ChaosReport {
  readonly requests: number;
  readonly retries: number;
  readonly serverErrors: number;
  readonly faultsInjected: Record<string, number>;
  readonly kills: number;
  readonly invariants: readonly Invariant[];
  readonly holds: boolean;
  readonly realSeconds: number;
  readonly simulation: SimulationResult;
}

const ADMIN = 'chaos-admin';
const OUTREACH = 'chaos-outreach';
const CLOCK_START = '2026-02-01T00:00:00Z';

interface OutboxLine {
  topic: string;
  message: string;
  messageId: string;
  attributes: Record<string, string>;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-chaos-'));
  const port = await freePort();
  const env = {
    TIME_SCALE: 'manual',
    CLOCK_START,
    FAULT_RATE: String(options.faultRate),
    FAULT_SEED: String(options.seed),
    ADMIN_TOKEN: ADMIN,
    OUTREACH_TOKEN: OUTREACH,
  };
  const outputs: string[] = [];
  const faults: Record<string, number> = {};
  let backend: BackendProcess = await startBackendProcess(dataDir, env, port);

  /** Faults are counted per process: read them before a process goes (or at the end). */
  const collectFaults = async () => {
    try {
      const health = (await (await fetch(`${backend.url}/health`)).json()) as {
        faultsInjected?: Record<string, number>;
      };
      return health.faultsInjected ?? {};
    } catch {
      return {};
    }
  };
  let lastFaults: Record<string, number> = {};
  const addFaults = (counts: Record<string, number>) => {
    for (const [kind, count] of Object.entries(counts)) faults[kind] = (faults[kind] ?? 0) + count;
  };

  // Kills: at seeded days, a seeded moment into the day's requests; the backend comes back on the same port.
  const random = stream(options.seed, 'chaos-kills');
  const killDays = new Set<number>();
  while (killDays.size < Math.min(options.kills, Math.max(0, options.days - 1))) {
    killDays.add(1 + Math.floor(random() * (options.days - 1)));
  }
  let kills = 0;
  let restarting: Promise<void> = Promise.resolve();
  const killAndRestart = async (delayMs: number) => {
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    addFaults(lastFaults);
    lastFaults = {};
    outputs.push(backend.output());
    await backend.kill9();
    kills += 1;
    backend = await startBackendProcess(dataDir, env, port);
  };

  let simulation: SimulationResult;
  try {
    simulation = await simulate({
      url: backend.url,
      adminToken: ADMIN,
      outreachToken: OUTREACH,
      seed: options.seed,
      kiosks: options.kiosks,
      days: options.days,
      enrollments: options.enrollments,
      concurrency: 8,
      progress: options.progress,
      log,
      // Long enough to outlast a restart of the backend.
      patience: { attempts: 80, maxBackoffMs: 500 },
      onDay: (day) => {
        void collectFaults().then((counts) => {
          if (Object.keys(counts).length) lastFaults = counts;
        });
        if (killDays.has(day)) restarting = killAndRestart(Math.floor(random() * 400));
      },
    });
    await restarting;
  } catch (error) {
    outputs.push(backend.output());
    await backend.stop();
    throw error;
  }
  addFaults(await collectFaults());

  const invariants: Invariant[] = [];
  const check = (name: string, holds: boolean, detail: string) => invariants.push({ name, holds, detail });

  const { stats, comparison } = simulation;
  check(
    'every report figure equals the truth (nothing missing, nothing counted twice)',
    comparison.matches,
    comparison.matches
      ? `${comparison.rows.length} figures compared`
      : comparison.mismatches
          .slice(0, 5)
          .map((m) => `${m.figure}: truth ${m.truth}, backend ${m.backend}`)
          .join('; '),
  );
  check(
    'every fact acknowledged in the end, no answer the contract does not allow',
    stats.unexpected.length === 0,
    stats.unexpected
      .slice(0, 5)
      .map((u) => `${u.kind} ${u.key} → ${u.status}`)
      .join('; ') || `${stats.requests} requests`,
  );

  // Announcements: every copy of one carries one messageId, and every fact that calls for one has it.
  const lines = readFileSync(join(dataDir, 'outbox.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as OutboxLine);
  const byMessageId = new Map<string, Set<string>>();
  const idsByAnnouncement = new Map<string, Set<string>>();
  for (const line of lines) {
    const copies = byMessageId.get(line.messageId) ?? new Set<string>();
    copies.add(`${line.topic}\u0000${line.message}`);
    byMessageId.set(line.messageId, copies);
    const body = JSON.parse(line.message) as { taskId?: string; eventId?: string; kind?: string };
    const about = body.taskId ?? body.eventId;
    if (about) {
      const key = `${line.topic}/${body.kind}/${about}`;
      const ids = idsByAnnouncement.get(key) ?? new Set<string>();
      ids.add(line.messageId);
      idsByAnnouncement.set(key, ids);
    }
  }
  const differingCopies = [...byMessageId.entries()].filter(([, copies]) => copies.size > 1);
  const splitAnnouncements = [...idsByAnnouncement.entries()].filter(([, ids]) => ids.size > 1);
  check(
    'every copy of one announcement carries the same messageId, and one messageId means one message',
    differingCopies.length === 0 && splitAnnouncements.length === 0,
    `${lines.length} lines, ${byMessageId.size} messages; ${differingCopies.length} ids with differing copies, ` +
      `${splitAnnouncements.length} announcements under several ids` +
      (splitAnnouncements.length ? ` (${splitAnnouncements[0][0]})` : ''),
  );

  const announced = (topic: string, about: string) =>
    lines.some((line) => line.topic === topic && line.message.includes(`"${about}"`));
  // Outreach consent of enrollments whose consent never changed (a consent event makes what was due
  // depend on when it was recorded: those are checked by the consent tests, not here).
  const consent = new Map<string, boolean>();
  const changed = new Set<string>();
  for (const day of simulation.plan.days) {
    for (const { sends } of day.streams) {
      for (const { fact } of sends) {
        if (fact.kind === 'moud-event' && fact.event.type === 'consent') changed.add(fact.participantRef);
        if (fact.kind !== 'enrollment') continue;
        const enrollmentId = simulation.enrollmentIds.get(fact.enrollment.participantRef);
        if (enrollmentId) consent.set(enrollmentId, fact.enrollment.consent.outreach);
      }
    }
  }
  for (const [participantRef, enrollmentId] of simulation.enrollmentIds)
    if (changed.has(participantRef)) consent.set(enrollmentId, false);
  const faultEvents = simulation.plan.days.flatMap((day) =>
    day.streams.flatMap((s) =>
      s.sends.flatMap(({ fact, retry }) =>
        !retry && fact.kind === 'kiosk-event' && fact.event.type === 'fault' ? [fact.event.eventId] : [],
      ),
    ),
  );
  const tasks = await allTasks(backend.url);
  const contactable = tasks.filter((task) => (task.enrollmentId ? consent.get(task.enrollmentId) : true));
  const unannounced = [
    ...faultEvents.filter((eventId) => !announced('kiosk-ops', eventId)).map((id) => `fault ${id}`),
    ...contactable.filter((task) => !announced('outreach', task.taskId)).map((task) => `task ${task.taskId}`),
    ...contactable
      .filter((task) => task.escalatedAt && !announced('outreach-escalation', task.taskId))
      .map((task) => `escalation ${task.taskId}`),
  ];
  check(
    'every fault, task and escalation that calls for a message was announced at least once',
    unannounced.length === 0,
    `${faultEvents.length} faults, ${contactable.length} contactable tasks, ` +
      `${contactable.filter((task) => task.escalatedAt).length} escalations; missing: ${unannounced.slice(0, 5).join(', ') || 'none'}`,
  );

  const finalHealth = (await (await fetch(`${backend.url}/health`)).json()) as {
    followUps: { running: number; failed: number };
  };
  outputs.push(backend.output());
  await backend.stop();

  const failures = outputs.join('\n').match(/"message":"follow-up execution failed"/g)?.length ?? 0;
  const enrollments = await scanEnrollments(dataDir);
  const finished = enrollments.filter((item) => item.followUpEndedAt).length;
  const restarted = enrollments.filter((item) => Number(item.restarts ?? 0) > 0);
  check(
    'every enrollment has a live or finished follow-up, and no execution failed',
    finished + finalHealth.followUps.running === enrollments.length &&
      finalHealth.followUps.failed === 0 &&
      failures === 0 &&
      restarted.length === 0,
    `${enrollments.length} enrollments: ${finished} finished, ${finalHealth.followUps.running} running; ` +
      `${failures} executions failed, ${restarted.length} restarted by the sweep`,
  );

  return {
    requests: stats.requests,
    retries: stats.retries,
    serverErrors: stats.serverErrors,
    faultsInjected: faults,
    kills,
    invariants,
    holds: invariants.every((invariant) => invariant.holds),
    realSeconds: Math.round((Date.now() - started) / 100) / 10,
    simulation,
  };
}

interface TaskView {
  taskId: string;
  enrollmentId?: string;
  escalatedAt?: string;
}

/**
 * Every task as an administrator lists them. The backend still fails at FAULT_RATE, so a 5xx
 * (a 503 the contract allows) is retried with the simulator's own client, as any reader would.
 */
async function allTasks(url: string): Promise<TaskView[]> {
  const api = new Api({ url, adminToken: ADMIN, outreachToken: OUTREACH, stats: new Stats(), attempts: 20 });
  const tasks: TaskView[] = [];
  let next: string | undefined;
  do {
    const query = next ? `?next=${encodeURIComponent(next)}` : '';
    const answer = await api.staff('tasks-list', 'admin', 'GET', `/v1/outreach/tasks${query}`);
    if (answer.status !== 200)
      throw new Error(`GET /v1/outreach/tasks answered ${answer.status}: ${answer.text}`);
    tasks.push(...(answer.body.tasks as TaskView[]));
    next = answer.body.next;
  } while (next);
  return tasks;
}

async function scanEnrollments(dataDir: string): Promise<Record<string, unknown>[]> {
  const store = await startEmbeddedDynamo({ dataDir });
  const client = new DynamoDBClient({
    endpoint: store.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  try {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: 'enrollments', ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []).map((item) => unmarshall(item)));
      start = page.LastEvaluatedKey as Record<string, never> | undefined;
    } while (start);
    return items;
  } finally {
    client.destroy();
    await store.close();
  }
}

export function formatChaosReport(report: ChaosReport): string {
  return [
    `chaos: ${report.requests} requests, ${report.retries} retries, ${report.serverErrors} 5xx or unanswered, ` +
      `${report.kills} kills, ${report.realSeconds} s`,
    `faults injected: ${JSON.stringify(report.faultsInjected)}`,
    ...report.invariants.map(
      (invariant) => `${invariant.holds ? 'HOLDS' : 'BROKEN'}  ${invariant.name}: ${invariant.detail}`,
    ),
  ].join('\n');
}
