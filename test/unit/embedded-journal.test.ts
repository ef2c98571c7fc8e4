import { writeSync } from 'node:fs';
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CreateTableCommand, DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dynaliteDb } from '../../lib/embedded/dynamo/dynalite-internals.js';
import {
  type EmbeddedDynamo,
  type EmbeddedDynamoOptions,
  ensureTables,
  startEmbeddedDynamo,
} from '../../lib/embedded/dynamo/dynamo.js';
import { Journal } from '../../lib/embedded/dynamo/journal.js';
import { clientAt, inProcessClient } from '../support/store-client.js';

const require = createRequire(import.meta.url);

describe('the embedded DynamoDB on disk (snapshot and journal)', () => {
  let dataDir: string;
  const storeDir = () => path.join(dataDir, 'store');

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'bridgeway-journal-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  async function withDb<T>(
    work: (doc: DynamoDBDocumentClient, db: EmbeddedDynamo) => Promise<T>,
    options: Pick<
      EmbeddedDynamoOptions,
      'compactJournalAfterBytes' | 'compactAfterJournals' | 'journalWrite'
    > = {},
  ): Promise<T> {
    const db = await startEmbeddedDynamo({ dataDir, ...options });
    const client = clientAt(db.endpoint);
    try {
      await ensureTables(client);
      return await work(DynamoDBDocumentClient.from(client), db);
    } finally {
      client.destroy();
      await db.close();
    }
  }

  it('keeps every write, each increment of a much-updated counter too, across snapshots taken under load and a restart', async () => {
    // Arrange: snapshots every few kilobytes of journal, so that many are written while updates go on.
    await withDb(
      async (doc) => {
        for (let round = 0; round < 30; round += 1) {
          await Promise.all([
            doc.send(
              new UpdateCommand({
                TableName: 'aggregates',
                Key: { pk: 'p', sk: 'counter' },
                UpdateExpression: 'ADD dispenseEvents :one',
                ExpressionAttributeValues: { ':one': 1 },
              }),
            ),
            ...Array.from({ length: 10 }, (_, index) =>
              doc.send(
                new PutCommand({
                  TableName: 'kiosks',
                  Item: { kioskId: `k-${round}-${index}`, note: 'x'.repeat(200) },
                }),
              ),
            ),
          ]);
        }
      },
      { compactJournalAfterBytes: 4096 },
    );

    // Act
    const [counter, kiosks] = await withDb(async (doc) => [
      (await doc.send(new GetCommand({ TableName: 'aggregates', Key: { pk: 'p', sk: 'counter' } }))).Item,
      (await doc.send(new ScanCommand({ TableName: 'kiosks' }))).Items,
    ]);

    // Assert: every write is there, and the snapshots made the journals before them go.
    expect(counter?.dispenseEvents).toBe(30);
    expect(kiosks).toHaveLength(300);
    const files = await readdir(storeDir());
    const snapshots = files.filter((name) => name.startsWith('snapshot-'));
    expect(snapshots).toHaveLength(1);
    const snapshotNumber = Number(/snapshot-(\d+)/.exec(snapshots[0])?.[1]);
    for (const journal of files.filter((name) => name.startsWith('journal-')))
      expect(Number(/journal-(\d+)/.exec(journal)?.[1])).toBeGreaterThanOrEqual(snapshotNumber);
  });

  it('reads the snapshot and journal lines of earlier versions, which held each value as JSON rather than its text', async () => {
    // Arrange: a store with a snapshot and a journal, rewritten line by line as earlier versions wrote them.
    await withDb(
      async (doc) => {
        for (let index = 0; index < 40; index += 1) {
          await doc.send(
            new PutCommand({ TableName: 'kiosks', Item: { kioskId: `k-${index}`, note: `"é" ${index}` } }),
          );
        }
        await doc.send(
          new UpdateCommand({
            TableName: 'aggregates',
            Key: { pk: 'p', sk: 'counter' },
            UpdateExpression: 'ADD dispenseEvents :two',
            ExpressionAttributeValues: { ':two': 2 },
          }),
        );
      },
      { compactJournalAfterBytes: 4096 },
    );
    let rewritten = 0;
    for (const name of await readdir(storeDir())) {
      const file = path.join(storeDir(), name);
      const lines = (await readFile(file, 'utf8')).split('\n').filter(Boolean);
      const earlier = lines.map((text) => {
        const line = JSON.parse(text) as unknown[];
        if (line[0] === 'P') {
          rewritten += 1;
          const pairs: [string, unknown][] = [];
          for (let i = 1; i < line.length; i += 2)
            pairs.push([line[i] as string, JSON.parse(line[i + 1] as string)]);
          return JSON.stringify(pairs);
        }
        return JSON.stringify(
          (line as unknown[][]).map((entry) => {
            if (entry[0] !== 'P') return entry;
            rewritten += 1;
            return ['p', entry[1], JSON.parse(entry[2] as string)];
          }),
        );
      });
      await writeFile(file, earlier.map((line) => `${line}\n`).join(''));
    }

    // Act
    const [counter, kiosks] = await withDb(async (doc) => [
      (await doc.send(new GetCommand({ TableName: 'aggregates', Key: { pk: 'p', sk: 'counter' } }))).Item,
      (await doc.send(new ScanCommand({ TableName: 'kiosks' }))).Items,
    ]);

    // Assert
    expect(rewritten).toBeGreaterThan(1);
    expect(counter?.dispenseEvents).toBe(2);
    expect(kiosks).toHaveLength(40);
    expect(kiosks?.find((kiosk) => kiosk.kioskId === 'k-7')?.note).toBe('"é" 7');
  });

  it('refuses a put of no value without journaling it, in a batch or alone, so that the next start still reads the journal', async () => {
    // Arrange: the store's own LevelDB, journaled, as startEmbeddedDynamo wires it.
    const db = dynaliteDb.create({}).db;
    await db.open();
    const journal = await Journal.open(storeDir(), db);
    await db.batch([{ type: 'put', key: 'kept', value: { n: 1 } }]);

    // Act
    const refusal = db.batch([{ type: 'put', key: 'nothing', value: undefined }]);
    const alone = db.put('nothing either', undefined);

    // Assert
    await expect(refusal).rejects.toThrow();
    await expect(alone).rejects.toThrow();
    await journal.close();
    await db.close();
    const reopened = dynaliteDb.create({}).db;
    await reopened.open();
    const again = await Journal.open(storeDir(), reopened);
    expect(reopened.getSync('kept')).toEqual({ n: 1 });
    await again.close();
    await reopened.close();
  });

  it('skips a write cut short by a crash and keeps what is written after it', async () => {
    // Arrange: the half line a kill -9 in the middle of an append would leave at the end of the journal.
    await withDb((doc) => doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'before' } })));
    const journals = (await readdir(storeDir())).filter((name) => name.startsWith('journal-')).sort();
    await appendFile(path.join(storeDir(), journals.at(-1) as string), '[["p","item-kiosks~half","{\\"kio');

    // Act
    await withDb((doc) => doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'after' } })));
    const items = await withDb(async (doc) =>
      Promise.all(
        ['before', 'after'].map(
          async (kioskId) => (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId } }))).Item,
        ),
      ),
    );

    // Assert
    expect(items).toEqual([{ kioskId: 'before' }, { kioskId: 'after' }]);
  });

  it('answers a write the disk refuses with an error, keeps serving, and keeps every write before and after it', async () => {
    // Arrange: a disk that fills up for a while: the next line is half written before write(2) fails.
    let diskFull = false;
    const journalWrite = (fd: number, bytes: Buffer, offset: number) => {
      if (!diskFull) return writeSync(fd, bytes, offset);
      if (offset === 0) return writeSync(fd, bytes, 0, Math.ceil(bytes.length / 2));
      throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    };
    await withDb(
      async (doc) => {
        const contact = async (contactId: string) =>
          (
            await doc.send(
              new GetCommand({ TableName: 'contacts', Key: { contactId }, ConsistentRead: true }),
            )
          ).Item;
        await doc.send(new PutCommand({ TableName: 'contacts', Item: { contactId: 'before' } }));

        // Act: a plain write (dynalite's own callback path) and a transaction while the disk is full, then one after.
        diskFull = true;
        const refusals = await Promise.all([
          doc.send(new PutCommand({ TableName: 'contacts', Item: { contactId: 'during' } })).catch((e) => e),
          doc
            .send(
              new TransactWriteCommand({
                TransactItems: [
                  { Put: { TableName: 'contacts', Item: { contactId: 'during-transaction' } } },
                ],
              }),
            )
            .catch((e) => e),
        ]);
        const readWhileFull = await contact('before');
        diskFull = false;
        await doc.send(new PutCommand({ TableName: 'contacts', Item: { contactId: 'after' } }));

        // Assert: each refused write failed alone, with a server error, and nothing of it was stored.
        expect(
          refusals.map(
            (error) => (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode,
          ),
        ).toEqual([500, 500]);
        expect(String((refusals[0] as Error).message)).toContain('the journal could not be written (ENOSPC)');
        expect(readWhileFull).toEqual({ contactId: 'before' });
        expect(await contact('during')).toBeUndefined();
      },
      { journalWrite },
    );

    // Assert: after a restart, the writes before and after the full disk are there (the half line was cut off).
    const kept = await withDb((restarted) =>
      Promise.all(
        ['before', 'during', 'during-transaction', 'after'].map(
          async (contactId) =>
            (await restarted.send(new GetCommand({ TableName: 'contacts', Key: { contactId } }))).Item,
        ),
      ),
    );
    expect(kept).toEqual([{ contactId: 'before' }, undefined, undefined, { contactId: 'after' }]);
  });

  it('journals a plain write with its index entries as one line: a disk that fills up after one line leaves them agreeing', async () => {
    // Arrange: the disk takes one more line, then refuses every write (as it would between two lines of
    // one write, had the item and its index entry been journaled apart).
    let linesLeft = Number.POSITIVE_INFINITY;
    const journalWrite = (fd: number, bytes: Buffer, offset: number) => {
      if (offset === 0 && linesLeft-- <= 0) throw Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' });
      return writeSync(fd, bytes, offset);
    };
    await withDb(
      async (doc) => {
        linesLeft = 1;

        // Act: a kiosk the silence sweep watches, so the write has an index entry besides its item.
        await doc.send(
          new PutCommand({
            TableName: 'kiosks',
            Item: { kioskId: 'K-watched', watch: 'online', silentAt: '2026-12-01T00:00:00.000Z' },
          }),
        );

        // Assert: the item and its entry in the bySilence index are both there.
        const watched = await doc.send(
          new QueryCommand({
            TableName: 'kiosks',
            IndexName: 'bySilence',
            KeyConditionExpression: 'watch = :online',
            ExpressionAttributeValues: { ':online': 'online' },
          }),
        );
        const item = await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'K-watched' } }));
        expect(watched.Items?.map((entry) => entry.kioskId)).toEqual(['K-watched']);
        expect(item.Item?.kioskId).toBe('K-watched');
      },
      { journalWrite },
    );
  });

  it('starts from the last whole snapshot when a crash stopped the writing of a newer one', async () => {
    // Arrange: a whole snapshot with the counter in it, a journal after it, and the half-written newer one.
    await withDb(
      async (doc) => {
        await doc.send(
          new PutCommand({
            TableName: 'aggregates',
            Item: { pk: 'p', sk: 'counter', dispenseEvents: 7 },
          }),
        );
        // Writes enough after the counter for a snapshot to be taken with the counter in it.
        for (let i = 0; i < 20; i += 1)
          await doc.send(
            new PutCommand({
              TableName: 'kiosks',
              Item: { kioskId: `filler-${i}`, note: 'x'.repeat(2_000) },
            }),
          );
        await doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'after-snapshot' } }));
      },
      { compactJournalAfterBytes: 1_024 },
    );
    expect((await readdir(storeDir())).some((name) => /^snapshot-\d+\.jsonl$/.test(name))).toBe(true);
    await writeFile(path.join(storeDir(), 'snapshot-99.jsonl.tmp'), '[["item-aggregates~', { mode: 0o600 });

    // Act
    const [counter, kiosk] = await withDb(async (doc) => [
      (await doc.send(new GetCommand({ TableName: 'aggregates', Key: { pk: 'p', sk: 'counter' } }))).Item,
      (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'after-snapshot' } }))).Item,
    ]);

    // Assert
    expect(counter?.dispenseEvents).toBe(7);
    expect(kiosk).toEqual({ kioskId: 'after-snapshot' });
    expect(await readdir(storeDir())).not.toContain('snapshot-99.jsonl.tmp');
  });

  it('keeps no file for a start that wrote nothing, however often the store is started', async () => {
    // Arrange: one start that writes, then five that only read (a service manager restarting an idle backend).
    await withDb((doc) => doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'kept' } })));
    for (let start = 0; start < 5; start += 1) await withDb(async () => undefined);

    // Act
    const journals = (await readdir(storeDir())).filter((name) => name.startsWith('journal-'));
    const kept = await withDb(
      async (doc) => (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'kept' } }))).Item,
    );

    // Assert: the journal with the write, and the one the last start began (removed by the next start if still empty).
    expect(journals.sort()).toEqual(['journal-1.jsonl', 'journal-6.jsonl']);
    expect(kept).toEqual({ kioskId: 'kept' });
  });

  it('folds the journals of many short-lived starts that each wrote something into a snapshot', async () => {
    // Arrange: five starts with one write each, snapshots due after three journals with writes.
    const options = { compactAfterJournals: 3 };
    for (let start = 0; start < 5; start += 1) {
      await withDb(
        (doc) => doc.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: `start-${start}` } })),
        options,
      );
    }

    // Act
    const files = await readdir(storeDir());
    const items = await withDb(
      (doc) =>
        Promise.all(
          [0, 1, 2, 3, 4].map(
            async (start) =>
              (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: `start-${start}` } })))
                .Item,
          ),
        ),
      options,
    );

    // Assert
    expect(files.filter((name) => /^snapshot-\d+\.jsonl$/.test(name))).toHaveLength(1);
    expect(files.filter((name) => name.startsWith('journal-')).length).toBeLessThan(3);
    expect(items).toEqual([0, 1, 2, 3, 4].map((start) => ({ kioskId: `start-${start}` })));
  });

  it('takes over the data of a version that kept it in dynalite’s LevelDB, once', async () => {
    // Arrange: an item written by dynalite on disk, as `npm start` kept it before.
    const dynalite = require('dynalite') as (options: object) => import('node:http').Server;
    const server = dynalite({ path: path.join(dataDir, 'dynamodb'), createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const old = DynamoDBDocumentClient.from(
      clientAt(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    );
    await old.send(
      new CreateTableCommand({
        TableName: 'kiosks',
        AttributeDefinitions: [{ AttributeName: 'kioskId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'kioskId', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    // dynalite makes a new table ACTIVE on a timer: wait for it, as a client would.
    while (
      (await old.send(new DescribeTableCommand({ TableName: 'kiosks' }))).Table?.TableStatus !== 'ACTIVE'
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await old.send(new PutCommand({ TableName: 'kiosks', Item: { kioskId: 'from-leveldb', stock: 3 } }));
    old.destroy();
    await new Promise((resolve) => server.close(resolve));

    // Act: the first start takes it over; the second finds it in its own files.
    const read = () =>
      withDb(
        async (doc) =>
          (await doc.send(new GetCommand({ TableName: 'kiosks', Key: { kioskId: 'from-leveldb' } }))).Item,
      );
    const first = await read();
    const second = await read();

    // Assert
    expect(first).toEqual({ kioskId: 'from-leveldb', stock: 3 });
    expect(second).toEqual({ kioskId: 'from-leveldb', stock: 3 });
    expect(await readdir(dataDir)).toEqual(expect.arrayContaining(['dynamodb-leveldb-imported', 'store']));
    expect(await readdir(dataDir)).not.toContain('dynamodb');
  });
});

describe('the embedded DynamoDB’s memory', () => {
  it('keeps about the bytes of its items alive, not the memory of every request around them', async () => {
    // Arrange: a collectable heap, and the store in memory behind an in-process client.
    setFlagsFromString('--expose-gc');
    const collect = runInNewContext('gc') as () => void;
    const db = await startEmbeddedDynamo({});
    const client = inProcessClient(db);
    await ensureTables(client);
    const doc = DynamoDBDocumentClient.from(client);
    collect();
    const before = process.memoryUsage().arrayBuffers;

    // Act: 2,000 items of about 300 bytes, each written as a handler writes (request, answer, garbage).
    for (let i = 0; i < 2_000; i += 1)
      await doc.send(
        new PutCommand({ TableName: 'kiosks', Item: { kioskId: `mem-${i}`, note: 'x'.repeat(300) } }),
      );
    collect();
    const kept = process.memoryUsage().arrayBuffers - before;
    client.destroy();
    await db.close();

    // Assert: well under 2 KB an item (a Buffer sliced from Node's shared 8 KiB slabs kept a whole slab).
    expect(kept).toBeLessThan(2_000 * 2_048);
  });
});
