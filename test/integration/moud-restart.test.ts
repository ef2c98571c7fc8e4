import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ADMIN, client, OUTREACH } from '../support/backend.js';
import { startChild } from '../support/child.js';

/** Twelve backend hours per real second: the 72-hour checkpoint is six seconds away. */
const TIME_SCALE = '43200';

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
  return undefined;
}

describe('a pending follow-up across a SIGKILL', () => {
  it('still opens the 72-hour task exactly once after the backend was killed and started again', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-moud-restart-'));
    const env = { ADMIN_TOKEN: ADMIN, OUTREACH_TOKEN: OUTREACH, TIME_SCALE };
    let backend = await startChild(dataDir, env);
    let api = client(backend.url, dataDir);
    const health = (await api.request('GET', '/health')).body;
    const enrolled = await api.staff(OUTREACH, 'POST', '/v1/moud/enrollments', {
      participantRef: 'P-RESTART',
      siteId: 'site-restart',
      enrolledOn: health.now.slice(0, 10),
      medication: 'methadone',
      overdosesPrior12m: 3,
      consent: { outreach: true, part2: true },
    });
    expect(enrolled.status).toBe(201);
    const { enrollmentId } = enrolled.body;

    await backend.kill9();
    backend = await startChild(dataDir, env);
    api = client(backend.url, dataDir);
    const tasks = await until(async () => {
      const list = (await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks')).body.tasks as {
        enrollmentId?: string;
      }[];
      const mine = list.filter((task) => task.enrollmentId === enrollmentId);
      return mine.length ? mine : undefined;
    }, 30_000);
    // Thirty backend hours later: no second task, and the open one escalated once.
    await new Promise((r) => setTimeout(r, 2_500));
    const later = (await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks')).body.tasks.filter(
      (task: { enrollmentId?: string }) => task.enrollmentId === enrollmentId,
    );
    const mine = api.outbox().filter((line) => JSON.parse(line.message).enrollmentId === enrollmentId);
    await backend.stop();

    expect(tasks).toHaveLength(1);
    expect(later).toHaveLength(1);
    expect(later[0]).toMatchObject({ kind: 'checkpoint-72h', enrollmentId });
    expect(mine.filter((line) => line.topic === 'outreach')).toHaveLength(1);
    expect(mine.filter((line) => line.topic === 'outreach-escalation')).toHaveLength(1);
  }, 90_000);
});
