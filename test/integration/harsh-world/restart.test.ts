import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN, client, dispense, OUTREACH, today } from '../../support/backend.js';
import { startChild } from '../../support/child.js';
import { inPool } from '../../support/pool.js';

/** A phone number that must never leave the store: not in a message, not in a log line. */
const CANARY_PHONE = '+15550008642';
const CANARY_DIGITS = '5550008642';

describe('a backend killed with SIGKILL in the middle of a burst', () => {
  it('keeps every acknowledged write, loses no notification and records every event exactly once after the kiosk retries', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-restart-'));
    const env = { ADMIN_TOKEN: ADMIN, OUTREACH_TOKEN: OUTREACH, POWERTOOLS_LOG_LEVEL: 'INFO' };
    let backend = await startChild(dataDir, env);
    let api = client(backend.url, dataDir);
    const kiosk = await api.registerKiosk({
      siteId: 'site-restart',
      lowStockThreshold: 0,
      inventory: { 'naloxone-nasal-4mg': 100_000 },
    });
    const events = Array.from({ length: 300 }, (_, i) =>
      dispense({
        items: [{ sku: 'naloxone-nasal-4mg', quantity: 1 + (i % 3) }],
        ...(i % 10 === 0 ? { contactRequest: { phone: CANARY_PHONE, topic: 'treatment' } } : {}),
      }),
    );

    // Arrange the kill: after 120 acknowledged answers, SIGKILL while requests are in flight.
    const acknowledged = new Set<string>();
    let killing: Promise<void> | undefined;
    await inPool(events, 16, async (event) => {
      if (killing) return;
      try {
        const answer = await api.kioskPost(kiosk, event);
        if (answer.status === 201 || answer.status === 200) acknowledged.add(event.eventId);
        if (acknowledged.size >= 120 && !killing) killing = backend.kill9();
      } catch {
        // connection reset by the kill: not acknowledged
      }
    });
    await killing;
    const firstOutput = backend.output();

    backend = await startChild(dataDir, env);
    api = client(backend.url, dataDir);
    // The kiosk does not know what landed: it sends everything again.
    const answers = await inPool(events, 16, (event) => api.kioskPost(kiosk, event));
    const report = await api.staff(
      ADMIN,
      'GET',
      `/v1/reports/naloxone?from=${today()}&to=${today()}&siteId=site-restart`,
    );
    const tasks = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=open');
    const outbox = readFileSync(join(dataDir, 'outbox.jsonl'), 'utf8');
    const logs = firstOutput + backend.output();
    await backend.stop();

    expect(acknowledged.size).toBeGreaterThanOrEqual(120);
    expect(answers.every((a) => a.status === 200 || a.status === 201)).toBe(true);
    for (const [i, event] of events.entries()) {
      if (acknowledged.has(event.eventId))
        expect(answers[i].status, 'acknowledged before the kill').toBe(200);
    }
    expect(report.body.dispenseEvents).toBe(300);
    expect(report.body.kitsDispensed['naloxone-nasal-4mg']).toBe(
      events.reduce((sum, e) => sum + e.items[0].quantity, 0),
    );
    const siteTasks = tasks.body.tasks.filter((t: { kioskId?: string }) => t.kioskId === kiosk.kioskId);
    expect(siteTasks).toHaveLength(30);
    const outreachIds = new Set(
      outbox
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line))
        .filter((line) => line.topic === 'outreach')
        .map((line) => JSON.parse(line.message).taskId),
    );
    for (const task of siteTasks)
      expect(outreachIds.has(task.taskId), `message for task ${task.taskId}`).toBe(true);
    expect(outbox).not.toContain(CANARY_DIGITS);
    expect(logs).not.toContain(CANARY_DIGITS);
    expect(logs).toContain('kiosk event recorded');
  }, 120_000);

  it('keeps the clock settings of the first start, whatever a later start says', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-clock-'));
    const first = await startChild(dataDir, {
      CLOCK_START: '2030-01-01T00:00:00Z',
      TIME_SCALE: '3600',
      ADMIN_TOKEN: 'a',
      OUTREACH_TOKEN: 'o',
    });
    const before = ((await (await fetch(`${first.url}/health`)).json()) as { now: string }).now;
    const realBefore = Date.now();
    await first.kill9();
    const second = await startChild(dataDir, {
      CLOCK_START: '2020-01-01T00:00:00Z',
      TIME_SCALE: '1',
      ADMIN_TOKEN: 'a',
      OUTREACH_TOKEN: 'o',
    });
    const after = ((await (await fetch(`${second.url}/health`)).json()) as { now: string }).now;
    const realElapsed = Date.now() - realBefore;
    await second.stop();

    expect(before.startsWith('2030-01-01')).toBe(true);
    expect(Date.parse(after)).toBeGreaterThan(Date.parse(before));
    // One hour of backend time per real second: the seconds between the two starts passed for it too.
    expect(Date.parse(after) - Date.parse(before)).toBeGreaterThan(realElapsed * 3600 * 0.9);
    expect(Date.parse(after) - Date.parse(before)).toBeLessThan((realElapsed + 1000) * 3600);
  }, 120_000);

  it('generates staff tokens once when none are given, prints them once and keeps them', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-tokens-'));
    const first = await startChild(dataDir, { ADMIN_TOKEN: '', OUTREACH_TOKEN: '' });
    const printed = /ADMIN_TOKEN=(\S+)/.exec(first.output())?.[1];
    await first.stop();
    const second = await startChild(dataDir, { ADMIN_TOKEN: '', OUTREACH_TOKEN: '' });
    const answer = await fetch(`${second.url}/v1/outreach/tasks`, {
      headers: { authorization: `Bearer ${printed}` },
    });
    const secondOutput = second.output();
    await second.stop();

    expect(printed).toBeDefined();
    expect(answer.status).toBe(200);
    expect(secondOutput).not.toContain(printed);
  }, 120_000);
});

