/**
 * An embedded DynamoDB for one machine.
 *
 * dynalite (DynamoDB on LevelDB) runs in-process; in front of it an HTTP endpoint of our own
 * (the one handlers reach through AWS_ENDPOINT_URL_DYNAMODB) fills dynalite's gaps:
 *
 * - TransactWriteItems / TransactGetItems are emulated: snapshot, apply one by one, undo on
 *   failure. Every request (reads and writes alike) passes through ONE async lock, so an
 *   emulated transaction is atomic against everything else that goes through this endpoint.
 *   Never write to dynalite's port directly.
 * - A `kill -9` between two writes of a transaction is survived through an undo log
 *   (`dataDir/transaction-undo.json`) replayed at the next start.
 * - `ReturnValuesOnConditionCheckFailure: ALL_OLD` (plain and transactional) returns the item.
 * - UpdateTimeToLive / DescribeTimeToLive answer success; TTL expiry is NOT emulated, expired
 *   items stay until something deletes them.
 *
 * Not emulated: ClientRequestToken idempotency of TransactWriteItems, TransactionConflict
 * (nothing can conflict under the lock), Streams, PartiQL.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type KeySchemaElement,
  ListTablesCommand,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { type TableDeclaration, type TableName, tables } from '../manifest.js';

export interface EmbeddedDynamo {
  /** http://127.0.0.1:<port>: give it to DynamoDBClient as `endpoint` or AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  close(): Promise<void>;
  stats(): { requests: number; byOperation: Record<string, number> };
}

export interface EmbeddedDynamoOptions {
  /** Directory for the LevelDB store (`dynamodb/`) and the undo log; undefined = in memory. */
  dataDir?: string;
}

type Json = Record<string, unknown>;
/** An item or key in DynamoDB JSON ({ name: { S: '...' } }). */
type AttributeMap = Record<string, unknown>;

interface Reply {
  status: number;
  headers: http.OutgoingHttpHeaders;
  body: Buffer;
}

interface Outcome {
  status: number;
  data: Json;
  reply: Reply;
}

interface UndoEntry {
  TableName: string;
  Key: AttributeMap;
  /** The item before the transaction; absent when there was none. */
  Item?: AttributeMap;
}

type TransactKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';

interface PlannedWrite {
  kind: TransactKind;
  op: Json;
  tableName: string;
  key: AttributeMap;
  snapshot?: AttributeMap;
  applied: boolean;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const VALIDATION_EXCEPTION = 'com.amazon.coral.validate#ValidationException';
const UNDO_LOG_FILE = 'transaction-undo.json';
const PID_FILE = 'embedded-dynamo.pid';
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const MAX_TRANSACTION_ITEMS = 100;
const TRANSACT_KINDS: readonly TransactKind[] = ['ConditionCheck', 'Put', 'Delete', 'Update'];

/** dynalite only checks that a SigV4-shaped Authorization header is present, never the signature. */
const INTERNAL_HEADERS = {
  'content-type': 'application/x-amz-json-1.0',
  authorization:
    'AWS4-HMAC-SHA256 Credential=embedded/20240101/local/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
  'x-amz-date': '20240101T000000Z',
};

/** Hop-by-hop headers that must not be copied between the two HTTP legs. */
const HOP_HEADERS = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'host',
  'content-length',
  'date',
]);

/** Thrown to stop what is going on and answer the client with this reply. */
class Abort extends Error {
  constructor(readonly reply: Reply) {
    super('aborted with a DynamoDB error reply');
  }
}

/** A FIFO async lock: `run` calls queue up and run one at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.tail.then(task);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function jsonReply(status: number, data: unknown): Reply {
  const body = Buffer.from(JSON.stringify(data));
  return {
    status,
    body,
    headers: {
      'content-type': 'application/x-amz-json-1.0',
      'content-length': body.length,
      'x-amzn-requestid': randomBytes(39).toString('base64').toUpperCase().replace(/[+/]/g, '0'),
      'x-amz-crc32': zlib.crc32(body),
    },
  };
}

function validationError(message: string): Reply {
  return jsonReply(400, { __type: VALIDATION_EXCEPTION, message });
}

function errorName(outcome: Outcome): string | undefined {
  if (outcome.status < 300) return undefined;
  const type = outcome.data.__type;
  return typeof type === 'string' ? type.slice(type.indexOf('#') + 1) : 'UnknownError';
}

function parseJson(body: Buffer): Json | undefined {
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The HTTP leg to dynalite. */
class Backend {
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

