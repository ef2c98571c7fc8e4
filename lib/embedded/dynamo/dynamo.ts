/**
 * An embedded DynamoDB for one machine.
 *
 * dynalite (DynamoDB on LevelDB, here its in-memory one, kept on disk by ./journal.ts) supplies
 * the store, the request validations and the item operations. This module calls them in-process,
 * behind an HTTP endpoint of its own (the one handlers reach through AWS_ENDPOINT_URL_DYNAMODB,
 * AWS JSON protocol), and adds what dynalite lacks, the way DynamoDB does it:
 *
 * - Items are locked one by one, never the whole store, so the conflicts AWS produces happen
 *   here too. A TransactWriteItems holds its items from admission to commit or cancellation.
 *   Touching a held item cancels another transaction at once (`TransactionConflict` among its
 *   CancellationReasons), fails a PutItem/UpdateItem/DeleteItem with
 *   TransactionConflictException, cancels a TransactGetItems, and hands the item back in
 *   BatchWriteItem's UnprocessedItems. GetItem, BatchGetItem, Query and Scan take no lock.
 * - A transaction evaluates every condition against the items it holds before it writes
 *   anything; a failed condition cancels it with nothing written. Then dynalite's own
 *   put/update/delete run against a staging view of the store (so GSIs are maintained as
 *   dynalite maintains them) and what they would write is committed as ONE batch, which the
 *   journal writes as one line and the store applies at once, also across a `kill -9`: a
 *   transaction is on disk whole or not at all, nothing ever needs rolling back, and no reader
 *   sees half of one. (The undo log that versions before this one wrote, `transaction-undo.json`,
 *   is still restored at start.)
 * - It refuses what DynamoDB refuses, with DynamoDB's ValidationException messages: over 100
 *   actions, two actions on one item, over 4 MB in one transaction, keys over 2048/1024 UTF-8
 *   bytes; items over 400 KB and numbers outside DynamoDB's range or precision are refused by
 *   dynalite's own validations (which count a string's size in UTF-16 units, not UTF-8 bytes).
 * - `ReturnValuesOnConditionCheckFailure: ALL_OLD` (plain and transactional) returns the item.
 * - UpdateTimeToLive / DescribeTimeToLive are remembered (in the store); TTL expiry is NOT
 *   emulated, expired items stay until something deletes them.
 * - Streams, for the tables named in `streams`: every committed change of an item (transaction,
 *   PutItem/UpdateItem/DeleteItem, BatchWriteItem) writes its stream record (INSERT, MODIFY or
 *   REMOVE, with the new image) under the next sequence number IN THE SAME batch as the
 *   change itself. So a change is on disk with its record or not at all, across `kill -9` too, and
 *   a record committed but not delivered yet is still there after a restart. A consumer's checkpoint
 *   is kept in the store as well (lib/embedded/dynamo/streams.ts reads and delivers them). A write that
 *   changes nothing writes no record, as in DynamoDB. Records are kept until a consumer passed them
 *   (DynamoDB keeps them 24 hours whatever happens; here the safety net is never needed sooner).
 *
 * Not emulated: ClientRequestToken idempotency, throttling, PartiQL.
 */
import { randomUUID } from 'node:crypto';
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
import { takingTurns } from '../../../functions/core/in-turn.js';
import { type TableDeclaration, type TableName, tables } from '../../manifest.js';
import { StartupError } from '../startup-error.js';
import {
  type ActionValidation,
  type AttributeMap,
  dynaliteActions,
  dynaliteDb,
  dynaliteValidations,
  getTable,
  isDynaliteOperation,
  isDynamoError,
  type Json,
  type LevelDb,
  runAction,
  type Store,
  type SubDb,
  type TableDescription,
} from './dynalite-internals.js';
import { importLevelDb, Journal, type JournalOptions } from './journal.js';

export interface EmbeddedDynamo {
  /** http://127.0.0.1:<port>: give it to DynamoDBClient as `endpoint` or AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint: string;
  /** The store in-process, as an SDK HTTP handler: `client.config.requestHandler = requestHandler`. */
  requestHandler: InProcessHandler;
  /** The change streams of the tables named in the options' `streams`. */
  streams: EmbeddedStreams;
  close(): Promise<void>;
  /** Requests served, by operation, and transactions cancelled because another one held an item. */
  stats(): { requests: number; byOperation: Record<string, number>; transactionConflicts: number };
}

export type StreamEventName = 'INSERT' | 'MODIFY' | 'REMOVE';

/** One change of one item, as the store keeps it until a consumer has passed it. */
export interface StoredStreamRecord {
  /** 1, 2, 3... per table, in commit order (per item, the order of its changes). */
  readonly sequence: number;
  readonly eventName: StreamEventName;
  readonly keys: AttributeMap;
  /** The item after the change (NEW_IMAGE); absent for REMOVE. */
  readonly newImage?: AttributeMap;
  /** When it was committed (real epoch milliseconds). */
  readonly committedAt: number;
  readonly sizeBytes: number;
}

/** The stream side of the store: what lib/embedded/dynamo/streams.ts delivers from. */
export interface EmbeddedStreams {
  /** Tables with a stream. */
  readonly tables: readonly string[];
  /** The highest sequence number below which every change is committed (none is still being written). */
  watermark(table: string): number;
  /** Up to `limit` records after `after`, up to `upTo`, in order. */
  read(table: string, after: number, upTo: number, limit: number): Promise<StoredStreamRecord[]>;
  /** Where the consumer stopped: every record up to it was handled (or set aside). */
  checkpoint(table: string): Promise<number>;
  /** Moves the checkpoint to `to` and forgets the records `passed` (one batch: both or neither). */
  advance(table: string, to: number, passed: readonly number[]): Promise<void>;
  /** Called after every commit that wrote a record of `table`. */
  onCommit(table: string, listener: () => void): () => void;
}

