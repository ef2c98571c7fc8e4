import { writeFileSync } from 'node:fs';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import type { StreamTrigger } from '../../manifest.js';
import type { FaultInjector } from '../faults.js';
import { LOCAL_ACCOUNT, LOCAL_REGION } from '../transports.js';
import type { EmbeddedStreams, StoredStreamRecord } from './dynamo.js';

/**
 * A table's stream delivered to its function the way Lambda's event source mapping does it for a
 * DynamoDB stream (one shard, one batch in flight), and no kinder:
 *
 * - Records in commit order, in batches of up to `batchSize`, filtered by event name (a record left out
 *   by the filter is passed over, never delivered).
 * - The function answers `batchItemFailures` (ReportBatchItemFailures): the checkpoint moves to just
 *   before the first failed record, and the next batch starts there, the records after it included
 *   (they come again even though they succeeded). An identifier that is not one of the batch's fails
 *   the whole batch, as in Lambda.
 * - The function fails as a whole (throws, or Lambda itself fails: the `lambda` fault, before the
 *   function ran or after it ran with its answer lost): the batch comes again, split in two
 *   (BisectBatchOnFunctionError).
 * - After `retryAttempts` retries of the same record, or once a record is older than
 *   `maxRecordAgeSeconds`, its batch is set aside: a line like the SQS message Lambda sends to the
 *   on-failure destination goes to `deadLetterFile`, and the stream goes on past it.
 * - The checkpoint is kept in the store (lib/embedded/dynamo/dynamo.ts), so after a `kill -9` delivery starts
 *   again from the first record not checkpointed: a batch handled but not checkpointed comes again.
 *
 * Retries wait (real time, exponential, capped at a second): the stream does not spin on a failure.
 */
export interface StreamConsumerOptions {
  /** The function's manifest name (faults are rolled under it). */
  readonly name: string;
  readonly trigger: StreamTrigger;
  /** Physical table name. */
  readonly table: string;
  readonly streams: EmbeddedStreams;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse | undefined | null>;
  readonly deadLetterFile: string;
  readonly faults?: FaultInjector;
  readonly log?: (entry: Record<string, unknown>) => void;
  /** First retry delay in real milliseconds (doubles each retry, at most 1 s). */
  readonly retryBaseMs?: number;
}

export interface StreamConsumerStats {
  readonly batches: number;
  readonly records: number;
  readonly retries: number;
  readonly deadLettered: number;
  readonly checkpoint: number;
}

export class StreamConsumer {
  private checkpoint = 0;
  private stopped = false;
  private paused = false;
  private dirty = true;
  private signal?: () => void;
  private running?: Promise<void>;
  private readonly waiters: { target: number; done: () => void }[] = [];
  private readonly unsubscribe: () => void;
  private counts = { batches: 0, records: 0, retries: 0, deadLettered: 0 };

  constructor(private readonly options: StreamConsumerOptions) {
    this.unsubscribe = options.streams.onCommit(options.table, () => this.wake());
  }

  get arn(): string {
    return `arn:aws:dynamodb:${LOCAL_REGION}:${LOCAL_ACCOUNT}:table/${this.options.table}/stream/embedded`;
  }

