/**
 * How the embedded DynamoDB keeps its data on disk: the store itself is dynalite's in-memory
 * LevelDB (memory-level), and every write to it is first appended to a journal file, one line per
 * write call (a put, a delete or a whole batch), with ONE write(2). A line is on disk whole or, cut
 * by a crash, unreadable and skipped: a batch (a transaction with its stream records) is on disk
 * whole or not at all, across `kill -9` too. Now and then the store is written out as a snapshot
 * (in the background, from a consistent view of it), after which the journals before it are removed.
 *
 * Why not dynalite's on-disk LevelDB (classic-level 3.0.0): it bundles LevelDB 1.20, which lacks
 * the fix of google/leveldb#320 (`AddBoundaryInputs`, LevelDB 1.21). While a snapshot is open,
 * and classic-level opens one for every get and every iterator, a compaction can leave an older
 * version of an often-updated item above its newest one, and every later read returns the older
 * version. Under load that lost report counter increments (a count fell back 100+ events at once
 * after 150,000-300,000 events). memory-level keeps one version per key and has no compaction.
 *
 * Files, in `<dataDir>/store/`: `snapshot-<n>.jsonl` (the whole store as it was when journal n was
 * started) and `journal-<n>.jsonl`, `journal-<n+1>.jsonl`... Loading reads the newest complete
 * snapshot, then every journal from its number on, in order. Each start begins a new journal, so a
 * line cut short by a crash is only ever the last of its file.
 *
 * A value is written as the JSON text the store keeps for it (memory-level holds strings,
 * dynalite-internals.ts), inside the line's JSON as a string: a write encodes its values once, not
 * once for the journal and again for the store, and a start puts each value in as read instead of
 * parsing it into objects and encoding it back. A snapshot line is ["P", key, text, key, text...], a
 * journal line a list of ["P", key, text] and ["d", key]. Lines of earlier versions, [[key, value]...]
 * in snapshots and ["p", key, value] in journals, are still read.
 */
import {
  closeSync,
  createReadStream,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  writeSync,
} from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { LevelDb } from './dynalite-internals.js';

type Operation =
  | { type: 'put'; key: string; value: unknown; valueEncoding?: 'utf8' }
  | { type: 'del'; key: string };
/** Per operation of a journal line: ["P", key, value as JSON text] or ["d", key]; earlier versions ["p", key, value]. */
type JournalEntry = ['P', string, string] | ['p', string, unknown] | ['d', string];

/** write(2) as the journal appends with it: bytes from `offset` on, answering how many it took. */
type WriteFn = (fd: number, bytes: Buffer, offset: number) => number;

export interface JournalOptions {
  /** Journal bytes written since the last snapshot that start a new one (at least the snapshot's own size). */
  compactAfterBytes?: number;
  /** Journals with writes since the last snapshot that make a start write a new one (each start begins a journal). */
  compactAfterJournals?: number;
  /** Tests only: the write(2) lines are appended with (default fs.writeSync). */
  write?: WriteFn;
}

const SNAPSHOT = /^snapshot-(\d+)\.jsonl$/;
const JOURNAL = /^journal-(\d+)\.jsonl$/;
/** [key, value] pairs per snapshot line. */
const PAIRS_PER_LINE = 500;
const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;
/**
 * A backend restarted again and again (a service manager after a crash, a daily cron) begins a journal
 * at each start: past this many with writes in them, the start folds them into a snapshot, so that a
 * start reads a few files however many starts came before it.
 */
const DEFAULT_COMPACT_AFTER_JOURNALS = 64;

const snapshotName = (generation: number) => `snapshot-${generation}.jsonl`;
const journalName = (generation: number) => `journal-${generation}.jsonl`;

/** A put of a value already in the JSON text the store keeps: the store takes it as it is. */
const putText = (key: string, text: string): Operation => ({
  type: 'put',
  key,
  value: text,
  valueEncoding: 'utf8',
});

