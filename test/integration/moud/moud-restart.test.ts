import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN, client, OUTREACH } from '../../support/backend.js';
import { startChild } from '../../support/child.js';

const HOUR = 3_600_000;

async function advance(api: ReturnType<typeof client>, to: number) {
  const answer = await api.staff(ADMIN, 'POST', '/local/clock', { advanceTo: new Date(to).toISOString() });
  expect(answer.status, answer.text).toBe(200);
  return answer.body.now as string;
}

describe('a pending follow-up across a SIGKILL', () => {
  it('still opens the 72-hour task exactly once after the backend was killed and started again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-moud-restart-'));
    const start = Date.parse('2026-04-01T09:00:00Z');
    const env = {
      ADMIN_TOKEN: ADMIN,
      OUTREACH_TOKEN: OUTREACH,
      TIME_SCALE: 'manual',
      CLOCK_START: new Date(start).toISOString(),
    };
    let backend = await startChild(dataDir, env);
    let api = client(backend.url, dataDir);
    const enrolled = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-RESTART',
      siteId: 'site-restart',
      enrolledOn: '2026-04-01',
      medication: 'methadone',
      overdosesPrior12m: 3,
      consent: { outreach: true, part2: true },
    });
    expect(enrolled.status).toBe(201);
    const { enrollmentId } = enrolled.body;
    await advance(api, start + 48 * HOUR);

    await backend.kill9();
    backend = await startChild(dataDir, env);
    api = client(backend.url, dataDir);
    const nowAfterRestart = (await api.request('GET', '/health')).body.now;
    const mine = async () =>
      (
        (await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks')).body.tasks as { enrollmentId?: string }[]
      ).filter((task) => task.enrollmentId === enrollmentId);
    const beforeDue = await mine();
    await advance(api, start + 72 * HOUR);
    const atDue = await mine();
    // Thirty backend hours later: no second task, and the open one escalated once.
    await advance(api, start + 102 * HOUR);
    const later = await mine();
    const messages = api.outbox().filter((line) => JSON.parse(line.message).enrollmentId === enrollmentId);
    await backend.stop();

    expect(nowAfterRestart).toBe(new Date(start + 48 * HOUR).toISOString());
    expect(beforeDue).toHaveLength(0);
    expect(atDue).toHaveLength(1);
    expect(later).toHaveLength(1);
    expect(later[0]).toMatchObject({ kind: 'checkpoint-72h', enrollmentId });
    expect(messages.filter((line) => line.topic === 'outreach')).toHaveLength(1);
    expect(messages.filter((line) => line.topic === 'outreach-escalation')).toHaveLength(1);
  }, 90_000);
});

describe('the manual clock across restarts', () => {
  it('keeps the time it was moved to, refuses to go back, and ignores a later CLOCK_START or TIME_SCALE', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-manual-clock-'));
    const first = await startChild(dataDir, {
      ADMIN_TOKEN: ADMIN,
      OUTREACH_TOKEN: OUTREACH,
      TIME_SCALE: 'manual',
      CLOCK_START: '2030-01-01T00:00:00Z',
    });
    const firstApi = client(first.url, dataDir);
    const moved = await advance(firstApi, Date.parse('2030-02-01T12:00:00Z'));
    await first.kill9();
    const second = await startChild(dataDir, {
      ADMIN_TOKEN: ADMIN,
      OUTREACH_TOKEN: OUTREACH,
      TIME_SCALE: '86400',
      CLOCK_START: '2020-01-01T00:00:00Z',
    });
    const api = client(second.url, dataDir);
    const health = (await api.request('GET', '/health')).body;
    const backwards = await api.staff(ADMIN, 'POST', '/local/clock', { advanceTo: '2030-01-15T00:00:00Z' });
    const kept = JSON.parse(readFileSync(join(dataDir, 'clock.json'), 'utf8'));
    await second.stop();

    expect(moved).toBe('2030-02-01T12:00:00.000Z');
    expect(health.now).toBe('2030-02-01T12:00:00.000Z');
    expect(backwards.status).toBe(409);
    expect(backwards.body.error.code).toBe('clock_backwards');
    expect(kept.timeScale).toBe('manual');
  }, 90_000);
});
