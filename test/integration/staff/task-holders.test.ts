/**
 * Issue 11: named staff of the embedded backend (npm run staff), each with a token of their own;
 * outreach tasks claimed, handed over and released, the list showing who holds what and narrowed
 * by site, kind, overdue and "mine"; the audit trail naming the person.
 */
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentClient, tableName } from '../../../functions/adapters/dynamo.js';
import { addStaff } from '../../../lib/embedded/staff.js';
import { ADMIN, dispense, OUTREACH, startTestBackend } from '../../support/backend.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

let api: Awaited<ReturnType<typeof startTestBackend>>;
let maria: string;
let ana: string;
let boss: string;

const CLOCK_START = '2026-11-20T12:00:00.000Z';
/** The backend clock once the tasks are seeded: the north tasks were due two hours before. */
const NOW = '2026-11-20T14:00:00.000Z';

async function contactTask(kiosk: { kioskId: string; secret: string }, occurredAt: string) {
  const answer = await api.kioskPost(
    kiosk,
    dispense({ occurredAt, contactRequest: { phone: '+15555550123', topic: 'treatment' } }),
  );
  expect(answer.status).toBe(201);
}

async function openTasks(token: string, query = '') {
  const answer = await api.staff(token, 'GET', `/v1/outreach/tasks?status=open${query}`);
  expect(answer.status).toBe(200);
  return answer.body.tasks as {
    taskId: string;
    siteId: string;
    kind: string;
    dueAt: string;
    heldBy?: string;
  }[];
}

beforeAll(async () => {
  api = await startTestBackend({ TIME_SCALE: 'manual', CLOCK_START });
  maria = addStaff(api.dataDir, 'maria', 'outreach');
  ana = addStaff(api.dataDir, 'ana', 'outreach');
  boss = addStaff(api.dataDir, 'lee', 'admin');
  const north = await api.registerKiosk({
    siteId: 'site-north',
    lowStockThreshold: 0,
    inventory: { 'naloxone-nasal-4mg': 50 },
  });
  const south = await api.registerKiosk({
    siteId: 'site-south',
    lowStockThreshold: 0,
    inventory: { 'naloxone-nasal-4mg': 50 },
  });
  // A kiosk contact task is due when it is recorded: two north at the start (overdue two hours later),
  // two south two hours later.
  await contactTask(north, '2026-11-20T11:00:00Z');
  await contactTask(north, '2026-11-20T11:30:00Z');
  await api.backend.advanceTo(new Date(NOW));
  await contactTask(south, '2026-11-20T13:00:00Z');
  await contactTask(south, '2026-11-20T13:30:00Z');
}, 60_000);
afterAll(async () => {
  await api.backend.stop();
});

describe('named staff of the embedded backend', () => {
  it('adds a person from the command line with a token of their own, kept hashed in a 0600 file', async () => {
    // Act
    const { stdout } = await run('npx', ['tsx', 'scripts/staff.ts', 'add', 'sam', '--group', 'outreach'], {
      cwd: ROOT,
      env: { ...process.env, DATA_DIR: api.dataDir },
    });
    const token = stdout.trim();
    const me = await api.staff(token, 'GET', '/v1/me');

    // Assert
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ username: 'sam', groups: ['outreach'] });
    expect(statSync(join(api.dataDir, 'staff.json')).mode & 0o777).toBe(0o600);
    expect(
      JSON.stringify(
        await import('node:fs').then((fs) => fs.readFileSync(join(api.dataDir, 'staff.json'), 'utf8')),
      ),
    ).not.toContain(token);
  });

  it('keeps the two role tokens working beside named staff', async () => {
    // Act
    const admin = await api.staff(ADMIN, 'GET', '/v1/me');
    const outreach = await api.staff(OUTREACH, 'GET', '/v1/me');

    // Assert
    expect(admin.body).toEqual({ username: 'admin', groups: ['admin'] });
    expect(outreach.body).toEqual({ username: 'outreach', groups: ['outreach'] });
  });

  it('lists the named staff with their groups, for a handover', async () => {
    // Act
    const answer = await api.staff(maria, 'GET', '/v1/staff');

    // Assert
    expect(answer.status).toBe(200);
    expect(answer.body.staff).toEqual(
      expect.arrayContaining([
        { username: 'ana', groups: ['outreach'] },
        { username: 'lee', groups: ['admin'] },
        { username: 'maria', groups: ['outreach'] },
      ]),
    );
  });

  it('refuses a token nobody has, and an outreach person on an admin route', async () => {
    // Act
    const unknown = await api.staff('stf_not-a-token', 'GET', '/v1/me');
    const forbidden = await api.staff(maria, 'GET', '/v1/sites');

    // Assert
    expect(unknown.status).toBe(401);
    expect(forbidden.status).toBe(403);
  });
});