const operationOf = (entry: JournalEntry): Operation =>
  entry[0] === 'P'
    ? putText(entry[1], entry[2])
    : entry[0] === 'p'
      ? { type: 'put', key: entry[1], value: entry[2] }
      : { type: 'del', key: entry[1] };

/** The operations of a snapshot line, of this version (["P", key, text...]) or an earlier one ([[key, value]...]). */
function snapshotOperations(line: unknown[]): Operation[] {
  if (line[0] !== 'P')
    return (line as [string, unknown][]).map(([key, value]) => ({ type: 'put', key, value }));
  const operations: Operation[] = [];
  for (let i = 1; i < line.length; i += 2) operations.push(putText(line[i] as string, line[i + 1] as string));
  return operations;
}

async function filesOf(
  directory: string,
): Promise<{ snapshots: number[]; journals: number[]; temporary: string[] }> {
  const names = await fs.readdir(directory);
  const numbers = (pattern: RegExp) =>
    names
      .map((name) => pattern.exec(name)?.[1])
      .filter((found): found is string => found !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  return {
    snapshots: numbers(SNAPSHOT),
    journals: numbers(JOURNAL),
    temporary: names.filter((name) => name.endsWith('.tmp')),
  };
}

/** Removes the snapshots and journals before `generation`: snapshot `generation` holds all they did. */
async function removeBefore(directory: string, generation: number): Promise<void> {
  const { snapshots, journals } = await filesOf(directory);
  for (const n of snapshots.filter((n) => n < generation))
    await fs.rm(path.join(directory, snapshotName(n)), { force: true });
  for (const n of journals.filter((n) => n < generation))
    await fs.rm(path.join(directory, journalName(n)), { force: true });
}

/** Each parsed line of a file; a line that does not parse (cut by a crash) ends the file. */
async function* linesOf(file: string): AsyncGenerator<unknown> {
  const input = createReadStream(file);
  const lines = readline.createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const line of lines) {
      if (line === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        return;
      }
      yield parsed;
    }
  } finally {
    lines.close();
    input.destroy();
  }
}

const writeAll: WriteFn = (fd, bytes, offset) => writeSync(fd, bytes, offset);

/**
 * Writes all of `text` at the end of the file (write(2) may take less than it is given). When a write
 * fails (a full disk), the part of the line already written is cut off again: a torn line in the middle
 * of a journal would end its replay there and lose every write after it.
 */
function append(fd: number, text: string, write: WriteFn = writeAll): number {
  const bytes = Buffer.from(text);
  let offset = 0;
  try {
    while (offset < bytes.length) offset += write(fd, bytes, offset);
  } catch (error) {
    if (offset > 0) ftruncateSync(fd, fstatSync(fd).size - offset);
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new Error(`Embedded DynamoDB: the journal could not be written (${code}); nothing was stored`, {
      cause: error,
    });
  }
  return bytes.length;
}

/**
 * A write the journal refused, answered the way the caller expects: dynalite's callback-style writes
 * get it in their callback, promise-style ones as a rejection. Thrown, it would escape dynalite's
 * callbacks and stop the process instead of failing the one request.
 */
function refused(error: unknown, rest: unknown[]): unknown {
  const callback = rest.at(-1);
  if (typeof callback === 'function') {
    setImmediate(callback as (error: unknown) => void, error);
    return undefined;
  }
  return Promise.reject(error);
}

