/**
 * DynamoDB round trips and capacity units counted at the SDK, the way AWS would bill them.
 *
 * The embedded store (dynalite underneath) reports ConsumedCapacity only for single-item operations and
 * BatchWriteItem, counts no index writes and none at all for transactions, so asking it for ReturnConsumedCapacity
 * TOTAL would understate exactly the requests this project cares about (the TransactWriteItems of
 * every event). Instead a middleware on the handlers' DynamoDB client reads each item a request
 * touches before and after it (through a separate client the counter does not see) and computes
 * the units from item sizes as DynamoDB documents it:
 *
 * - a write: ceil(max(size before, size after) / 1 KB) WRU, at least 1; twice that in a
 *   TransactWriteItems; a failed condition still costs the write;
 * - each global secondary index the write changes: ceil(projected size / 1 KB) per index entry put,
 *   updated or deleted (an index key that moves costs a delete and a put), at the standard rate
 *   (index propagation is not transactional);
 * - a read: ceil(size / 4 KB) RRU per item (a missing item still costs the minimum), half that when
 *   eventually consistent, twice that in a TransactGetItems; a Query costs ceil(sum of the sizes of
 *   the items it evaluated / 4 KB), filters notwithstanding.
 *
 * Item size: attribute names plus values (strings and binaries by UTF-8 bytes, numbers about one
 * byte per two significant digits plus one, maps and lists 3 bytes plus 1 per element).
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { type TableDeclaration, type TableName, tables } from '../../lib/manifest.js';

type Item = Record<string, AttributeValue>;

const utf8 = (text: string) => Buffer.byteLength(text, 'utf8');

/** DynamoDB's size of a number: about one byte per two significant digits, plus one. */
export function numberSize(text: string): number {
  const digits = text
    .replace(/^[-+]/, '')
    .replace(/e.*$/i, '')
    .replace('.', '')
    .replace(/^0+/, '')
    .replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

export function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return utf8(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((sum, s) => sum + utf8(s), 0);
  if (value.NS) return value.NS.reduce((sum, n) => sum + numberSize(n), 0);
  if (value.BS) return value.BS.reduce((sum, b) => sum + b.length, 0);
  if (value.L) return 3 + value.L.reduce((sum, element) => sum + 1 + valueSize(element), 0);
  if (value.M) {
    return (
      3 +
      Object.entries(value.M).reduce((sum, [name, element]) => sum + 1 + utf8(name) + valueSize(element), 0)
    );
  }
  return 0;
}

export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((sum, [name, value]) => sum + utf8(name) + valueSize(value), 0);
}

/** Write units of one item write (standard); a delete of nothing still costs one. */
export const writeUnits = (before: number, after: number) =>
  Math.max(1, Math.ceil(Math.max(before, after) / 1024));

/** Read units of `bytes` read in one go (standard, strongly consistent); at least one. */
export const readUnits = (bytes: number) => Math.max(1, Math.ceil(bytes / 4096));

export interface IndexShape {
  readonly keys: readonly string[];
  /** undefined: every attribute (projection ALL). */
  readonly include?: readonly string[];
}

export interface TableShape {
  readonly keys: readonly string[];
  readonly indexes: readonly IndexShape[];
}

function shapeOf(declaration: TableDeclaration): TableShape {
  const keys = [declaration.partitionKey.name, ...(declaration.sortKey ? [declaration.sortKey.name] : [])];
  return {
    keys,
    indexes: (declaration.indexes ?? []).map((index) => ({
      keys: [index.partitionKey.name, ...(index.sortKey ? [index.sortKey.name] : [])],
      include: index.include ? [...keys, ...index.include] : undefined,
    })),
  };
}

/** The index entry an item has (undefined when the item lacks the index key: a sparse index). */
function indexEntry(item: Item | undefined, table: TableShape, index: IndexShape): Item | undefined {
  if (!item || index.keys.some((key) => item[key] === undefined)) return undefined;
  if (!index.include) return item;
  const projected = new Set([...index.keys, ...index.include]);
  return Object.fromEntries(
    Object.entries(item).filter(([name]) => projected.has(name) || table.keys.includes(name)),
  );
}

const same = (a: AttributeValue | undefined, b: AttributeValue | undefined) =>
  JSON.stringify(a) === JSON.stringify(b);