  constructor(private readonly port: number) {}

  forward(method: string, url: string, headers: http.OutgoingHttpHeaders, body: Buffer): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path: url,
          agent: this.agent,
          headers: { ...headers, 'content-length': body.length },
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', reject);
          response.on('end', () => {
            const copied: http.OutgoingHttpHeaders = {};
            for (const [name, value] of Object.entries(response.headers)) {
              if (value !== undefined && !HOP_HEADERS.has(name)) copied[name] = value;
            }
            const responseBody = Buffer.concat(chunks);
            copied['content-length'] = responseBody.length;
            resolve({ status: response.statusCode ?? 500, headers: copied, body: responseBody });
          });
        },
      );
      request.on('error', reject);
      request.end(body);
    });
  }

  async call(operation: string, input: Json): Promise<Outcome> {
    const reply = await this.forward(
      'POST',
      '/',
      { ...INTERNAL_HEADERS, 'x-amz-target': TARGET_PREFIX + operation },
      Buffer.from(JSON.stringify(input)),
    );
    return { status: reply.status, data: parseJson(reply.body) ?? {}, reply };
  }

  close(): void {
    this.agent.destroy();
  }
}

/** What runs under the lock: forwarding, emulations, undo log. */
class Engine {
  private readonly keyNamesCache = new Map<string, string[]>();
  /** TimeToLiveSpecification by table, as last set; only reported back, never enforced. */
  private readonly timeToLive = new Map<string, Json>();
  /** Snapshots still to restore (a rollback failed, or the undo log was found at start-up). */
  private pendingUndo: UndoEntry[] | undefined;
  closed = false;

  constructor(
    private readonly backend: Backend,
    private readonly undoLogPath: string | undefined,
  ) {}

  async dispatch(
    operation: string,
    method: string,
    url: string,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
  ) {
    if (this.closed) {
      return jsonReply(500, {
        __type: `${ERROR_PREFIX}InternalServerError`,
        message: 'Embedded DynamoDB is closed',
      });
    }
    try {
      await this.recoverIfNeeded();
      switch (operation) {
        case 'TransactWriteItems':
          return await this.withInput(body, (input) => this.transactWrite(input));
        case 'TransactGetItems':
          return await this.withInput(body, (input) => this.transactGet(input));
        case 'UpdateTimeToLive':
          return await this.withInput(body, (input) => this.updateTimeToLive(input));
        case 'DescribeTimeToLive': {
          const input = parseJson(body);
          const known =
            typeof input?.TableName === 'string' ? this.timeToLive.get(input.TableName) : undefined;
          if (known) return jsonReply(200, { TimeToLiveDescription: known });
          break;
        }
        case 'PutItem':
        case 'UpdateItem':
        case 'DeleteItem': {
          const input = parseJson(body);
          if (input?.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
            return await this.writeReturningOldOnFailure(operation, input, method, url, headers, body);
          }
          break;
        }
        case 'CreateTable':
        case 'DeleteTable':
        case 'UpdateTable':
          this.keyNamesCache.clear();
          break;
      }
      return await this.backend.forward(method, url, forwardedHeaders(headers), body);
    } catch (error) {
      if (error instanceof Abort) return error.reply;
      throw error;
    }
  }

  /** Reads the undo log a crash may have left behind; its snapshots are restored before anything else runs. */
  async loadUndoLog(): Promise<void> {
    if (this.undoLogPath === undefined) return;
    await fs.rm(`${this.undoLogPath}.tmp`, { force: true }); // never renamed: nothing was applied
    const text = await fs.readFile(this.undoLogPath, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text !== undefined) this.pendingUndo = (JSON.parse(text) as { entries: UndoEntry[] }).entries;
  }

  /** Restores pending snapshots (from the undo log, or of a rollback that failed). */
  async recoverIfNeeded(): Promise<void> {
    if (this.pendingUndo === undefined) return;
    for (const entry of this.pendingUndo) await this.restore(entry);
    this.pendingUndo = undefined;
    await this.removeUndoLog();
  }

  private async withInput(body: Buffer, handler: (input: Json) => Promise<Reply>): Promise<Reply> {
    const input = parseJson(body);
    if (!input) return jsonReply(400, { __type: 'com.amazon.coral.service#SerializationException' });
    return handler(input);
  }

