import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import { OUTBOX_KEEP_DAYS } from '../../../functions/adapters/notices/outbox.js';
import { silenceDeadline } from '../../../functions/core/fleet/fleet.js';
import { type TaskStatus, taskIndexKeys } from '../../../functions/core/staff/tasks.js';
import { type TableDeclaration, type TableName, tables } from '../../manifest.js';
import { ensureTables } from './dynamo.js';

type Item = Record<string, AttributeValue>;

/** What an item written by an earlier version needs to fit the current manifest, per table. */
const upgrades: Partial<Record<TableName, (item: Record<string, unknown>) => Record<string, unknown>>> = {
  // Rows written back go through the table's stream (INSERT): the relay publishes them, then marks them.
  outbox: (item) => upgradeOutboxRow(item),
  // The task list's index moved from `status` to `statusShard` (functions/core/staff/tasks.ts).
  tasks: (item) =>
    item.statusShard === undefined && typeof item.taskId === 'string' && typeof item.status === 'string'
      ? { ...item, ...taskIndexKeys(item.taskId, item.status as TaskStatus) }
      : item,
  // Kiosks of the version before the fleet: watched for silence from their last event (or registration).
  kiosks: (item) => {
    if (item.watch !== undefined || item.offlineSince !== undefined || typeof item.createdAt !== 'string')
      return item;
    return {
      ...item,
      silentAt: silenceDeadline(item),
      watch: 'online',
      lotStock: item.lotStock ?? {},
      quarantine: item.quarantine ?? {},
      openFaults: item.openFaults ?? {},
    };
  },
};

/** Outbox rows of versions that published on the request path: what is left was never published. */
function upgradeOutboxRow(item: Record<string, unknown>): Record<string, unknown> {
  if (item.publishedAt !== undefined || item.unpublished !== undefined || typeof item.createdAt !== 'string')
    return item;
  return {
    ...item,
    unpublished: 'pending',
    expiresAt: Math.floor(Date.parse(item.createdAt) / 1000) + OUTBOX_KEEP_DAYS * 86_400,
  };
}

const backupFile = (dataDir: string, table: string) => join(dataDir, `migration-${table}.json`);

/** The table's indexes as "name:hash:range", sorted, for comparison with the manifest's. */
function indexSignature(indexes: readonly { name: string; keys: readonly string[] }[]): string {
  return indexes
    .map((index) => `${index.name}:${index.keys.join(':')}`)
    .sort()
    .join(',');
}

function declaredIndexes(declaration: TableDeclaration): string {
  return indexSignature(
    (declaration.indexes ?? []).map((index) => ({
      name: index.indexName,
      keys: [index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : [])],
    })),
  );
}

async function scanAll(client: DynamoDBClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let startKey: Item | undefined;
  do {
    const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: startKey }));
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

async function gone(client: DynamoDBClient, table: string): Promise<void> {
  for (;;) {
    try {
      await client.send(new DescribeTableCommand({ TableName: table }));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return;
      throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function putAll(client: DynamoDBClient, table: string, items: readonly Item[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let pending = items.slice(i, i + 25).map((item) => ({ PutRequest: { Item: item } }));
    while (pending.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] ?? []) as typeof pending;
    }
  }
}

/**
 * Brings the tables of a data directory made by an earlier version up to the manifest. dynalite
 * cannot add or drop a global secondary index, so a table whose indexes differ is rebuilt: its items
 * go to `DATA_DIR/migration-<table>.json` first, then the table is dropped, created anew and the
 * items (upgraded) written back, and the file removed. A start that finds such a file (the previous
 * one died in between) finishes the restore before anything else.
 */
export async function migrateTables(
  client: DynamoDBClient,
  dataDir: string,
  physical: Record<TableName, string>,
  tablePrefix = '',
): Promise<TableName[]> {
  const rebuilt: TableName[] = [];
  for (const [name, declaration] of Object.entries(tables) as [TableName, TableDeclaration][]) {
    const table = physical[name];
    const file = backupFile(dataDir, table);
    if (!existsSync(file)) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
      const current = indexSignature(
        (Table?.GlobalSecondaryIndexes ?? []).map((index) => ({
          name: index.IndexName ?? '',
          keys: (index.KeySchema ?? []).map((key) => key.AttributeName ?? ''),
        })),
      );
      if (current === declaredIndexes(declaration)) continue;
      const upgrade = upgrades[name] ?? ((item) => item);
      const items = (await scanAll(client, table)).map((item) =>
        marshall(upgrade(unmarshall(item)), { removeUndefinedValues: true }),
      );
      writeFileSync(`${file}.tmp`, JSON.stringify(items), { mode: 0o600 });
      renameSync(`${file}.tmp`, file);
      await client.send(new DeleteTableCommand({ TableName: table }));
      await gone(client, table);
      await ensureTables(client, tablePrefix);
    }
    await putAll(client, table, JSON.parse(readFileSync(file, 'utf8')) as Item[]);
    rmSync(file, { force: true });
    rebuilt.push(name);
  }
  return rebuilt;
}