describe('claiming, handing over and releasing a task', () => {
  it('shows who holds a claimed task in the list, and the same claim again changes nothing', async () => {
    // Arrange
    const [task] = await openTasks(maria);

    // Act
    const first = await api.staff(maria, 'POST', `/v1/outreach/tasks/${task!.taskId}/claim`);
    const again = await api.staff(maria, 'POST', `/v1/outreach/tasks/${task!.taskId}/claim`);
    const listed = (await openTasks(ana)).find((t) => t.taskId === task!.taskId);

    // Assert
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ taskId: task!.taskId, heldBy: 'maria', heldSince: NOW });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(listed?.heldBy).toBe('maria');
  });

  it('refuses a claim of a task someone else holds, naming the holder', async () => {
    // Arrange
    const held = (await openTasks(ana)).find((t) => t.heldBy === 'maria')!;

    // Act
    const answer = await api.staff(ana, 'POST', `/v1/outreach/tasks/${held.taskId}/claim`);

    // Assert
    expect(answer.status).toBe(409);
    expect(answer.body.error).toMatchObject({ code: 'task_held', message: 'This task is held by maria.' });
  });

  it('hands a task to a colleague, who then finds it under mine', async () => {
    // Arrange
    const held = (await openTasks(maria)).find((t) => t.heldBy === 'maria')!;

    // Act
    const handed = await api.staff(maria, 'POST', `/v1/outreach/tasks/${held.taskId}/handover`, {
      to: 'ana',
    });
    const anas = await openTasks(ana, '&mine=true');
    const marias = await openTasks(maria, '&mine=true');

    // Assert
    expect(handed.status).toBe(200);
    expect(handed.body.heldBy).toBe('ana');
    expect(anas.map((t) => t.taskId)).toEqual([held.taskId]);
    expect(marias).toEqual([]);
  });

  it('refuses a handover to someone who is not staff, and one by a person who does not hold the task', async () => {
    // Arrange
    const held = (await openTasks(ana, '&mine=true'))[0]!;

    // Act
    const stranger = await api.staff(ana, 'POST', `/v1/outreach/tasks/${held.taskId}/handover`, {
      to: 'nobody',
    });
    const notHolder = await api.staff(maria, 'POST', `/v1/outreach/tasks/${held.taskId}/handover`, {
      to: 'maria',
    });

    // Assert
    expect(stranger.status).toBe(400);
    expect(stranger.body.error.issues).toEqual([
      { path: 'to', message: 'is not a member of staff (GET /v1/staff)' },
    ]);
    expect(notHolder.status).toBe(409);
    expect(notHolder.body.error.code).toBe('task_held');
  });

  it('lets an administrator release a task someone else holds, and a release again changes nothing', async () => {
    // Arrange
    const held = (await openTasks(ana, '&mine=true'))[0]!;

    // Act
    const refused = await api.staff(maria, 'POST', `/v1/outreach/tasks/${held.taskId}/release`);
    const released = await api.staff(boss, 'POST', `/v1/outreach/tasks/${held.taskId}/release`, {});
    const again = await api.staff(ana, 'POST', `/v1/outreach/tasks/${held.taskId}/release`);

    // Assert
    expect(refused.status).toBe(409);
    expect(released.status).toBe(200);
    expect(released.body.heldBy).toBeUndefined();
    expect(again.status).toBe(200);
  });

  it('refuses to claim a completed task, and a claim of an unknown one is 404', async () => {
    // Arrange
    const [task] = await openTasks(maria, '&siteId=site-south');
    await api.staff(maria, 'POST', `/v1/outreach/tasks/${task!.taskId}/complete`, { outcome: 'reached' });

    // Act
    const completed = await api.staff(maria, 'POST', `/v1/outreach/tasks/${task!.taskId}/claim`);
    const unknown = await api.staff(maria, 'POST', '/v1/outreach/tasks/T-nothing/claim');

    // Assert
    expect(completed.status).toBe(409);
    expect(completed.body.error.code).toBe('task_already_completed');
    expect(unknown.status).toBe(404);
  });

  it('names the person in the audit trail of every claim, handover and release', async () => {
    // Act
    const entries =
      (await documentClient.send(new ScanCommand({ TableName: tableName('audit') }))).Items ?? [];
    const holds = entries.filter((entry) => ['claim', 'handover', 'release'].includes(String(entry.action)));

    // Assert: one entry per change that happened, none for the answers that changed nothing
    expect(
      holds.map((entry) => `${entry.action}:${entry.actor}${entry.to ? `>${entry.to}` : ''}`).sort(),
    ).toEqual(['claim:maria', 'handover:maria>ana', 'release:lee'].sort());
  });
});

describe('narrowing the task list', () => {
  it('lists the tasks of one site, one kind, or those overdue on the backend clock', async () => {
    // Act
    const north = await openTasks(maria, '&siteId=site-north');
    const kind = await openTasks(maria, '&kind=kiosk-contact');
    const none = await openTasks(maria, '&kind=no-such-kind');
    const overdue = await openTasks(maria, '&overdue=true');

    // Assert
    expect(north).toHaveLength(2);
    expect(north.every((task) => task.siteId === 'site-north')).toBe(true);
    expect(kind).toHaveLength(3);
    expect(none).toEqual([]);
    expect(overdue.map((task) => task.siteId)).toEqual(['site-north', 'site-north']);
    expect(overdue.every((task) => task.dueAt < NOW)).toBe(true);
  });

  it('pages a filtered list, and refuses a cursor of another filter', async () => {
    // Act
    const first = await api.staff(maria, 'GET', '/v1/outreach/tasks?status=open&siteId=site-north&limit=1');
    const second = await api.staff(
      maria,
      'GET',
      `/v1/outreach/tasks?status=open&siteId=site-north&limit=1&next=${first.body.next}`,
    );
    const mixed = await api.staff(
      maria,
      'GET',
      `/v1/outreach/tasks?status=open&siteId=site-south&limit=1&next=${first.body.next}`,
    );

    // Assert
    expect(first.body.tasks).toHaveLength(1);
    expect(second.body.tasks).toHaveLength(1);
    expect(second.body.tasks[0].taskId).not.toBe(first.body.tasks[0].taskId);
    expect(mixed.status).toBe(400);
  });

  it('refuses overdue=false and a site id too long to be one', async () => {
    // Act
    const overdue = await api.staff(maria, 'GET', '/v1/outreach/tasks?overdue=false');
    const site = await api.staff(maria, 'GET', `/v1/outreach/tasks?siteId=${'s'.repeat(101)}`);

    // Assert
    expect(overdue.status).toBe(400);
    expect(site.status).toBe(400);
  });
});