  private async keyNames(tableName: string): Promise<string[]> {
    const cached = this.keyNamesCache.get(tableName);
    if (cached) return cached;
    const outcome = await this.backend.call('DescribeTable', { TableName: tableName });
    if (outcome.status !== 200) throw new Abort(outcome.reply);
    const table = outcome.data.Table as { KeySchema: { AttributeName: string }[] };
    const names = table.KeySchema.map((element) => element.AttributeName);
    this.keyNamesCache.set(tableName, names);
    return names;
  }

  /** The key of `source` (an item or a key), or a ValidationException as DynamoDB words it. */
  private async keyOf(tableName: string, source: unknown, exact: boolean): Promise<AttributeMap> {
    const names = await this.keyNames(tableName);
    if (!isObject(source)) {
      throw new Abort(validationError('One or more parameter values were invalid: Missing the key'));
    }
    const key: AttributeMap = {};
    for (const name of names) {
      if (source[name] === undefined) {
        throw new Abort(
          validationError(`One or more parameter values were invalid: Missing the key ${name} in the item`),
        );
      }
      key[name] = source[name];
    }
    if (exact && Object.keys(source).length !== names.length) {
      throw new Abort(validationError('The provided key element does not match the schema'));
    }
    return key;
  }

  private async currentItem(tableName: string, key: AttributeMap): Promise<AttributeMap | undefined> {
    const outcome = await this.backend.call('GetItem', {
      TableName: tableName,
      Key: key,
      ConsistentRead: true,
    });
    if (outcome.status !== 200) throw new Abort(outcome.reply);
    return isObject(outcome.data.Item) ? outcome.data.Item : undefined;
  }

  private async restore(entry: UndoEntry): Promise<void> {
    const outcome = entry.Item
      ? await this.backend.call('PutItem', { TableName: entry.TableName, Item: entry.Item })
      : await this.backend.call('DeleteItem', { TableName: entry.TableName, Key: entry.Key });
    if (outcome.status !== 200) {
      throw new Error(
        `Embedded DynamoDB could not restore an item of ${entry.TableName}: ${outcome.reply.body}`,
      );
    }
  }

  private async writeUndoLog(entries: UndoEntry[]): Promise<void> {
    if (this.undoLogPath === undefined) return;
    const temporary = `${this.undoLogPath}.tmp`;
    const handle = await fs.open(temporary, 'w');
    try {
      // No fsync: the guarantee is surviving the process's death (kill -9), which the OS page cache
      // does; LevelDB itself writes without sync, so an fsync here would not buy power-loss safety either.
      await handle.writeFile(JSON.stringify({ entries }));
    } finally {
      await handle.close();
    }
    await fs.rename(temporary, this.undoLogPath);
  }

  private async removeUndoLog(): Promise<void> {
    if (this.undoLogPath === undefined) return;
    await fs.rm(this.undoLogPath, { force: true });
    await fs.rm(`${this.undoLogPath}.tmp`, { force: true });
  }

  /** Undoes the applied writes, newest first; if that fails, the snapshots stay pending (and logged). */
  private async rollback(planned: PlannedWrite[]): Promise<void> {
    const entries = planned.filter((write) => write.applied).map(undoEntry);
    try {
      for (const entry of entries.reverse()) await this.restore(entry);
    } catch (error) {
      this.pendingUndo = planned.map(undoEntry);
      throw error;
    }
  }