export class Journal {
  private fd: number;
  private generation: number;
  private bytesSinceSnapshot = 0;
  private snapshotBytes = 0;
  private compaction: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly directory: string,
    private readonly db: LevelDb,
    generation: number,
    private readonly compactAfterBytes: number,
    private readonly write: JournalOptions['write'],
  ) {
    this.generation = generation;
    this.fd = openSync(path.join(directory, journalName(generation)), 'a', 0o600);
  }

  /**
   * Loads what `directory` holds into `db` (open, empty) and journals every write made to it from
   * then on: its put, del and batch are wrapped, so dynalite's writes and the engine's go through here.
   */
  static async open(directory: string, db: LevelDb, options: JournalOptions = {}): Promise<Journal> {
    await fs.mkdir(directory, { recursive: true, mode: 0o700 });
    const { snapshots, journals, temporary } = await filesOf(directory);
    // A snapshot still being written when the process stopped: the journals before it are all still there.
    for (const name of temporary) await fs.rm(path.join(directory, name), { force: true });
    const base = snapshots.at(-1) ?? 0;
    let snapshotBytes = 0;
    if (snapshots.length > 0) {
      const file = path.join(directory, snapshotName(base));
      snapshotBytes = (await fs.stat(file)).size;
      for await (const line of linesOf(file)) await db.batch(snapshotOperations(line as unknown[]));
    }
    const replayed = journals.filter((generation) => generation >= base);
    let bytesSinceSnapshot = 0;
    const empty: number[] = [];
    for (const generation of replayed) {
      const file = path.join(directory, journalName(generation));
      const bytes = (await fs.stat(file)).size;
      if (bytes === 0) empty.push(generation);
      bytesSinceSnapshot += bytes;
      for await (const entries of linesOf(file)) await db.batch((entries as JournalEntry[]).map(operationOf));
    }
    // Files a finished snapshot made obsolete, left by a stop before they were removed.
    await removeBefore(directory, base);
    // The journals of starts that wrote nothing: otherwise each start, however idle, left one more file to read.
    for (const generation of empty)
      await fs.rm(path.join(directory, journalName(generation)), { force: true });

    // Numbered past every journal there was, the empty ones too, so no number is ever used twice.
    const next = journals.reduce((highest, generation) => Math.max(highest, generation), base) + 1;
    const journal = new Journal(
      directory,
      db,
      next,
      options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES,
      options.write,
    );
    journal.snapshotBytes = snapshotBytes;
    journal.bytesSinceSnapshot = bytesSinceSnapshot;
    journal.wrap();
    if (replayed.length - empty.length >= (options.compactAfterJournals ?? DEFAULT_COMPACT_AFTER_JOURNALS)) {
      journal.startSnapshot();
    }
    return journal;
  }

  private wrap(): void {
    const db = this.db as unknown as Record<'put' | 'del' | 'batch', (...args: unknown[]) => unknown>;
    const batch = db.batch.bind(db);
    // A put or a delete is a batch of one (dynalite's wrappers of the three answer callbacks alike), so
    // every write is journaled, encoded and guarded in one place.
    db.put = (key, value, ...rest) => db.batch([{ type: 'put', key, value }], ...rest);
    db.del = (key, ...rest) => db.batch([{ type: 'del', key }], ...rest);
    db.batch = (operations, ...rest) => {
      // Nothing to write, or a put of no value, which the store refuses itself: nothing to journal either
      // (a journaled line the store cannot take back in would stop every later start).
      if (
        !Array.isArray(operations) ||
        operations.length === 0 ||
        (operations as Operation[]).some((operation) => operation.type === 'put' && operation.value == null)
      )
        return batch(operations, ...rest);
      const entries: JournalEntry[] = [];
      const encoded: Operation[] = [];
      for (const operation of operations as Operation[]) {
        if (operation.type === 'del') {
          entries.push(['d', operation.key]);
          encoded.push(operation);
        } else {
          // The JSON text the store's json encoding would make of it, made once for both.
          const text = JSON.stringify(operation.value);
          entries.push(['P', operation.key, text]);
          encoded.push(putText(operation.key, text));
        }
      }
      try {
        this.record(entries);
      } catch (error) {
        return refused(error, rest);
      }
      return this.thenMaybeSnapshot(batch(encoded, ...rest));
    };
  }

  /** Appends one line, before the store applies the write: what the store holds is always on disk. */
  private record(entries: JournalEntry[]): void {
    // A write that would not be kept must not be made either.
    if (this.closed) throw new Error('Embedded DynamoDB: the store is closed');
    this.bytesSinceSnapshot += append(this.fd, `${JSON.stringify(entries)}\n`, this.write);
  }

  /**
   * Starts a snapshot when the journal has grown enough, AFTER the write that grew it is in the
   * store (memory-level applies a write within the call), so the snapshot holds it: the journal it
   * was written to goes once the snapshot is complete.
   */
  private thenMaybeSnapshot<T>(written: T): T {
    if (this.bytesSinceSnapshot > Math.max(this.compactAfterBytes, this.snapshotBytes)) this.startSnapshot();
    return written;
  }

  /** Writes a snapshot in the background, unless one is being written. */
  private startSnapshot(): void {
    if (this.closed || this.compaction) return;
    // A snapshot that fails (a full disk) loses nothing: the journals it would have replaced stay,
    // and the next write past the mark (or the next start) tries again.
    this.compaction = this.snapshot()
      .catch(() => undefined)
      .finally(() => {
        this.compaction = undefined;
      });
  }

  /**
   * Writes the store out as snapshot n+1 and starts journal n+1 at the same moment (one turn of
   * the event loop: memory-level's iterator sees the store exactly as the new journal starts).
   */
  private async snapshot(): Promise<void> {
    const previous = this.generation;
    const generation = previous + 1;
    const entries = this.db.iterator({ valueEncoding: 'utf8' }) as AsyncIterable<[string, string]> & {
      close(): Promise<void>;
    };
    closeSync(this.fd);
    this.fd = openSync(path.join(this.directory, journalName(generation)), 'a', 0o600);
    this.generation = generation;
    this.bytesSinceSnapshot = 0;

    const temporary = path.join(this.directory, `${snapshotName(generation)}.tmp`);
    let bytes = 0;
    // The iterator holds the store as it was; closed in any case, or that version stays in memory.
    const file = await fs.open(temporary, 'w', 0o600).catch(async (error: unknown) => {
      await entries.close();
      throw error;
    });
    try {
      let line: string[] = ['P'];
      const flush = async () => {
        const text = `${JSON.stringify(line)}\n`;
        bytes += Buffer.byteLength(text);
        await file.write(text);
        line = ['P'];
      };
      for await (const [key, value] of entries) {
        line.push(key, value);
        if (line.length > 2 * PAIRS_PER_LINE) await flush();
      }
      if (line.length > 1) await flush();
      await file.sync();
    } finally {
      await file.close();
    }
    await fs.rename(temporary, path.join(this.directory, snapshotName(generation)));
    this.snapshotBytes = bytes;
    await removeBefore(this.directory, generation);
  }

  /** Waits for a snapshot being written, then stops journaling: close it before the store. */
  async close(): Promise<void> {
    await this.compaction;
    if (this.closed) return;
    this.closed = true;
    fsyncSync(this.fd);
    closeSync(this.fd);
  }
}

/**
 * Data directories of versions that kept the store in dynalite's LevelDB (`<dataDir>/dynamodb`):
 * copies every entry into `db` (through the journal), then renames the old directory, so it is
 * read once. A stop halfway leaves the old directory in place and the copy is made again.
 */
export async function importLevelDb(
  dataDir: string,
  db: LevelDb,
  openLevelDb: (location: string) => LevelDb,
): Promise<void> {
  const location = path.join(dataDir, 'dynamodb');
  if (!existsSync(path.join(location, 'CURRENT'))) return;
  const old = openLevelDb(location);
  await old.open();
  try {
    let chunk: Operation[] = [];
    for await (const [key, value] of old.iterator({})) {
      chunk.push({ type: 'put', key, value });
      if (chunk.length === PAIRS_PER_LINE) {
        await db.batch(chunk);
        chunk = [];
      }
    }
    if (chunk.length > 0) await db.batch(chunk);
  } finally {
    await old.close();
  }
  await fs.rename(location, path.join(dataDir, 'dynamodb-leveldb-imported'));
}