/** Write units the indexes of `table` cost when an item goes from `before` to `after`. */
export function indexWriteUnits(
  table: TableShape,
  before: Item | undefined,
  after: Item | undefined,
): number {
  let units = 0;
  for (const index of table.indexes) {
    const old = indexEntry(before, table, index);
    const now = indexEntry(after, table, index);
    if (!old && !now) continue;
    if (!old || !now) {
      units += writeUnits(itemSize(old ?? now), 0);
    } else if (index.keys.some((key) => !same(old[key], now[key]))) {
      units += writeUnits(itemSize(old), 0) + writeUnits(itemSize(now), 0);
    } else if (JSON.stringify(old) !== JSON.stringify(now)) {
      units += writeUnits(itemSize(old), itemSize(now));
    }
  }
  return units;
}

export interface CapacityCount {
  readonly calls: number;
  readonly byOperation: Record<string, number>;
  readonly writeUnits: number;
  readonly readUnits: number;
  /** Calls whose items could not be read back to price them (their units are missing above). */
  readonly pricingFailures: number;
}

interface Target {
  readonly table: string;
  readonly key: Item;
}

interface CapacityCounter {
  /** What the client was asked since the last reset, and what it would cost in DynamoDB. */
  snapshot(): CapacityCount;
  reset(): void;
  /** Resolves once every request the counter has seen has been priced. */
  idle(): Promise<void>;
  remove(): void;
}

/**
 * Installs the counter on `client` (the handlers' client: the document client shares its middleware
 * stack) and reads items through `probe`, a client on the same store that nothing counts. Prices
 * each request while it runs, so concurrent requests on one item would blur each other's figures:
 * measure one request at a time.
 */