export interface EmbeddedDynamoOptions {
  /** Directory for the store's snapshot and journals (`store/`); undefined = in memory only. */
  dataDir?: string;
  /**
   * Tests only. Awaited when a TransactWriteItems has its items held, its conditions checked and
   * its writes staged, just before it commits: a test holds a transaction open by not settling
   * the promise, and must settle it before close().
   */
  beforeTransactionCommit?: (transaction: { tables: string[] }) => Promise<void> | void;
  /** Tables (physical names) whose changes go to a stream (lib/manifest.ts `stream`). */
  streams?: readonly string[];
  /** Tests only: journal bytes after which the store is written out as a snapshot (default 64 MiB). */
  compactJournalAfterBytes?: number;
  /** Tests only: journals with writes since the last snapshot after which a start writes one (default 64). */
  compactAfterJournals?: number;
  /** Tests only: the write(2) the journal appends with (a full disk is simulated with it). */
  journalWrite?: JournalOptions['write'];
}

/** What the SDK asks of an HTTP handler (smithy's HttpHandler), for requests served in-process. */
export interface InProcessHandler {
  handle(request: { headers: Record<string, string>; body?: unknown }): Promise<{
    response: { statusCode: number; headers: Record<string, string>; body: Uint8Array };
  }>;
  updateHttpClientConfig(): void;
  httpHandlerConfigs(): Record<string, never>;
  destroy(): void;
}

interface Answer {
  status: number;
  body: Json;
}

type TransactKind = 'Put' | 'Update' | 'Delete' | 'ConditionCheck';

interface PlannedWrite {
  kind: TransactKind;
  /** Validated by dynalite (types coerced, expressions parsed into `_condition`, `_updates`). */
  data: Json;
  returnOldOnFailure: boolean;
  table: TableDescription;
  /** dynalite's key string of the item. */
  key: string;
  /** Lock identity: table and key. */
  id: string;
  /** The item as it was when the transaction was admitted. */
  current?: AttributeMap;
}

/** An entry of the legacy undo log. */
interface UndoEntry {
  TableName: string;
  Key: AttributeMap;
  /** The item before the transaction; absent when there was none. */
  Item?: AttributeMap;
}

const TARGET_PREFIX = 'DynamoDB_20120810.';
const ERROR_PREFIX = 'com.amazonaws.dynamodb.v20120810#';
const VALIDATION_EXCEPTION = 'com.amazon.coral.validate#ValidationException';
const CONDITIONAL_CHECK_FAILED = `${ERROR_PREFIX}ConditionalCheckFailedException`;
const MAX_REQUEST_BYTES = 16 * 1024 * 1024;
const MAX_TRANSACTION_ACTIONS = 100;
const MAX_TRANSACTION_PAYLOAD_BYTES = 4 * 1024 * 1024;
const PID_FILE = 'embedded-dynamo.pid';
/** The store's snapshot and journals, under the data directory. */
const STORE_DIR = 'store';
/** The undo log that versions before one-batch commits wrote; a data directory may still hold one. */
const LEGACY_UNDO_LOG_FILE = 'transaction-undo.json';
/** LevelDB key prefix of our own records, outside every prefix dynalite uses (table~, item-…). */
const TTL_PREFIX = 'bridgeway-ttl~';
/** Stream records, `<prefix><table>~<sequence, 16 digits>`, and each stream's consumer checkpoint. */
const STREAM_PREFIX = 'bridgeway-stream~';
const CHECKPOINT_PREFIX = 'bridgeway-stream-checkpoint~';
const streamKey = (table: string, sequence: number) =>
  `${STREAM_PREFIX}${table}~${String(sequence).padStart(16, '0')}`;
const TRANSACT_KINDS: readonly TransactKind[] = ['ConditionCheck', 'Put', 'Delete', 'Update'];
const WRITE_ACTION = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem' } as const;