describe('npm start killed with SIGKILL', () => {
  it('lets the backend go with npm, and a new npm start serves the same data', async () => {
    const { spawn } = await import('node:child_process');
    const { freePort } = await import('../../support/child.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-npm-'));
    const port = await freePort();
    const env = {
      ...process.env,
      PORT: String(port),
      DATA_DIR: dataDir,
      ADMIN_TOKEN: ADMIN,
      OUTREACH_TOKEN: OUTREACH,
    };
    const start = () => spawn('npm', ['start'], { env, stdio: 'ignore', detached: true });
    const healthy = async () => {
      for (let i = 0; i < 300; i += 1) {
        try {
          if ((await fetch(`http://127.0.0.1:${port}/health`)).ok) return true;
        } catch {
          // not yet
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return false;
    };
    const first = start();
    expect(await healthy()).toBe(true);
    const api = client(`http://127.0.0.1:${port}`, dataDir);
    await api.registerKiosk({ kioskId: 'K-NPM-1' });

    process.kill(first.pid!, 'SIGKILL');
    // The backend notices its launcher is gone and leaves; nothing of the first start stays running.
    const groupAlive = (pid: number) => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    let firstGroupAlive = true;
    for (let i = 0; i < 100 && firstGroupAlive; i += 1) {
      await new Promise((r) => setTimeout(r, 100));
      firstGroupAlive = groupAlive(first.pid!);
    }
    const second = start();
    const upAgain = await healthy();
    const again = await api.staff(ADMIN, 'POST', '/v1/kiosks', {
      kioskId: 'K-NPM-1',
      siteId: 's',
      lowStockThreshold: 1,
    });
    process.kill(-second.pid!, 'SIGTERM');
    if (firstGroupAlive) process.kill(-first.pid!, 'SIGKILL');

    expect(firstGroupAlive).toBe(false);
    expect(upAgain).toBe(true);
    expect(again.status).toBe(409);
  }, 90_000);
});