  private async transactWrite(input: Json): Promise<Reply> {
    const items = input.TransactItems;
    if (!Array.isArray(items) || items.length < 1 || items.length > MAX_TRANSACTION_ITEMS) {
      return validationError(
        `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: ` +
          `Member must have length between 1 and ${MAX_TRANSACTION_ITEMS}`,
      );
    }

    const planned: PlannedWrite[] = [];
    const seen = new Set<string>();
    for (const item of items) {
      const kinds = TRANSACT_KINDS.filter((kind) => isObject(item) && item[kind] != null);
      if (kinds.length !== 1 || !isObject(item)) {
        return validationError('TransactItems can only contain one of Check, Put, Update or Delete');
      }
      const kind = kinds[0];
      const op = item[kind];
      if (!isObject(op) || typeof op.TableName !== 'string') {
        return validationError(
          '1 validation error detected: Value null at tableName failed to satisfy constraint',
        );
      }
      if (kind === 'ConditionCheck' && typeof op.ConditionExpression !== 'string') {
        return validationError('1 validation error detected: ConditionExpression must not be null');
      }
      const key = await this.keyOf(op.TableName, kind === 'Put' ? op.Item : op.Key, kind !== 'Put');
      const identity = JSON.stringify([op.TableName, key]);
      if (seen.has(identity)) {
        return validationError('Transaction request cannot include multiple operations on one item');
      }
      seen.add(identity);
      planned.push({ kind, op, tableName: op.TableName, key, applied: false });
    }

    for (const write of planned) write.snapshot = await this.currentItem(write.tableName, write.key);
    await this.writeUndoLog(planned.map(undoEntry));

    const failures = new Map<number, Json>();
    try {
      // Every write is tried, even after a failed condition, so that (as in DynamoDB) the
      // cancellation reasons name every failed condition, not only the first one. Keys are
      // distinct, so no write can influence another's condition.
      for (const [index, write] of planned.entries()) {
        const { operation, request } = singleWriteFor(write);
        const outcome = await this.backend.call(operation, request);
        if (outcome.status === 200) {
          write.applied = true;
        } else if (errorName(outcome) === 'ConditionalCheckFailedException') {
          failures.set(index, {
            Code: 'ConditionalCheckFailed',
            Message: 'The conditional request failed',
            ...(write.op.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && write.snapshot
              ? { Item: write.snapshot }
              : {}),
          });
        } else {
          throw new Abort(outcome.reply);
        }
      }
      if (failures.size === 0) {
        // A ConditionCheck of an absent item wrote a key-only placeholder: take it away again.
        for (const write of planned) {
          if (write.kind === 'ConditionCheck' && write.applied && !write.snapshot)
            await this.restore(undoEntry(write));
        }
      }
    } catch (error) {
      await this.rollback(planned);
      await this.removeUndoLog();
      throw error;
    }

    if (failures.size === 0) {
      await this.removeUndoLog();
      return jsonReply(200, {});
    }
    await this.rollback(planned);
    await this.removeUndoLog();
    const reasons = planned.map((_, index) => failures.get(index) ?? { Code: 'None' });
    return jsonReply(400, {
      __type: `${ERROR_PREFIX}TransactionCanceledException`,
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
        .map((reason) => reason.Code)
        .join(', ')}]`,
      CancellationReasons: reasons,
    });
  }

  private async transactGet(input: Json): Promise<Reply> {
    const items = input.TransactItems;
    if (!Array.isArray(items) || items.length < 1 || items.length > MAX_TRANSACTION_ITEMS) {
      return validationError(
        `1 validation error detected: Value at 'transactItems' failed to satisfy constraint: ` +
          `Member must have length between 1 and ${MAX_TRANSACTION_ITEMS}`,
      );
    }
    const responses: Json[] = [];
    for (const item of items) {
      const get = isObject(item) ? item.Get : undefined;
      if (!isObject(get)) return validationError('1 validation error detected: Value null at get');
      const outcome = await this.backend.call('GetItem', {
        TableName: get.TableName,
        Key: get.Key,
        ProjectionExpression: get.ProjectionExpression,
        ExpressionAttributeNames: get.ExpressionAttributeNames,
        ConsistentRead: true,
      });
      if (outcome.status !== 200) return outcome.reply;
      responses.push(isObject(outcome.data.Item) ? { Item: outcome.data.Item } : {});
    }
    return jsonReply(200, { Responses: responses });
  }

  /** Accepted and remembered for DescribeTimeToLive; expiry itself is not emulated. */
  private async updateTimeToLive(input: Json): Promise<Reply> {
    const specification = input.TimeToLiveSpecification;
    if (typeof input.TableName !== 'string' || !isObject(specification)) {
      return validationError('1 validation error detected: TimeToLiveSpecification must not be null');
    }
    await this.keyNames(input.TableName); // ResourceNotFoundException for an unknown table
    this.timeToLive.set(
      input.TableName,
      specification.Enabled
        ? { TimeToLiveStatus: 'ENABLED', AttributeName: specification.AttributeName }
        : { TimeToLiveStatus: 'DISABLED' },
    );
    return jsonReply(200, { TimeToLiveSpecification: specification });
  }

  /** dynalite ignores ReturnValuesOnConditionCheckFailure: add the current item to its error. */
  private async writeReturningOldOnFailure(
    operation: string,
    input: Json,
    method: string,
    url: string,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
  ): Promise<Reply> {
    const reply = await this.backend.forward(method, url, forwardedHeaders(headers), body);
    if (reply.status !== 400) return reply;
    const data = parseJson(reply.body) ?? {};
    if (errorName({ status: reply.status, data, reply }) !== 'ConditionalCheckFailedException') return reply;
    const tableName = String(input.TableName);
    const key = await this.keyOf(tableName, operation === 'PutItem' ? input.Item : input.Key, false);
    const item = await this.currentItem(tableName, key);
    return jsonReply(400, item ? { ...data, Item: item } : data);
  }
}

function undoEntry(write: PlannedWrite): UndoEntry {
  return write.snapshot
    ? { TableName: write.tableName, Key: write.key, Item: write.snapshot }
    : { TableName: write.tableName, Key: write.key };
}

/** The single-item request that applies one transaction item with its condition. */
function singleWriteFor(write: PlannedWrite): { operation: string; request: Json } {
  const { op } = write;
  const condition = {
    ConditionExpression: op.ConditionExpression,
    ExpressionAttributeNames: op.ExpressionAttributeNames,
    ExpressionAttributeValues: op.ExpressionAttributeValues,
  };
  switch (write.kind) {
    case 'Put':
      return { operation: 'PutItem', request: { TableName: write.tableName, Item: op.Item, ...condition } };
    case 'Update':
      return {
        operation: 'UpdateItem',
        request: {
          TableName: write.tableName,
          Key: op.Key,
          UpdateExpression: op.UpdateExpression,
          ...condition,
        },
      };
    case 'Delete':
      return { operation: 'DeleteItem', request: { TableName: write.tableName, Key: op.Key, ...condition } };
    case 'ConditionCheck':
      // dynalite cannot evaluate a condition without writing: rewrite the item as it is (or a
      // key-only placeholder, removed again at commit) under the condition.
      return {
        operation: 'PutItem',
        request: { TableName: write.tableName, Item: write.snapshot ?? write.key, ...condition },
      };
  }
}

function forwardedHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const copied: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_HEADERS.has(name)) copied[name] = value;
  }
  return copied;
}

function readBody(request: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_REQUEST_BYTES) {
        reject(new Error('request too large'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

/** How long a start waits for another process to release the data directory. */
const CLAIM_WAIT_MS = Number(process.env.BRIDGEWAY_CLAIM_WAIT_MS ?? 15_000);

/** Data directories held by instances of this process. */
const heldDataDirs = new Set<string>();

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Claims the data directory for this instance. A second dynalite on the same LevelDB does not
 * fail cleanly: its first request throws "Database is closed" from inside dynalite's HTTP
 * handler, an uncaught exception that takes the whole process down. A pid file left by a
 * killed process is taken over.
 */
async function claimDataDir(dataDir: string): Promise<() => Promise<void>> {
  const resolved = path.resolve(dataDir);
  const pidFile = path.join(resolved, PID_FILE);
  if (heldDataDirs.has(resolved))
    throw new Error(`Embedded DynamoDB: ${resolved} is already open in this process`);
  const holder = Number.parseInt(await fs.readFile(pidFile, 'utf8').catch(() => ''), 10);
  // A previous backend that is shutting down (its launcher was killed) gets a moment to let go.
  const deadline = Date.now() + CLAIM_WAIT_MS;
  while (Number.isInteger(holder) && holder !== process.pid && isAlive(holder)) {
    if (Date.now() > deadline)
      throw new Error(`Embedded DynamoDB: ${resolved} is in use by process ${holder}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await fs.writeFile(pidFile, String(process.pid));
  heldDataDirs.add(resolved);
  return async () => {
    heldDataDirs.delete(resolved);
    await fs.rm(pidFile, { force: true });
  };
}

export async function startEmbeddedDynamo(options: EmbeddedDynamoOptions = {}): Promise<EmbeddedDynamo> {
  const { dataDir } = options;
  const storePath = dataDir === undefined ? undefined : path.join(dataDir, 'dynamodb');
  if (storePath !== undefined) await fs.mkdir(storePath, { recursive: true });
  const release = dataDir === undefined ? async () => {} : await claimDataDir(dataDir);

  const store = dynalite({ path: storePath, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const backend = new Backend(await listen(store));
  const engine = new Engine(backend, dataDir === undefined ? undefined : path.join(dataDir, UNDO_LOG_FILE));
  const lock = new Mutex();
  const byOperation: Record<string, number> = {};
  let requests = 0;

  try {
    await engine.loadUndoLog();
    await engine.recoverIfNeeded();
  } catch (error) {
    backend.close();
    await closeServer(store);
    await release();
    throw error;
  }

  const front = http.createServer((request, response) => {
    void (async () => {
      let reply: Reply;
      try {
        const body = await readBody(request);
        const target = request.headers['x-amz-target'];
        const operation =
          typeof target === 'string' && target.startsWith(TARGET_PREFIX)
            ? target.slice(TARGET_PREFIX.length)
            : '-';
        requests += 1;
        byOperation[operation] = (byOperation[operation] ?? 0) + 1;
        reply = await lock.run(() =>
          engine.dispatch(operation, request.method ?? 'POST', request.url ?? '/', request.headers, body),
        );
      } catch (error) {
        reply = jsonReply(500, { __type: `${ERROR_PREFIX}InternalServerError`, message: String(error) });
      }
      response.writeHead(reply.status, reply.headers);
      response.end(reply.body);
    })();
  });
  const port = await listen(front);

  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats: () => ({ requests, byOperation: { ...byOperation } }),
    close: () => {
      closing ??= (async () => {
        const frontClosed = closeServer(front);
        front.closeIdleConnections();
        await lock.run(async () => {
          engine.closed = true;
        });
        front.closeAllConnections();
        await frontClosed;
        backend.close();
        await closeServer(store); // dynalite's close() also closes its LevelDB
        await release();
      })();
      return closing;
    },
  };
}

/**
 * Creates every table of lib/manifest.ts `tables` (PAY_PER_REQUEST, with its GSIs) that does not
 * exist yet and waits until all are ACTIVE. Physical name = `tablePrefix + logicalName`.
 * Existing tables are left as they are (a GSI added to the manifest later is not added to them).
 */
export async function ensureTables(
  client: DynamoDBClient,
  tablePrefix = '',
): Promise<Record<TableName, string>> {
  const existing = new Set<string>();
  let start: string | undefined;
  do {
    const page = await client.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
    for (const name of page.TableNames ?? []) existing.add(name);
    start = page.LastEvaluatedTableName;
  } while (start);

  const names = {} as Record<TableName, string>;
  const declarations = Object.entries(tables) as [TableName, TableDeclaration][];
  await Promise.all(
    declarations.map(async ([logicalName, declaration]) => {
      const physicalName = tablePrefix + logicalName;
      names[logicalName] = physicalName;
      if (!existing.has(physicalName)) {
        try {
          await client.send(new CreateTableCommand(createTableInput(physicalName, declaration)));
        } catch (error) {
          if (!(error instanceof ResourceInUseException)) throw error; // created meanwhile: fine
        }
      }
      await waitUntilActive(client, physicalName);
    }),
  );
  return names;
}

function createTableInput(tableName: string, declaration: TableDeclaration) {
  const attributes = new Map<string, AttributeDefinition>();
  const keySchema = (
    partitionKey: TableDeclaration['partitionKey'],
    sortKey?: TableDeclaration['sortKey'],
  ) => {
    const schema: KeySchemaElement[] = [{ AttributeName: partitionKey.name, KeyType: 'HASH' }];
    attributes.set(partitionKey.name, { AttributeName: partitionKey.name, AttributeType: partitionKey.type });
    if (sortKey) {
      schema.push({ AttributeName: sortKey.name, KeyType: 'RANGE' });
      attributes.set(sortKey.name, { AttributeName: sortKey.name, AttributeType: sortKey.type });
    }
    return schema;
  };
  const KeySchema = keySchema(declaration.partitionKey, declaration.sortKey);
  const GlobalSecondaryIndexes: GlobalSecondaryIndex[] | undefined = declaration.indexes?.map((index) => ({
    IndexName: index.indexName,
    KeySchema: keySchema(index.partitionKey, index.sortKey),
    Projection: { ProjectionType: 'ALL' },
  }));
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST' as const,
    AttributeDefinitions: [...attributes.values()],
    KeySchema,
    ...(GlobalSecondaryIndexes?.length ? { GlobalSecondaryIndexes } : {}),
  };
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + 10 * 60_000;
  for (let attempt = 0; ; attempt += 1) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become ACTIVE`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 5 * 2 ** attempt)));
  }
}