const NONE = { Code: 'None' } as const;
const TRANSACTION_CONFLICT = { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' };

/** Thrown to stop what is going on and answer the client with this AWS error. */
class Refusal extends Error {
  constructor(readonly answer: Answer) {
    super(String(answer.body.message ?? answer.body.__type));
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function lowerFirst(text: string): string {
  return text[0].toLowerCase() + text.slice(1);
}

function validationRefusal(message: string): Refusal {
  return new Refusal({ status: 400, body: { __type: VALIDATION_EXCEPTION, message } });
}

function nullValue(at: string): Refusal {
  return validationRefusal(
    `1 validation error detected: Value null at '${at}' failed to satisfy constraint: Member must not be null`,
  );
}

function cancellation(reasons: readonly Json[]): Answer {
  return {
    status: 400,
    body: {
      __type: `${ERROR_PREFIX}TransactionCanceledException`,
      message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
        .map((reason) => reason.Code)
        .join(', ')}]`,
      CancellationReasons: reasons,
    },
  };
}

/** Whether the caller asked for ALL_OLD; anything but ALL_OLD or NONE is refused as DynamoDB does. */
function returnsOldOnFailure(value: unknown, at: string): boolean {
  if (value == null || value === 'NONE') return false;
  if (value === 'ALL_OLD') return true;
  throw validationRefusal(
    `1 validation error detected: Value '${String(value)}' at '${at}' failed to satisfy constraint: ` +
      'Member must satisfy enum value set: [ALL_OLD, NONE]',
  );
}

/** `TransactItems`, refused as DynamoDB refuses an absent, empty or too long list. */
function transactItemsOf(input: Json, member: string): unknown[] {
  const items = input.TransactItems;
  if (items == null) throw nullValue('transactItems');
  if (!Array.isArray(items)) {
    throw new Refusal({
      status: 400,
      body: { __type: 'com.amazon.coral.service#SerializationException', Message: 'Unexpected field type' },
    });
  }
  if (items.length < 1) {
    throw validationRefusal(
      "1 validation error detected: Value '[]' at 'transactItems' failed to satisfy constraint: " +
        'Member must have length greater than or equal to 1',
    );
  }
  if (items.length > MAX_TRANSACTION_ACTIONS) {
    // DynamoDB prints the list as Java does (class@hash for each member).
    const printed = items
      .map((_, index) => `com.amazonaws.dynamodb.v20120810.${member}@${((index + 1) * 2654435761) >>> 0}`)
      .join(', ');
    throw validationRefusal(
      `1 validation error detected: Value '[${printed}]' at 'transactItems' failed to satisfy constraint: ` +
        `Member must have length less than or equal to ${MAX_TRANSACTION_ACTIONS}`,
    );
  }
  return items;
}

/** Only `fields` of an action's validation: what a transaction's Put, Update... may carry. */
function narrowed(validation: ActionValidation, fields: readonly string[]): ActionValidation {
  return {
    types: Object.fromEntries(fields.map((field) => [field, validation.types[field]])),
    custom: validation.custom,
  };
}

const CONDITION_FIELDS = [
  'TableName',
  'ConditionExpression',
  'ExpressionAttributeNames',
  'ExpressionAttributeValues',
] as const;

const TRANSACT_VALIDATIONS: Record<TransactKind, ActionValidation> = {
  Put: narrowed(dynaliteActions.PutItem.validation, ['Item', ...CONDITION_FIELDS]),
  Update: narrowed(dynaliteActions.UpdateItem.validation, ['Key', 'UpdateExpression', ...CONDITION_FIELDS]),
  Delete: narrowed(dynaliteActions.DeleteItem.validation, ['Key', ...CONDITION_FIELDS]),
  ConditionCheck: narrowed(dynaliteActions.DeleteItem.validation, ['Key', ...CONDITION_FIELDS]),
};

const TRANSACT_GET_VALIDATION = narrowed(dynaliteActions.GetItem.validation, [
  'TableName',
  'Key',
  'ProjectionExpression',
  'ExpressionAttributeNames',
]);

/**
 * What one action adds to a transaction's payload: its item (Put) or key, and its expression
 * values. Malformed values count 0 here; the validation that follows refuses them.
 */
function payloadBytes(kind: TransactKind, data: Json): number {
  const sizeOf = (map: unknown) => {
    if (!isObject(map)) return 0;
    try {
      return dynaliteDb.itemSize(map as AttributeMap);
    } catch {
      return 0;
    }
  };
  return sizeOf(kind === 'Put' ? data.Item : data.Key) + sizeOf(data.ExpressionAttributeValues);
}

/**
 * DynamoDB limits key attributes in UTF-8 bytes; dynalite counts a string key in UTF-16 code
 * units, which lets a non-ASCII key through up to twice the limit. Same messages as dynalite's
 * (DynamoDB's, the missing space in "of2048" included).
 */
function keyBytesError(source: AttributeMap, table: TableDescription): Refusal | undefined {
  for (const [position, { AttributeName }] of table.KeySchema.entries()) {
    const value = source[AttributeName]?.S;
    if (typeof value !== 'string') continue;
    const bytes = Buffer.byteLength(value, 'utf8');
    if (position === 0 && bytes > 2048) {
      return validationRefusal(
        'One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of2048 bytes',
      );
    }
    if (position === 1 && bytes > 1024) {
      return validationRefusal(
        'One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of 1024 bytes',
      );
    }
  }
  return undefined;
}

/** Operations that read or write items, and only read table descriptions. */
const ITEM_OPERATIONS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

function isSettled(table: TableDescription): boolean {
  return (
    table.TableStatus === 'ACTIVE' &&
    (table.GlobalSecondaryIndexes ?? []).every((index) => index.IndexStatus === 'ACTIVE')
  );
}

function itemId(tableName: string, key: string): string {
  return `${tableName}\u0000${key}`;
}

interface ItemLock {
  /** Whether a transaction holds the item, from its admission to its commit or cancellation. */
  held: boolean;
  /** Plain writes to the item in progress. */
  writers: number;
  waiters: (() => void)[];
}

/**
 * Per-item locks. A transaction claims all its items at once or none; it then waits for the
 * plain writes already under way on them, which are short and wait for nothing, so nothing can
 * deadlock.
 */
class ItemLocks {
  private readonly locks = new Map<string, ItemLock>();

  private entry(id: string): ItemLock {
    let lock = this.locks.get(id);
    if (!lock) {
      lock = { held: false, writers: 0, waiters: [] };
      this.locks.set(id, lock);
    }
    return lock;
  }

  private wait(id: string): Promise<void> {
    return new Promise((resolve) => this.entry(id).waiters.push(resolve));
  }

  /** Wakes whoever waits on the item (they check again), and forgets an idle item. */
  private settle(id: string): void {
    const lock = this.locks.get(id);
    if (!lock) return;
    const waiters = lock.waiters.splice(0);
    if (!lock.held && lock.writers === 0 && waiters.length === 0) {
      this.locks.delete(id);
    }
    for (const wake of waiters) wake();
  }

  isHeld(id: string): boolean {
    return this.locks.get(id)?.held === true;
  }

  /** Holds every item for a transaction; or, when another transaction holds any, holds none and says which. */
  claim(ids: readonly string[]): boolean[] | undefined {
    const held = ids.map((id) => this.isHeld(id));
    if (held.some(Boolean)) return held;
    for (const id of ids) this.entry(id).held = true;
    return undefined;
  }

  /** Whether plain writes are under way on any of the items. */
  busy(ids: readonly string[]): boolean {
    return ids.some((id) => (this.locks.get(id)?.writers ?? 0) > 0);
  }

  /** Waits until the plain writes already under way on the items are done. */
  async drain(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      for (let lock = this.locks.get(id); lock && lock.writers > 0; lock = this.locks.get(id)) {
        await this.wait(id);
      }
    }
  }

  release(ids: readonly string[]): void {
    for (const id of ids) {
      const lock = this.locks.get(id);
      if (lock) lock.held = false;
      this.settle(id);
    }
  }

  /** Starts a plain write, or answers false when a transaction holds the item. */
  tryBeginWrite(id: string): boolean {
    if (this.isHeld(id)) return false;
    this.entry(id).writers += 1;
    return true;
  }

  endWrite(id: string): void {
    this.entry(id).writers -= 1;
    this.settle(id);
  }
}

const transactionConflictException = () =>
  new Refusal({
    status: 400,
    body: {
      __type: `${ERROR_PREFIX}TransactionConflictException`,
      message: 'Transaction is ongoing for the item',
    },
  });

class Engine {
  private readonly locks = new ItemLocks();
  /** Transactions cancelled because another one held one of their items (the benchmarks report it). */
  transactionConflicts = 0;
  /** TimeToLiveDescription by table, as last set; reported back, never enforced. */
  private readonly timeToLive = new Map<string, Json>();
  /** Item operations see table descriptions from here; table operations forget them. */
  private readonly tables = new Map<string, TableDescription>();
  private tablesGeneration = 0;
  /**
   * The store as item operations (dynalite's and ours) get it: with table descriptions kept in
   * memory, which saves a LevelDB read per item and per action. Only a table that is ACTIVE with
   * every index ACTIVE is kept; CreateTable/UpdateTable/DeleteTable pass through here and forget.
   * Table operations get the store itself: they modify the description they read.
   */
  private readonly items: Store;
  /** Per streamed table: the last sequence number handed out, and those whose batch is being written. */
  private readonly streamState = new Map<
    string,
    { last: number; writing: Set<number>; listeners: Set<() => void> }
  >();
  /** Plain writes to an item, one after the other (each reads, stages and commits the item it replaces). */
  private readonly inTurn = takingTurns();

  constructor(
    private readonly store: Store,
    private readonly beforeTransactionCommit: EmbeddedDynamoOptions['beforeTransactionCommit'],
    streamTables: readonly string[] = [],
  ) {
    for (const table of streamTables)
      this.streamState.set(table, { last: 0, writing: new Set(), listeners: new Set() });
    this.items = {
      ...this.store,
      getTable: (name, ...rest) => {
        // dynalite's actions call getTable(name, callback), which checks the status too.
        const [checkStatus, callback] = rest.length === 1 ? [true, rest[0]] : rest;
        const known = this.tables.get(name);
        if (known) return callback(null, known);
        const generation = this.tablesGeneration;
        this.store.getTable(name, checkStatus, (error, table) => {
          if (!error && table && generation === this.tablesGeneration && isSettled(table))
            this.tables.set(name, table);
          callback(error, table);
        });
      },
    };
  }

  private get db(): LevelDb {
    return this.store.db;
  }

  async dispatch(operation: string, input: Json): Promise<Answer> {
    try {
      switch (operation) {
        case 'TransactWriteItems':
          return await this.transactWrite(input);
        case 'TransactGetItems':
          return await this.transactGet(input);
        case 'PutItem':
        case 'UpdateItem':
        case 'DeleteItem':
          return await this.singleWrite(operation, input);
        case 'BatchWriteItem':
          return await this.batchWrite(input);
        case 'UpdateTimeToLive':
          return await this.updateTimeToLive(input);
        case 'DescribeTimeToLive': {
          const known =
            typeof input.TableName === 'string' ? this.timeToLive.get(input.TableName) : undefined;
          if (known) return { status: 200, body: { TimeToLiveDescription: known } };
          break;
        }
        case 'DeleteTable':
          if (typeof input.TableName === 'string' && this.timeToLive.delete(input.TableName)) {
            await this.db.del(TTL_PREFIX + input.TableName);
          }
          return await this.changeTable(operation, input);
        case 'CreateTable':
        case 'UpdateTable':
          return await this.changeTable(operation, input);
      }
      if (!isDynaliteOperation(operation)) {
        return { status: 400, body: { __type: 'com.amazon.coral.service#UnknownOperationException' } };
      }
      const action = dynaliteActions[operation];
      return {
        status: 200,
        body: await runAction(
          action,
          ITEM_OPERATIONS.has(operation) ? this.items : this.store,
          this.validate(action.validation, input),
        ),
      };
    } catch (error) {
      if (error instanceof Refusal) return error.answer;
      if (isDynamoError(error)) return { status: error.statusCode, body: error.body };
      throw error;
    }
  }

  private forgetTables(): void {
    this.tables.clear();
    this.tablesGeneration += 1;
  }

  private async changeTable(
    operation: 'CreateTable' | 'UpdateTable' | 'DeleteTable',
    input: Json,
  ): Promise<Answer> {
    const action = dynaliteActions[operation];
    this.forgetTables();
    try {
      return {
        status: 200,
        body: await runAction(action, this.store, this.validate(action.validation, input)),
      };
    } finally {
      this.forgetTables();
    }
  }

  /** dynalite's validation of a request, as its HTTP handler runs it; throws the AWS error. */
  private validate(validation: ActionValidation, input: Json): Json {
    const data = dynaliteValidations.checkTypes(input, validation.types);
    dynaliteValidations.checkValidations(data, validation.types, validation.custom, this.store);
    return data;
  }

  private async singleWrite(
    operation: 'PutItem' | 'UpdateItem' | 'DeleteItem',
    input: Json,
  ): Promise<Answer> {
    const returnOld = returnsOldOnFailure(
      input.ReturnValuesOnConditionCheckFailure,
      'returnValuesOnConditionCheckFailure',
    );
    const action = dynaliteActions[operation];
    const data = this.validate(action.validation, input);
    const table = await getTable(this.items, data.TableName as string);
    const source = (operation === 'PutItem' ? data.Item : data.Key) as AttributeMap;
    const invalid =
      (operation === 'PutItem'
        ? dynaliteDb.validateItem(source, table)
        : dynaliteDb.validateKey(source, table)) ?? keyBytesError(source, table);
    if (invalid) throw invalid;
    const key = dynaliteDb.createKey(source, table);
    const id = itemId(table.TableName, key);
    if (!this.locks.tryBeginWrite(id)) throw transactionConflictException();
    try {
      // Staged and written as one batch, the item with its index entries (and its stream record): dynalite's
      // own action writes each separately, and a crash or a full disk between them would leave an index
      // entry for an item that was never written.
      return {
        status: 200,
        body: await this.inTurn(id, () => this.writeStaged(operation, data, table, key)),
      };
    } catch (error) {
      if (returnOld && isDynamoError(error) && error.body.__type === CONDITIONAL_CHECK_FAILED) {
        const item = this.readNow(table.TableName, key);
        if (item) return { status: error.statusCode, body: { ...error.body, Item: item } };
      }
      throw error;
    } finally {
      this.locks.endWrite(id);
    }
  }

  /** dynalite's BatchWriteItem for the items no transaction holds; the held ones come back unprocessed. */
  private async batchWrite(input: Json): Promise<Answer> {
    const action = dynaliteActions.BatchWriteItem;
    const data = this.validate(action.validation, input);
    const requestItems = data.RequestItems as Record<string, Json[]>;
    const targets: { tableName: string; request: Json; id: string; table: TableDescription; key: string }[] =
      [];
    for (const [tableName, requests] of Object.entries(requestItems)) {
      const table = await getTable(this.items, tableName);
      const seen = new Set<string>();
      for (const request of requests) {
        const put = request.PutRequest as Json | undefined;
        const source = (put ? put.Item : (request.DeleteRequest as Json).Key) as AttributeMap;
        const invalid =
          (put ? dynaliteDb.validateItem(source, table) : dynaliteDb.validateKey(source, table)) ??
          keyBytesError(source, table);
        if (invalid) {
          // What dynalite's BatchWriteItem answers for these, as DynamoDB does.
          if (/Missing the key|Type mismatch for key/.test(invalid.message)) {
            throw validationRefusal('The provided key element does not match the schema');
          }
          throw invalid;
        }
        const key = dynaliteDb.createKey(source, table);
        const id = itemId(tableName, key);
        if (seen.has(id)) throw validationRefusal('Provided list of item keys contains duplicates');
        seen.add(id);
        targets.push({ tableName, request, id, table, key });
      }
    }

    const unprocessed: Record<string, Json[]> = {};
    const admitted: typeof targets = [];
    try {
      for (const target of targets) {
        if (this.locks.tryBeginWrite(target.id)) admitted.push(target);
        else groupInto(unprocessed, target);
      }
      if (admitted.length === 0) return { status: 200, body: { UnprocessedItems: unprocessed } };
      const capacity = data.ReturnConsumedCapacity as string | undefined;
      const unitsByTable = new Map<string, number>();
      // Written one by one, each item with its index entries and stream record as one batch of the store
      // (DynamoDB, too, applies a batch's requests one by one: each is its own change).
      for (const { request, id, table, key, tableName } of admitted) {
        const put = request.PutRequest as Json | undefined;
        const written = await this.inTurn(id, () =>
          put
            ? this.writeStaged(
                'PutItem',
                { TableName: tableName, Item: put.Item, ReturnConsumedCapacity: capacity },
                table,
                key,
              )
            : this.writeStaged(
                'DeleteItem',
                {
                  TableName: tableName,
                  Key: (request.DeleteRequest as Json).Key,
                  ReturnConsumedCapacity: capacity,
                },
                table,
                key,
              ),
        );
        const units = (written.ConsumedCapacity as { CapacityUnits?: number } | undefined)?.CapacityUnits;
        if (units !== undefined) unitsByTable.set(tableName, (unitsByTable.get(tableName) ?? 0) + units);
      }
      return {
        status: 200,
        body: {
          UnprocessedItems: unprocessed,
          // Summed per table, as dynalite's own BatchWriteItem and DynamoDB answer it.
          ...(unitsByTable.size > 0
            ? {
                ConsumedCapacity: [...unitsByTable].map(([TableName, CapacityUnits]) => ({
                  CapacityUnits,
                  TableName,
                  ...(capacity === 'INDEXES' ? { Table: { CapacityUnits } } : {}),
                })),
              }
            : {}),
        },
      };
    } finally {
      for (const target of admitted) this.locks.endWrite(target.id);
    }
  }

  private async transactGet(input: Json): Promise<Answer> {
    const items = transactItemsOf(input, 'TransactGetItem');
    const gets = items.map((item, index) => {
      const get = isObject(item) ? item.Get : undefined;
      if (!isObject(get)) throw nullValue(`transactItems.${index + 1}.member.get`);
      return this.validate(TRANSACT_GET_VALIDATION, get);
    });
    const planned: { data: Json; table: TableDescription; key: string; id: string }[] = [];
    const seen = new Set<string>();
    for (const data of gets) {
      const table = await getTable(this.items, data.TableName as string);
      const invalid =
        dynaliteDb.validateKey(data.Key as AttributeMap, table) ??
        keyBytesError(data.Key as AttributeMap, table) ??
        dynaliteDb.validateKeyPaths(
          (data._projection as { nestedPaths?: unknown } | undefined)?.nestedPaths,
          table,
        );
      if (invalid) throw invalid;
      const key = dynaliteDb.createKey(data.Key as AttributeMap, table);
      const id = itemId(table.TableName, key);
      if (seen.has(id))
        throw validationRefusal('Transaction request cannot include multiple operations on one item');
      seen.add(id);
      planned.push({ data, table, key, id });
    }

    const held = planned.map(({ id }) => this.locks.isHeld(id));
    if (held.some(Boolean)) return this.conflict(held);
    // Read synchronously, all in one turn of the event loop: a snapshot no write can cut through.
    const responses = planned.map(({ data, table, key }) => {
      const item = this.readNow(table.TableName, key);
      const paths = (data._projection as { paths?: unknown[] } | undefined)?.paths;
      return item ? { Item: paths ? dynaliteDb.mapPaths(paths, item) : item } : {};
    });
    return { status: 200, body: { Responses: responses } };
  }

  /** The item as the store holds it now, read synchronously. */
  private readNow(tableName: string, key: string): AttributeMap | undefined {
    return (this.db.getSync(itemDbKey(tableName, key)) ?? undefined) as AttributeMap | undefined;
  }

  private async transactWrite(input: Json): Promise<Answer> {
    const items = transactItemsOf(input, 'TransactWriteItem');
    const parsed = items.map((item, index) => {
      if (!isObject(item)) throw nullValue(`transactItems.${index + 1}.member`);
      const kinds = TRANSACT_KINDS.filter((kind) => item[kind] != null);
      if (kinds.length !== 1) {
        throw validationRefusal('TransactItems can only contain one of Check, Put, Update or Delete');
      }
      const kind = kinds[0];
      const at = `transactItems.${index + 1}.member.${lowerFirst(kind)}`;
      const op = item[kind];
      if (!isObject(op)) throw nullValue(at);
      const returnOldOnFailure = returnsOldOnFailure(
        op.ReturnValuesOnConditionCheckFailure,
        `${at}.returnValuesOnConditionCheckFailure`,
      );
      const data = dynaliteValidations.checkTypes(op, TRANSACT_VALIDATIONS[kind].types);
      const required =
        kind === 'Update' ? 'UpdateExpression' : kind === 'ConditionCheck' ? 'ConditionExpression' : '';
      if (required && data[required] == null) throw nullValue(`${at}.${lowerFirst(required)}`);
      return { kind, data, returnOldOnFailure };
    });

    const payload = parsed.reduce((sum, { kind, data }) => sum + payloadBytes(kind, data), 0);
    if (payload > MAX_TRANSACTION_PAYLOAD_BYTES) {
      // DynamoDB's own wording, repetition included.
      throw validationRefusal(
        `Transaction payload size cannot exceed 4MB. Payload Size: : Transaction payload size cannot exceed 4MB. Payload Size: ${payload}`,
      );
    }
    for (const { kind, data } of parsed) {
      const { types, custom } = TRANSACT_VALIDATIONS[kind];
      dynaliteValidations.checkValidations(data, types, custom, this.store);
    }

    const planned: PlannedWrite[] = [];
    const seen = new Set<string>();
    for (const { kind, data, returnOldOnFailure } of parsed) {
      const table = await getTable(this.items, data.TableName as string);
      const source = (kind === 'Put' ? data.Item : data.Key) as AttributeMap;
      const invalid =
        (kind === 'Put' ? dynaliteDb.validateItem(source, table) : dynaliteDb.validateKey(source, table)) ??
        keyBytesError(source, table) ??
        (kind === 'Update' ? dynaliteDb.validateUpdates(undefined, data._updates, table) : undefined);
      if (invalid) throw invalid;
      const key = dynaliteDb.createKey(source, table);
      const id = itemId(table.TableName, key);
      if (seen.has(id))
        throw validationRefusal('Transaction request cannot include multiple operations on one item');
      seen.add(id);
      planned.push({ kind, data, returnOldOnFailure, table, key, id });
    }

    const ids = planned.map((write) => write.id);
    const held = this.locks.claim(ids);
    if (held) return this.conflict(held);
    try {
      if (this.locks.busy(ids)) await this.locks.drain(ids);
      // Read, check and stage without yielding to the event loop: the only window in which
      // another request finds these items held is the batch write itself, as short as the store
      // can make it (the event loop is shared with every handler, and a longer hold would only
      // be congestion turned into conflicts).
      for (const write of planned) write.current = this.readNow(write.table.TableName, write.key);
      // Every condition is evaluated, so that the reasons name each failed one, as DynamoDB's do.
      const reasons = planned.map((write) =>
        dynaliteDb.checkConditional(write.data, write.current)
          ? {
              Code: 'ConditionalCheckFailed',
              Message: 'The conditional request failed',
              ...(write.returnOldOnFailure && write.current ? { Item: write.current } : {}),
            }
          : NONE,
      );
      if (reasons.some((reason) => reason !== NONE)) return cancellation(reasons);
      return await this.commit(planned);
    } finally {
      this.locks.release(ids);
    }
  }

  /** A transaction cancelled because another one holds some of its items: those are named, as DynamoDB does. */
  private conflict(held: readonly boolean[]): Answer {
    this.transactionConflicts += 1;
    return cancellation(held.map((isHeld) => (isHeld ? TRANSACTION_CONFLICT : NONE)));
  }

  /** Writes an admitted transaction whose conditions all hold, as one batch. */
  private async commit(planned: PlannedWrite[]): Promise<Answer> {
    const staging = new Staging(
      this.items,
      planned.map((write) => [itemDbKey(write.table.TableName, write.key), write.current]),
    );
    const writes = planned.filter((write) => write.kind !== 'ConditionCheck');
    const outcomes = await Promise.allSettled(
      writes.map((write) =>
        // The conditions held when the items were admitted, and they have been held since.
        runAction(dynaliteActions[WRITE_ACTION[write.kind as keyof typeof WRITE_ACTION]], staging.store, {
          ...write.data,
          _condition: undefined,
        }),
      ),
    );
    const failed = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    if (failed !== -1) {
      const reason = (outcomes[failed] as PromiseRejectedResult).reason as unknown;
      if (!isDynamoError(reason)) throw reason;
      // A write refused only when applied (an update that makes the item too large, a type
      // mismatch in its expression) cancels the transaction, as in DynamoDB; nothing was written.
      const failedIndex = planned.indexOf(writes[failed]);
      return cancellation(
        planned.map((_, index) =>
          index === failedIndex ? { Code: 'ValidationError', Message: String(reason.body.message) } : NONE,
        ),
      );
    }
    await this.beforeTransactionCommit?.({ tables: planned.map((write) => write.table.TableName) });
    await this.commitBatch(staging, writes);
    return { status: 200, body: {} };
  }

  /** A plain write: read, staged and committed as one batch with its index entries and any stream record. */
  private async writeStaged(
    operation: 'PutItem' | 'UpdateItem' | 'DeleteItem',
    data: Json,
    table: TableDescription,
    key: string,
  ): Promise<Json> {
    const current = this.readNow(table.TableName, key);
    const staging = new Staging(this.items, [[itemDbKey(table.TableName, key), current]]);
    // dynalite's own action checks the condition against the item as read and answers as usual.
    const body = await runAction(dynaliteActions[operation], staging.store, data);
    await this.commitBatch(staging, [{ table, key, current }]);
    return body;
  }

  /**
   * Writes staged changes as one batch of the store, with a stream record for each change of an item of a
   * streamed table, numbered in commit order. The items are held (transaction) or taken in turn (plain
   * write) until the batch is on disk, so an item's records are in the order of its changes.
   */
  private async commitBatch(
    staging: Staging,
    changed: readonly { table: TableDescription; key: string; current?: AttributeMap }[],
  ): Promise<void> {
    const records: { table: string; sequence: number }[] = [];
    const operations: BatchOperation[] = [...staging.operations];
    for (const { table, key, current } of changed) {
      const state = this.streamState.get(table.TableName);
      if (!state) continue;
      const dbKey = itemDbKey(table.TableName, key);
      const written = staging.operations.findLast((operation) => operation.key === dbKey);
      if (!written) continue;
      const after = written.type === 'put' ? (written.value as AttributeMap) : undefined;
      if (!current && !after) continue;
      if (current && after && JSON.stringify(current) === JSON.stringify(after)) continue; // no change
      const eventName: StreamEventName = !current ? 'INSERT' : after ? 'MODIFY' : 'REMOVE';
      const source = (after ?? current) as AttributeMap;
      const keys = Object.fromEntries(
        table.KeySchema.map(({ AttributeName }) => [AttributeName, source[AttributeName]]),
      ) as AttributeMap;
      state.last += 1;
      const sequence = state.last;
      state.writing.add(sequence);
      records.push({ table: table.TableName, sequence });
      const record: StoredStreamRecord = {
        sequence,
        eventName,
        keys,
        ...(after ? { newImage: after } : {}),
        committedAt: Date.now(),
        sizeBytes: dynaliteDb.itemSize(after ?? keys),
      };
      operations.push({ type: 'put', key: streamKey(table.TableName, sequence), value: record });
    }
    try {
      await this.db.batch(operations);
    } finally {
      // Written, or not at all (a gap in the numbers, which readers pass over).
      for (const { table, sequence } of records) this.streamState.get(table)?.writing.delete(sequence);
      for (const table of new Set(records.map((record) => record.table))) {
        for (const listener of this.streamState.get(table)?.listeners ?? []) listener();
      }
    }
  }

  /** The stream side of the store. */
  readonly streams: EmbeddedStreams = {
    tables: [],
    watermark: (table) => {
      const state = this.streamState.get(table);
      if (!state) throw new Error(`Embedded DynamoDB: table ${table} has no stream`);
      return state.writing.size ? Math.min(...state.writing) - 1 : state.last;
    },
    read: async (table, after, upTo, limit) => {
      const records: StoredStreamRecord[] = [];
      if (upTo <= after || limit <= 0) return records;
      for await (const [, value] of this.db.iterator({
        gt: streamKey(table, after),
        lte: streamKey(table, upTo),
        limit,
      })) {
        records.push(value as StoredStreamRecord);
      }
      return records;
    },
    checkpoint: async (table) => {
      const value = this.db.getSync(CHECKPOINT_PREFIX + table);
      return typeof value === 'number' ? value : 0;
    },
    advance: async (table, to, passed) => {
      await this.db.batch([
        { type: 'put', key: CHECKPOINT_PREFIX + table, value: to },
        ...passed.map((sequence) => ({ type: 'del' as const, key: streamKey(table, sequence) })),
      ]);
    },
    onCommit: (table, listener) => {
      const listeners = this.streamState.get(table)?.listeners;
      listeners?.add(listener);
      return () => listeners?.delete(listener);
    },
  };

  private async restore(entry: UndoEntry): Promise<void> {
    if (entry.Item) {
      await runAction(dynaliteActions.PutItem, this.items, { TableName: entry.TableName, Item: entry.Item });
    } else {
      await runAction(dynaliteActions.DeleteItem, this.items, { TableName: entry.TableName, Key: entry.Key });
    }
  }

  /** Restores what a crash left half-applied under the undo log of earlier versions; loads TTL settings. */
  async recover(legacyUndoLog: string | undefined): Promise<void> {
    if (legacyUndoLog !== undefined) {
      await fs.rm(`${legacyUndoLog}.tmp`, { force: true }); // never renamed: nothing was applied
      const text = await fs.readFile(legacyUndoLog, 'utf8').catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (text !== undefined) {
        for (const entry of (JSON.parse(text) as { entries: UndoEntry[] }).entries) await this.restore(entry);
        await fs.rm(legacyUndoLog, { force: true });
      }
    }
    for await (const [key, value] of this.db.iterator({ gte: TTL_PREFIX, lt: `${TTL_PREFIX}\uffff` })) {
      this.timeToLive.set(key.slice(TTL_PREFIX.length), value as Json);
    }
    // Numbering goes on after the last record kept, or after the checkpoint when every record was passed.
    for (const [table, state] of this.streamState) {
      for await (const [, value] of this.db.iterator({
        gte: streamKey(table, 0),
        lte: streamKey(table, Number.MAX_SAFE_INTEGER),
        reverse: true,
        limit: 1,
      })) {
        state.last = (value as StoredStreamRecord).sequence;
      }
      state.last = Math.max(state.last, await this.streams.checkpoint(table));
    }
  }

  /** Accepted and remembered for DescribeTimeToLive; expiry itself is not emulated. */
  private async updateTimeToLive(input: Json): Promise<Answer> {
    const specification = input.TimeToLiveSpecification;
    if (typeof input.TableName !== 'string') throw nullValue('tableName');
    if (!isObject(specification)) throw nullValue('timeToLiveSpecification');
    await getTable(this.store, input.TableName); // ResourceNotFoundException for an unknown table
    const description = specification.Enabled
      ? { TimeToLiveStatus: 'ENABLED', AttributeName: specification.AttributeName }
      : { TimeToLiveStatus: 'DISABLED' };
    await this.db.put(TTL_PREFIX + input.TableName, description);
    this.timeToLive.set(input.TableName, description);
    return { status: 200, body: { TimeToLiveSpecification: specification } };
  }
}

/** The LevelDB key of an item: dynalite keeps each table's items under `item-<table>~`. */
function itemDbKey(tableName: string, key: string): string {
  return `item-${tableName}~${key}`;
}

type BatchOperation = { type: 'put'; key: string; value: unknown } | { type: 'del'; key: string };

/**
 * A view of the store for dynalite's write actions that records their item and index writes
 * instead of making them, to be committed together as one batch. It serves reads of the items
 * the transaction holds from what the transaction read at admission. The prefixes are how
 * dynalite 4 names its sub-databases (db/index.js, getItemDb and getIndexDb). Only for items
 * held exclusively: dynalite's own per-key lock is released when an action returns, before the
 * batch is committed.
 */
class Staging {
  readonly operations: BatchOperation[] = [];
  readonly store: Store;
  private readonly known: Map<string, AttributeMap | undefined>;

  constructor(base: Store, known: Iterable<[string, AttributeMap | undefined]>) {
    this.known = new Map(known);
    this.store = {
      ...base,
      getItemDb: (name) => this.stage(`item-${name}~`, base.getItemDb(name)),
      getIndexDb: (type, tableName, indexName) =>
        this.stage(
          `index-${type.toLowerCase()}~${tableName}~${indexName}~`,
          base.getIndexDb(type, tableName, indexName),
        ),
    };
  }

  private stage(prefix: string, subDb: SubDb): SubDb {
    return {
      ...subDb,
      get: (key, callback) => {
        const full = prefix + key;
        if (this.known.has(full)) callback(null, this.known.get(full));
        else subDb.get(key, callback);
      },
      put: (key, value, callback) => {
        this.operations.push({ type: 'put', key: prefix + key, value });
        callback(null);
      },
      del: (key, callback) => {
        this.operations.push({ type: 'del', key: prefix + key });
        callback(null);
      },
    };
  }
}

/** Adds a write request to BatchWriteItem's RequestItems (or UnprocessedItems) shape. */
function groupInto(byTable: Record<string, Json[]>, target: { tableName: string; request: Json }): void {
  byTable[target.tableName] = [...(byTable[target.tableName] ?? []), target.request];
}

/** A request id shaped like DynamoDB's (52 upper-case letters and digits); randomUUID draws from a cached pool. */
function requestId(): string {
  return `${randomUUID()}${randomUUID()}`.replace(/-/g, '').slice(0, 52).toUpperCase();
}

function send(response: http.ServerResponse, status: number, body: Buffer | string, json = true): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  response.writeHead(status, {
    ...(json ? { 'content-type': 'application/x-amz-json-1.0' } : {}),
    'content-length': bytes.length,
    'x-amzn-requestid': requestId(),
    'x-amz-crc32': zlib.crc32(bytes),
  });
  response.end(bytes);
}

function readBody(request: http.IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    request.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > MAX_REQUEST_BYTES) {
        request.removeAllListeners('data');
        request.resume();
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.on('error', reject);
    request.on('end', () => resolve(length > MAX_REQUEST_BYTES ? undefined : Buffer.concat(chunks)));
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
 * Claims the data directory for this instance: a second store on the same directory would append
 * its own writes to the same journal and never see the other's. A pid file left by a killed
 * process is taken over.
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
      throw new StartupError(
        `DATA_DIR ${resolved} is in use by another backend (process ${holder}); stop it, or choose another DATA_DIR.`,
      );
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
  if (dataDir !== undefined) await fs.mkdir(dataDir, { recursive: true });
  const release = dataDir === undefined ? async () => {} : await claimDataDir(dataDir);

  // Always dynalite's in-memory store, keeping strings (dynalite-internals.ts); on disk, it is kept
  // by the journal (lib/embedded/dynamo/journal.ts).
  const store = dynaliteDb.create({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const engine = new Engine(store, options.beforeTransactionCommit, options.streams);
  let journal: Journal | undefined;
  try {
    await store.db.open();
    if (dataDir !== undefined) {
      journal = await Journal.open(path.join(dataDir, STORE_DIR), store.db, {
        compactAfterBytes: options.compactJournalAfterBytes,
        compactAfterJournals: options.compactAfterJournals,
        write: options.journalWrite,
      });
      await importLevelDb(dataDir, store.db, (location) => dynaliteDb.create({ path: location }).db);
    }
    await engine.recover(dataDir === undefined ? undefined : path.join(dataDir, LEGACY_UNDO_LOG_FILE));
  } catch (error) {
    await journal?.close();
    await store.db.close().catch(() => undefined);
    await release();
    throw error;
  }

  const byOperation: Record<string, number> = {};
  let requests = 0;
  let closing = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;

  /** One DynamoDB request as the AWS JSON protocol carries it: its target header and its body. */
  async function answer(target: unknown, body: string): Promise<{ status: number; text: string }> {
    const operation =
      typeof target === 'string' && target.startsWith(TARGET_PREFIX)
        ? target.slice(TARGET_PREFIX.length)
        : '-';
    requests += 1;
    byOperation[operation] = (byOperation[operation] ?? 0) + 1;

    let input: unknown;
    try {
      input = JSON.parse(body);
    } catch {
      input = undefined;
    }
    if (!isObject(input)) {
      return {
        status: 400,
        text: JSON.stringify({ __type: 'com.amazon.coral.service#SerializationException' }),
      };
    }
    if (closing) {
      return {
        status: 500,
        text: JSON.stringify({
          __type: `${ERROR_PREFIX}InternalServerError`,
          message: 'Embedded DynamoDB is closed',
        }),
      };
    }
    let outcome: Answer;
    inFlight += 1;
    try {
      outcome = await engine.dispatch(operation, input);
    } catch (error) {
      outcome = {
        status: 500,
        body: { __type: `${ERROR_PREFIX}InternalServerError`, message: String(error) },
      };
    } finally {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    }
    return { status: outcome.status, text: JSON.stringify(outcome.body) };
  }

  async function serve(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const body = await readBody(request);
    if (body === undefined) return send(response, 413, '', false);
    if (request.method === 'GET')
      return send(response, 200, 'healthy: dynamodb.us-east-1.amazonaws.com ', false);
    if (request.method !== 'POST') return send(response, 404, '<UnknownOperationException/>\n', false);
    const { status, text } = await answer(request.headers['x-amz-target'], body.toString('utf8'));
    send(response, status, text);
  }

  /**
   * The same store as an SDK client's HTTP handler: the client serializes, signs, retries and
   * parses as always (faults included), and only the loopback socket is skipped.
   */
  const requestHandler: InProcessHandler = {
    async handle(request) {
      // The SDK's JSON body is a Uint8Array whose valueOf() is a string: read it as bytes.
      const bytes = request.body as Uint8Array | string | undefined;
      const body =
        typeof bytes === 'string'
          ? bytes
          : bytes
            ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')
            : '';
      const target = Object.entries(request.headers).find(
        ([name]) => name.toLowerCase() === 'x-amz-target',
      )?.[1];
      const { status, text } = await answer(target, body);
      // The answer arrives on a later turn of the event loop, as from the network: the store itself
      // does no I/O, and a caller that only ever awaits it would otherwise run on microtasks alone,
      // starving timers (retry backoffs, the clock), streams and the journal's snapshot writes.
      await new Promise((resolve) => setImmediate(resolve));
      return {
        response: {
          statusCode: status,
          headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId() },
          body: Buffer.from(text),
        },
      };
    },
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    destroy() {},
  };

  const server = http.createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        send(
          response,
          500,
          JSON.stringify({ __type: `${ERROR_PREFIX}InternalServerError`, message: String(error) }),
        );
      }
    });
  });
  const port = await listen(server);

  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requestHandler,
    streams: { ...engine.streams, tables: [...(options.streams ?? [])] },
    stats: () => ({
      requests,
      byOperation: { ...byOperation },
      transactionConflicts: engine.transactionConflicts,
    }),
    close: () => {
      closed ??= (async () => {
        closing = true;
        const serverClosed = closeServer(server);
        server.closeIdleConnections();
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        server.closeAllConnections();
        await serverClosed;
        await journal?.close();
        await store.db.close();
        await release();
      })();
      return closed;
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
    Projection: index.include?.length
      ? { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.include] }
      : index.include
        ? { ProjectionType: 'KEYS_ONLY' }
        : { ProjectionType: 'ALL' },
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
