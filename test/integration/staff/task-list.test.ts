/**
 * Issue 8, item 12: the task list is read from an index spread over shards of each status and
 * answered a page at a time; a data directory written before the change keeps its tasks.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedDynamo } from '../../../lib/embedded/dynamo/dynamo.js';
import { dispense, OUTREACH, startTestBackend } from '../../support/backend.js';

let api: Awaited<ReturnType<typeof startTestBackend>>;
const OLD_TASK = 'T-from-an-earlier-version';

interface Listed {
  taskId: string;
  dueAt: string;
  status: string;
}

/** A data directory as the previous version left it: the tasks table indexed by `status`, one open task. */
async function earlierDataDir(): Promise<string> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bridgeway-tasks-old-'));
  const dynamo = await startEmbeddedDynamo({ dataDir });
  const client = new DynamoDBClient({ endpoint: dynamo.endpoint });
  await client.send(
    new CreateTableCommand({
      TableName: 'tasks',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [
        { AttributeName: 'taskId', AttributeType: 'S' },
        { AttributeName: 'status', AttributeType: 'S' },
        { AttributeName: 'dueAt', AttributeType: 'S' },
      ],
      KeySchema: [{ AttributeName: 'taskId', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'byStatus',
          KeySchema: [
            { AttributeName: 'status', KeyType: 'HASH' },
            { AttributeName: 'dueAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
    }),
  );
  // dynalite creates a table a moment later (CREATING, then ACTIVE), as DynamoDB does: wait for it, or a
  // busy machine's PutItem finds no table yet.
  while (
    (await client.send(new DescribeTableCommand({ TableName: 'tasks' }))).Table?.TableStatus !== 'ACTIVE'
  )
    await new Promise((resolve) => setTimeout(resolve, 20));
  await client.send(
    new PutItemCommand({
      TableName: 'tasks',
      Item: {
        taskId: { S: OLD_TASK },
        kind: { S: 'kiosk-contact' },
        siteId: { S: 'site-7' },
        status: { S: 'open' },
        source: { S: 'kiosk' },
        dueAt: { S: '2020-01-01T00:00:00.000Z' },
        escalateAt: { S: '2020-01-02T00:00:00.000Z' },
        escalatedAt: { S: '2020-01-02T00:00:00.000Z' },
      },
    }),
  );
  client.destroy();
  await dynamo.close();
  return dataDir;
}

async function listAll(query: string, limit: number): Promise<{ tasks: Listed[]; pages: number }> {
  const tasks: Listed[] = [];
  let pages = 0;
  let next: string | undefined;
  do {
    const answer = await api.staff(
      OUTREACH,
      'GET',
      `/v1/outreach/tasks?${query}limit=${limit}${next ? `&next=${encodeURIComponent(next)}` : ''}`,
    );
    expect(answer.status).toBe(200);
    expect(answer.body.tasks.length).toBeLessThanOrEqual(limit);
    tasks.push(...answer.body.tasks);
    pages += 1;
    next = answer.body.next;
  } while (next);
  return { tasks, pages };
}

beforeAll(async () => {
  api = await startTestBackend({}, await earlierDataDir());
  const kiosk = await api.registerKiosk({ lowStockThreshold: 0, inventory: { 'naloxone-nasal-4mg': 100 } });
  for (let i = 0; i < 30; i += 1) {
    const answer = await api.kioskPost(
      kiosk,
      dispense({ contactRequest: { phone: '+15555550123', topic: 'treatment' } }),
    );
    expect(answer.status).toBe(201);
  }
}, 60_000);
afterAll(async () => {
  await api.backend.stop();
});

describe('the outreach task list', () => {
  it('keeps the open task of a data directory written before the index changed', async () => {
    // Act
    const { tasks } = await listAll('status=open&', 100);

    // Assert
    expect(tasks.map((task) => task.taskId)).toContain(OLD_TASK);
    expect(tasks[0]!.taskId).toBe(OLD_TASK); // due first
  });

  it('pages through every open task once, in due order, following next', async () => {
    // Act
    const { tasks, pages } = await listAll('status=open&', 7);

    // Assert
    expect(tasks).toHaveLength(31);
    expect(new Set(tasks.map((task) => task.taskId)).size).toBe(31);
    expect(tasks.map((task) => task.dueAt)).toEqual([...tasks.map((task) => task.dueAt)].sort());
    expect(pages).toBe(5);
  });

  it('moves a completed task from the open pages to the completed ones, and lists both without a status', async () => {
    // Arrange
    const { tasks: open } = await listAll('status=open&', 100);
    const chosen = open.slice(1, 4).map((task) => task.taskId);

    // Act
    for (const taskId of chosen) {
      const done = await api.staff(OUTREACH, 'POST', `/v1/outreach/tasks/${taskId}/complete`, {
        outcome: 'reached',
      });
      expect(done.status).toBe(200);
    }
    const completed = await listAll('status=completed&', 2);
    const stillOpen = await listAll('status=open&', 10);
    const all = await listAll('', 4);

    // Assert
    expect(completed.tasks.map((task) => task.taskId).sort()).toEqual([...chosen].sort());
    expect(completed.tasks.every((task) => task.status === 'completed')).toBe(true);
    expect(stillOpen.tasks.map((task) => task.taskId)).not.toEqual(expect.arrayContaining([chosen[0]]));
    expect(stillOpen.tasks).toHaveLength(28);
    expect(all.tasks).toHaveLength(31);
  });

  it('refuses a cursor of the open listing for the completed one', async () => {
    // Arrange
    const first = await api.staff(OUTREACH, 'GET', '/v1/outreach/tasks?status=open&limit=1');

    // Act
    const answer = await api.staff(
      OUTREACH,
      'GET',
      `/v1/outreach/tasks?status=completed&next=${encodeURIComponent(first.body.next)}`,
    );

    // Assert
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues).toEqual([{ path: 'next', message: expect.any(String) }]);
  });
});