export function countCapacity(client: DynamoDBClient, probe: DynamoDBClient): CapacityCounter {
  const shapes = new Map<string, TableShape>();
  for (const [name, declaration] of Object.entries(tables) as [TableName, TableDeclaration][]) {
    shapes.set(process.env[declaration.envVar] ?? name, shapeOf(declaration));
  }
  const shape = (table: string) => {
    const found = shapes.get(table);
    if (!found) throw new Error(`capacity counter: unknown table ${table}`);
    return found;
  };
  const keyOf = (table: string, item: Item): Item =>
    Object.fromEntries(shape(table).keys.map((key) => [key, item[key] as AttributeValue]));
  const read = async ({ table, key }: Target): Promise<Item | undefined> =>
    (await probe.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }))).Item;

  let count = {
    calls: 0,
    byOperation: {} as Record<string, number>,
    writeUnits: 0,
    readUnits: 0,
    pricingFailures: 0,
  };
  const pending = new Set<Promise<unknown>>();

  const price = async (operation: string, input: Record<string, unknown>, run: () => Promise<unknown>) => {
    const writes: { target: Target; factor: number }[] = [];
    const reads: { target: Target; factor: number }[] = [];
    const put = (table: string, item: Item, factor: number) =>
      writes.push({ target: { table, key: keyOf(table, item) }, factor });
    const keyed = (table: string, key: Item, factor: number) =>
      writes.push({ target: { table, key }, factor });
    switch (operation) {
      case 'PutItem':
        put(input.TableName as string, input.Item as Item, 1);
        break;
      case 'UpdateItem':
      case 'DeleteItem':
        keyed(input.TableName as string, input.Key as Item, 1);
        break;
      case 'TransactWriteItems':
        for (const action of input.TransactItems as Record<
          string,
          { TableName: string; Item?: Item; Key?: Item }
        >[]) {
          const [kind, body] = Object.entries(action)[0] as [
            string,
            { TableName: string; Item?: Item; Key?: Item },
          ];
          if (kind === 'Put') put(body.TableName, body.Item as Item, 2);
          else if (kind === 'ConditionCheck')
            reads.push({ target: { table: body.TableName, key: body.Key as Item }, factor: 2 });
          else keyed(body.TableName, body.Key as Item, 2);
        }
        break;
      case 'BatchWriteItem':
        for (const [table, requests] of Object.entries(
          input.RequestItems as Record<string, Record<string, { Item?: Item; Key?: Item }>[]>,
        )) {
          for (const request of requests) {
            if (request.PutRequest) put(table, request.PutRequest.Item as Item, 1);
            if (request.DeleteRequest) keyed(table, request.DeleteRequest.Key as Item, 1);
          }
        }
        break;
      case 'GetItem':
        reads.push({
          target: { table: input.TableName as string, key: input.Key as Item },
          factor: input.ConsistentRead ? 1 : 0.5,
        });
        break;
      case 'BatchGetItem':
        for (const [table, request] of Object.entries(
          input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>,
        )) {
          for (const key of request.Keys)
            reads.push({ target: { table, key }, factor: request.ConsistentRead ? 1 : 0.5 });
        }
        break;
      case 'TransactGetItems':
        for (const action of input.TransactItems as { Get: { TableName: string; Key: Item } }[]) {
          reads.push({ target: { table: action.Get.TableName, key: action.Get.Key }, factor: 2 });
        }
        break;
    }
    let probeFailed = false;
    const safely = async <T>(work: () => Promise<T>, fallback: T): Promise<T> => {
      try {
        return await work();
      } catch {
        probeFailed = true;
        return fallback;
      }
    };
    const before = await safely(() => Promise.all(writes.map((write) => read(write.target))), []);
    let readUnitsSpent = 0;
    for (const { target, factor } of reads) {
      readUnitsSpent += readUnits(itemSize(await safely(() => read(target), undefined))) * factor;
    }
    let failure: unknown;
    let output: unknown;
    try {
      output = await run();
    } catch (error) {
      failure = error;
    }
    const after = await safely(() => Promise.all(writes.map((write) => read(write.target))), []);
    let writeUnitsSpent = 0;
    writes.forEach(({ target, factor }, i) => {
      writeUnitsSpent += writeUnits(itemSize(before[i]), itemSize(after[i])) * factor;
      writeUnitsSpent += indexWriteUnits(shape(target.table), before[i], after[i]);
    });
    if (operation === 'Query' || operation === 'Scan')
      readUnitsSpent += await safely(() => queryUnits(operation, input), 0);
    count = {
      pricingFailures: count.pricingFailures + (probeFailed ? 1 : 0),
      calls: count.calls + 1,
      byOperation: { ...count.byOperation, [operation]: (count.byOperation[operation] ?? 0) + 1 },
      writeUnits: count.writeUnits + writeUnitsSpent,
      readUnits: count.readUnits + readUnitsSpent,
    };
    if (failure) throw failure;
    return output;
  };

  /** A Query is priced by what it evaluated: the same page again, without filter or projection. */
  const queryUnits = async (operation: string, input: Record<string, unknown>): Promise<number> => {
    if (operation === 'Scan') return 0; // the handlers never scan; a scan would be priced here
    const key = input.KeyConditionExpression as string;
    const used = (tokens: Record<string, unknown> | undefined, prefix: string) => {
      const kept = Object.entries(tokens ?? {}).filter(
        ([name]) => key.includes(name) && name.startsWith(prefix),
      );
      return kept.length > 0 ? Object.fromEntries(kept) : undefined;
    };
    const page = await probe.send(
      new QueryCommand({
        TableName: input.TableName as string,
        IndexName: input.IndexName as string | undefined,
        KeyConditionExpression: key,
        ExpressionAttributeNames: used(
          input.ExpressionAttributeNames as Record<string, unknown>,
          '#',
        ) as QueryCommandInput['ExpressionAttributeNames'],
        ExpressionAttributeValues: used(
          input.ExpressionAttributeValues as Record<string, unknown>,
          ':',
        ) as QueryCommandInput['ExpressionAttributeValues'],
        ExclusiveStartKey: input.ExclusiveStartKey as Item | undefined,
        ScanIndexForward: input.ScanIndexForward as boolean | undefined,
        Limit: input.Limit as number | undefined,
      }),
    );
    const bytes = (page.Items ?? []).reduce((sum, item) => sum + itemSize(item), 0);
    return readUnits(bytes) * (input.ConsistentRead ? 1 : 0.5);
  };

  const name = 'bridgewayBenchCapacityCounter';
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const operation = String(context.commandName ?? '').replace(/Command$/, '');
      const task = price(operation, args.input as Record<string, unknown>, () => next(args));
      pending.add(task);
      try {
        return (await task) as Awaited<ReturnType<typeof next>>;
      } finally {
        pending.delete(task);
      }
    },
    // Build: after the document client's marshalling (the input is DynamoDB JSON here) and
    // outside the retry middleware (one logical call, one count; the store never throttles).
    { step: 'build', name, override: true },
  );
  return {
    snapshot: () => ({ ...count, byOperation: { ...count.byOperation } }),
    reset: () => {
      count = { calls: 0, byOperation: {}, writeUnits: 0, readUnits: 0, pricingFailures: 0 };
    },
    idle: async () => {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    remove: () => {
      client.middlewareStack.remove(name);
    },
  };
}