  async start(): Promise<void> {
    this.checkpoint = await this.options.streams.checkpoint(this.options.table);
    this.running = this.loop().catch((error: Error) => {
      this.options.log?.({
        level: 'ERROR',
        message: 'stream delivery stopped',
        table: this.options.table,
        errorMessage: error.message,
      });
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.wake();
    await this.running;
    for (const waiter of this.waiters.splice(0)) waiter.done();
  }

  /** Tests and the benchmark: hold delivery (records keep accumulating) until resume(). */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.wake();
  }

  /** Resolves once every change committed before this call has been delivered or set aside. */
  drained(): Promise<void> {
    const target = this.options.streams.watermark(this.options.table);
    if (this.checkpoint >= target || this.stopped) return Promise.resolve();
    return new Promise((done) => this.waiters.push({ target, done }));
  }

  stats(): StreamConsumerStats {
    return { ...this.counts, checkpoint: this.checkpoint };
  }

  private wake(): void {
    this.dirty = true;
    const signal = this.signal;
    this.signal = undefined;
    signal?.();
  }

  private async nextWork(): Promise<void> {
    if (this.dirty || this.stopped) {
      this.dirty = false;
      return;
    }
    await new Promise<void>((resolve) => {
      this.signal = resolve;
    });
    this.dirty = false;
  }

  private async advance(to: number, passed: readonly StoredStreamRecord[]): Promise<void> {
    await this.options.streams.advance(
      this.options.table,
      to,
      passed.map((record) => record.sequence),
    );
    this.checkpoint = to;
    for (let i = this.waiters.length - 1; i >= 0; i -= 1) {
      if (this.waiters[i]!.target <= to) this.waiters.splice(i, 1)[0]!.done();
    }
  }

  private async loop(): Promise<void> {
    const { trigger, streams, table } = this.options;
    let attempts = 0;
    let limit = trigger.batchSize;
    while (!this.stopped) {
      const upTo = streams.watermark(table);
      if (this.paused || this.checkpoint >= upTo) {
        await this.nextWork();
        continue;
      }
      const records = await streams.read(table, this.checkpoint, upTo, limit);
      if (records.length === 0) {
        await this.advance(upTo, []); // a gap: numbers handed out to writes that never landed
        continue;
      }
      const last = records.at(-1)!.sequence;
      const oldest = Date.now() - trigger.maxRecordAgeSeconds * 1000;
      const expired = records.filter((record) => record.committedAt < oldest);
      if (expired.length) {
        const through = expired.at(-1)!.sequence;
        const setAside = records.filter((record) => record.sequence <= through);
        this.deadLetter(setAside, 'RecordAgeExceeded');
        await this.advance(through, setAside);
        continue;
      }
      const batch = records.filter((record) => trigger.events.includes(record.eventName));
      if (batch.length === 0) {
        await this.advance(last, records);
        continue;
      }
      const failedFrom = await this.invoke(batch);
      if (failedFrom === undefined) {
        await this.advance(last, records);
        attempts = 0;
        limit = trigger.batchSize;
        continue;
      }
      attempts += 1;
      this.counts.retries += 1;
      const done = records.filter((record) => failedFrom !== 'all' && record.sequence < failedFrom);
      if (done.length) {
        // What came before the first failure is done: its retry count starts afresh with the rest.
        await this.advance(done.at(-1)!.sequence, done);
        attempts = 1;
      }
      if (attempts > trigger.retryAttempts) {
        const rest = records.filter((record) => !done.includes(record));
        this.deadLetter(rest, 'RetryAttemptsExhausted');
        await this.advance(last, rest);
        attempts = 0;
        limit = trigger.batchSize;
        continue;
      }
      // The function failed as a whole: the next try takes half the batch (bisect on error).
      if (failedFrom === 'all' && records.length > 1) limit = Math.ceil(records.length / 2);
      const base = this.options.retryBaseMs ?? 20;
      await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, base * 2 ** (attempts - 1))));
    }
  }

  /** Runs the function on a batch: undefined when it all succeeded, else the first failed sequence or 'all'. */
  private async invoke(batch: readonly StoredStreamRecord[]): Promise<number | 'all' | undefined> {
    const event: DynamoDBStreamEvent = { Records: batch.map((record) => this.lambdaRecord(record)) };
    this.counts.batches += 1;
    this.counts.records += batch.length;
    const faults = this.options.faults;
    try {
      if (faults?.roll('lambda', this.options.name, event)) {
        // Lambda failed this invocation: before the function ran, or after it ran (its answer lost).
        if (!faults.variant()) await this.options.handler(event);
        throw Object.assign(new Error('Lambda.ServiceException'), { name: 'ServiceException' });
      }
      const answer = await this.options.handler(event);
      const failures = answer?.batchItemFailures ?? [];
      if (failures.length === 0) return undefined;
      const sequences = new Map(batch.map((record) => [String(record.sequence), record.sequence]));
      const failed = failures.map((failure) => sequences.get(String(failure.itemIdentifier ?? '')));
      if (failed.some((sequence) => sequence === undefined)) return 'all';
      return Math.min(...(failed as number[]));
    } catch (error) {
      this.options.log?.({
        level: 'WARN',
        message: 'stream batch failed; delivered again',
        function: this.options.name,
        errorName: (error as Error).name,
      });
      return 'all';
    }
  }

  private lambdaRecord(record: StoredStreamRecord): DynamoDBRecord {
    return {
      eventID: `${this.options.table}-${record.sequence}`,
      eventName: record.eventName,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_REGION,
      dynamodb: {
        ApproximateCreationDateTime: Math.floor(record.committedAt / 1000),
        Keys: record.keys as never,
        ...(record.newImage ? { NewImage: record.newImage as never } : {}),
        SequenceNumber: String(record.sequence),
        SizeBytes: record.sizeBytes,
        StreamViewType: 'NEW_IMAGE',
      },
      eventSourceARN: this.arn,
    };
  }

  /** What Lambda sends to an on-failure destination for a DynamoDB stream: where the batch was, not its data. */
  private deadLetter(records: readonly StoredStreamRecord[], condition: string): void {
    if (records.length === 0) return;
    this.counts.deadLettered += records.length;
    const line = {
      requestContext: { condition, functionArn: this.options.name, approximateInvokeCount: 1 },
      timestamp: new Date().toISOString(),
      DDBStreamBatchInfo: {
        shardId: 'shardId-embedded',
        startSequenceNumber: String(records[0]!.sequence),
        endSequenceNumber: String(records.at(-1)!.sequence),
        approximateArrivalOfFirstRecord: new Date(records[0]!.committedAt).toISOString(),
        approximateArrivalOfLastRecord: new Date(records.at(-1)!.committedAt).toISOString(),
        batchSize: records.length,
        streamArn: this.arn,
      },
    };
    writeFileSync(this.options.deadLetterFile, `${JSON.stringify(line)}\n`, { flag: 'a', mode: 0o600 });
    this.options.log?.({
      level: 'WARN',
      message: 'stream records set aside (on-failure destination)',
      function: this.options.name,
      condition,
      records: records.length,
    });
  }
}
