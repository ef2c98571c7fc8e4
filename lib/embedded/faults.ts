import { randomUUID } from 'node:crypto';
import {
  InternalServerError,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
  TransactionConflictException,
} from '@aws-sdk/client-dynamodb';
import { KMSInternalException } from '@aws-sdk/client-kms';
import { TaskDoesNotExist, TaskTimedOut } from '@aws-sdk/client-sfn';
import { InternalErrorException, ThrottledException } from '@aws-sdk/client-sns';
import { mulberry32, type Random } from '../../scripts/sim/random.js';
import { StartupError } from './startup-error.js';

/**
 * Faults on demand (contract: "injected faults"): FAULT_RATE, FAULT_SEED, FAULT_KINDS.
 *
 * Each kind is a failure AWS documents for the service, raised where AWS would raise it:
 * in front of the SDK client's transport (a middleware inside its retry strategy), so the
 * SDK retries what it would retry, and handlers see what they would see in AWS.
 */
export const FAULT_KINDS = [
  /** A transaction cancelled by another one on the same item (TransactionCanceledException with a
   * TransactionConflict reason); a plain write to an item in a transaction (TransactionConflictException). */
  'dynamodb-conflict',
  /** ProvisionedThroughputExceededException: the SDK backs off and retries. */
  'dynamodb-throttle',
  /** InternalServerError (500), before the request was applied or after it (the answer lost). */
  'dynamodb-internal',
  /** BatchGetItem / BatchWriteItem hand back part of the request as unprocessed. */
  'dynamodb-unprocessed',
  /** SNS Publish: InternalErrorException or ThrottledException. */
  'sns',
  /** KMS Encrypt / Decrypt / GenerateMac: KMSInternalException or ThrottlingException. */
  'kms',
  /** SendTaskSuccess: TaskTimedOut (the wait timed out as the callback came) or TaskDoesNotExist (lost). */
  'sfn-callback',
  /**
   * A Lambda task of the workflow fails (Lambda.ServiceException), before or after its step ran; or a
   * stream batch's invocation does, before the function ran or after (its answer lost: the batch comes again).
   */
  'lambda',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export interface FaultSettings {
  readonly rate: number;
  readonly seed: number;
  readonly kinds: readonly FaultKind[];
}

interface Forced {
  readonly kind: FaultKind;
  readonly command?: string;
  left: number;
  readonly variant?: boolean;
  readonly where?: (input: unknown) => boolean;
}

export class FaultInjector {
  private readonly random: Random;
  private readonly counts = new Map<FaultKind, number>();
  private readonly forced: Forced[] = [];
  private forcedVariant: boolean | undefined;

  constructor(readonly settings: FaultSettings) {
    this.random = mulberry32(settings.seed);
  }

  /** FAULT_RATE (0-1), FAULT_SEED (integer), FAULT_KINDS (comma list, default all). */
  static fromEnv(env: Record<string, string | undefined>): FaultInjector | undefined {
    const rate = Number(env.FAULT_RATE ?? 0);
    if (!Number.isFinite(rate) || rate < 0 || rate > 1)
      throw new StartupError(`FAULT_RATE must be 0 to 1: ${env.FAULT_RATE}`);
    if (rate === 0) return undefined;
    const seed = Number(env.FAULT_SEED ?? 1);
    if (!Number.isInteger(seed)) throw new StartupError(`FAULT_SEED must be an integer: ${env.FAULT_SEED}`);
    const kinds = (
      env.FAULT_KINDS ? env.FAULT_KINDS.split(',').map((kind) => kind.trim()) : [...FAULT_KINDS]
    ) as FaultKind[];
    const unknown = kinds.filter((kind) => !FAULT_KINDS.includes(kind));
    if (unknown.length)
      throw new StartupError(`FAULT_KINDS: unknown ${unknown.join(', ')}; known: ${FAULT_KINDS.join(', ')}`);
    return new FaultInjector({ rate, seed, kinds });
  }

  /**
   * Tests: the next `times` chances of `kind` (on `command`, if given) fail for certain, as
   * `variant` says where a kind has two: dynamodb-internal after the write (the answer lost),
   * sns and kms throttled, sfn-callback TaskTimedOut, lambda before the step ran.
   */
  force(
    kind: FaultKind,
    options: {
      command?: string;
      times?: number;
      variant?: boolean;
      where?: (input: unknown) => boolean;
    } = {},
  ): void {
    this.forced.push({
      kind,
      command: options.command,
      left: options.times ?? 1,
      variant: options.variant,
      where: options.where,
    });
  }

  /** Tests: forget what was forced and not used yet. */
  clearForced(): void {
    this.forced.length = 0;
  }

  private matches(entry: Forced, kind: FaultKind, command?: string, input?: unknown): boolean {
    return (
      entry.kind === kind &&
      entry.left > 0 &&
      (!entry.command || entry.command === command) &&
      (!entry.where || entry.where(input))
    );
  }

  /** Whether this call fails with `kind`; counted when it does. */
  roll(kind: FaultKind, command?: string, input?: unknown): boolean {
    const forced = this.forced.find((entry) => this.matches(entry, kind, command, input));
    let fail = false;
    this.forcedVariant = undefined;
    if (forced) {
      forced.left -= 1;
      fail = true;
      this.forcedVariant = forced.variant;
    } else if (this.settings.kinds.includes(kind)) {
      fail = this.random() < this.settings.rate;
    }
    if (fail) this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return fail;
  }

  /**
   * One roll for a call that could fail in several ways: it fails at the configured rate (not once per
   * kind, which would fail a DynamoDB write about three times as often as FAULT_RATE says), with one of
   * `kinds` that is turned on, chosen evenly. A forced fault of one of them comes first, in `kinds` order.
   */
  pick(kinds: readonly FaultKind[], command?: string, input?: unknown): FaultKind | undefined {
    for (const kind of kinds) {
      if (this.forced.some((entry) => this.matches(entry, kind, command, input)))
        return this.roll(kind, command, input) ? kind : undefined;
    }
    const enabled = kinds.filter((kind) => this.settings.kinds.includes(kind));
    this.forcedVariant = undefined;
    if (enabled.length === 0 || this.random() >= this.settings.rate) return undefined;
    const kind = enabled[Math.floor(this.random() * enabled.length)];
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    return kind;
  }

  /** A fair coin from the same seeded stream. */
  coin(): boolean {
    return this.random() < 0.5;
  }

  /** Which of its two variants the fault just rolled takes: as forced, else a coin. */
  variant(): boolean {
    return this.forcedVariant ?? this.coin();
  }

  injected(): Record<string, number> {
    return Object.fromEntries(FAULT_KINDS.map((kind) => [kind, this.counts.get(kind) ?? 0]));
  }
}

type Json = Record<string, unknown>;
type Next = (args: { input: Json }) => Promise<{ output: Json; response: unknown }>;
interface Stack {
  add(middleware: unknown, options: { step: string; priority?: string; name: string }): void;
  addRelativeTo(
    middleware: unknown,
    options: { relation: 'before'; toMiddleware: string; name: string },
  ): void;
  remove(name: string): boolean;
  identify(): string[];
}
interface WithStack {
  middlewareStack: unknown;
}

/** How much shorter the SDK's waits between retries are on the embedded backend. */
export const RETRY_WAIT_DIVISOR = 25;

interface BackoffStrategy {
  computeNextBackoffDelay(attempt: number): number;
  setDelayBase(delay: number): void;
}
const shortened = new WeakSet<object>();

/**
 * The SDK waits between its retries in real time (a throttle: up to 1 s times 2^attempt, with full
 * jitter). An injected fault is a coin, not a load that a wait lets drain, so the embedded backend
 * waits 1/RETRY_WAIT_DIVISOR of each wait the SDK computes: the same attempts, the same retry quota,
 * the same errors and give-up, and a chaos run that is not mostly sleep. Deployed clients keep the
 * SDK's own waits. (The standard strategy keeps its backoff in `retryBackoffStrategy`, the field
 * the SDK's own ConfiguredRetryStrategy sets; a strategy without one is left as it is.)
 */
export function shortenRetryWaits(client: { config: unknown }): void {
  const config = client.config as { retryStrategy: () => Promise<object> };
  if (shortened.has(config)) return;
  shortened.add(config);
  const original = config.retryStrategy;
  config.retryStrategy = async () => {
    const strategy = (await original()) as { retryBackoffStrategy?: BackoffStrategy };
    const backoff = strategy.retryBackoffStrategy;
    if (backoff && !shortened.has(backoff)) {
      const compute = backoff.computeNextBackoffDelay.bind(backoff);
      backoff.computeNextBackoffDelay = (attempt) => Math.floor(compute(attempt) / RETRY_WAIT_DIVISOR);
      shortened.add(backoff);
    }
    return strategy;
  };
}

/** Takes the fault middleware off a client (a backend started again in this process without faults). */
export function removeFaults(client: WithStack): void {
  (client.middlewareStack as Stack).remove('bridgewayFaults');
  (client.middlewareStack as Stack).remove('bridgewayUnprocessed');
}

const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: randomUUID(), attempts: 1 });

function addFaultMiddleware(
  client: WithStack,
  fault: (
    command: string,
    input: Json,
    next: () => ReturnType<Next>,
    args: { input: Json },
  ) => ReturnType<Next>,
) {
  const stack = client.middlewareStack as Stack;
  stack.remove('bridgewayFaults'); // a backend started again in this process replaces the last one's
  const middleware = (next: Next, context: { commandName?: string }) => (args: { input: Json }) =>
    fault(String(context.commandName).replace(/Command$/, ''), args.input, () => next(args), args);
  // Inside the retry strategy, in front of the wire: right before a local transport where there is one.
  if (stack.identify().some((entry) => entry.startsWith('bridgewayLocalTransport '))) {
    stack.addRelativeTo(middleware, {
      relation: 'before',
      toMiddleware: 'bridgewayLocalTransport',
      name: 'bridgewayFaults',
    });
  } else {
    stack.add(middleware, { step: 'deserialize', priority: 'high', name: 'bridgewayFaults' });
  }
}

const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

/** DynamoDB's documented failures, in front of the client's HTTP transport. */
export function injectDynamoFaults(client: WithStack, faults: FaultInjector): void {
  addFaultMiddleware(client, async (command, input, next) => {
    const transaction = command === 'TransactWriteItems' || command === 'TransactGetItems';
    const kinds: FaultKind[] =
      transaction || ['PutItem', 'UpdateItem', 'DeleteItem'].includes(command)
        ? ['dynamodb-conflict', 'dynamodb-throttle', 'dynamodb-internal']
        : ['dynamodb-throttle', 'dynamodb-internal'];
    const kind = faults.pick(kinds, command, input);
    if (kind === 'dynamodb-conflict' && transaction) {
      const items = (input.TransactItems as unknown[]) ?? [];
      const victim = Math.floor(faults.coin() ? 0 : items.length - 1);
      throw new TransactionCanceledException({
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
        CancellationReasons: items.map((_, index) =>
          index === victim
            ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item' }
            : { Code: 'None' },
        ),
        $metadata: metadata(400),
      });
    }
    if (kind === 'dynamodb-conflict') {
      throw new TransactionConflictException({
        message: 'Transaction is ongoing for the item',
        $metadata: metadata(400),
      });
    }
    if (kind === 'dynamodb-throttle') {
      throw new ProvisionedThroughputExceededException({
        message: 'The level of configured provisioned throughput for the table was exceeded.',
        $metadata: metadata(400),
      });
    }
    if (kind === 'dynamodb-internal') {
      // A 500 may come after the write was applied: the answer is lost, the write is not.
      if (WRITES.has(command) && faults.variant()) await next();
      throw new InternalServerError({ message: 'Internal server error', $metadata: metadata(500) });
    }
    return next();
  });
  // Unprocessed keys are not an error but a partial answer: they are handed out where the request
  // and the answer are in the caller's own form (before the document client marshals, after it
  // unmarshals), so held-back keys come back exactly as they were asked for.
  const stack = client.middlewareStack as Stack;
  stack.remove('bridgewayUnprocessed');
  stack.add(
    (next: Next, context: { commandName?: string }) => (args: { input: Json }) => {
      const command = String(context.commandName).replace(/Command$/, '');
      if (command === 'BatchGetCommand' || command === 'BatchGet' || command === 'BatchGetItem') {
        if (faults.roll('dynamodb-unprocessed', 'BatchGetItem'))
          return withheld(args, 'Keys', 'Responses', 'UnprocessedKeys', faults, () => next(args));
      }
      if (command === 'BatchWrite' || command === 'BatchWriteItem') {
        if (faults.roll('dynamodb-unprocessed', 'BatchWriteItem'))
          return withheld(args, undefined, undefined, 'UnprocessedItems', faults, () => next(args));
      }
      return next(args);
    },
    { step: 'initialize', priority: 'low', name: 'bridgewayUnprocessed' },
  );
}

/** Sends part of a batch and hands the rest back as unprocessed, as DynamoDB does under load. */
async function withheld(
  args: { input: Json },
  keysField: 'Keys' | undefined,
  responsesField: 'Responses' | undefined,
  unprocessedField: 'UnprocessedKeys' | 'UnprocessedItems',
  faults: FaultInjector,
  next: () => ReturnType<Next>,
): ReturnType<Next> {
  const request = args.input.RequestItems as Record<string, unknown>;
  const sent: Record<string, unknown> = {};
  const held: Record<string, unknown> = {};
  let kept = 0;
  for (const [table, entry] of Object.entries(request)) {
    const list = (keysField ? (entry as Json)[keysField] : entry) as unknown[];
    const send: unknown[] = [];
    const hold: unknown[] = [];
    list.forEach((item, index) => {
      // The first item of the whole batch is always held back, so a fault always withholds something.
      if ((index === 0 && kept === 0) || faults.coin()) hold.push(item);
      else send.push(item);
      kept += 1;
    });
    if (send.length) sent[table] = keysField ? { ...(entry as Json), [keysField]: send } : send;
    if (hold.length) held[table] = keysField ? { ...(entry as Json), [keysField]: hold } : hold;
  }
  if (Object.keys(sent).length === 0) {
    return {
      output: {
        ...(responsesField ? { [responsesField]: {} } : {}),
        [unprocessedField]: held,
        $metadata: metadata(200),
      },
      response: {},
    };
  }
  args.input = { ...args.input, RequestItems: sent };
  const result = await next();
  const unprocessed = { ...((result.output[unprocessedField] as Json | undefined) ?? {}) };
  for (const [table, entry] of Object.entries(held)) {
    const before = unprocessed[table] as Json | unknown[] | undefined;
    unprocessed[table] = keysField
      ? {
          ...(entry as Json),
          [keysField]: [
            ...(((before as Json | undefined)?.[keysField] as unknown[]) ?? []),
            ...((entry as Json)[keysField] as unknown[]),
          ],
        }
      : [...((before as unknown[] | undefined) ?? []), ...(entry as unknown[])];
  }
  return { ...result, output: { ...result.output, [unprocessedField]: unprocessed } };
}

/** SNS and KMS's documented failures, in front of their local transports. */
export function injectServiceFaults(client: WithStack, kind: 'sns' | 'kms', faults: FaultInjector): void {
  addFaultMiddleware(client, async (command, input, next) => {
    if (!faults.roll(kind, command, input)) return next();
    const throttled = faults.variant();
    if (kind === 'sns') {
      throw throttled
        ? new ThrottledException({ message: 'Rate exceeded', $metadata: metadata(400) })
        : new InternalErrorException({ message: 'Internal error', $metadata: metadata(500) });
    }
    if (throttled) {
      throw Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: metadata(400),
      });
    }
    throw new KMSInternalException({ message: 'Internal error', $metadata: metadata(500) });
  });
}

/**
 * Step Functions callbacks: TaskTimedOut as if the wait timed out just as the callback came
 * (the execution goes on by its timeout path), or TaskDoesNotExist as if the callback was lost
 * (the execution goes on at its own due time). Both are what a late callback gets in AWS.
 */
export function injectCallbackFaults(
  client: WithStack,
  faults: FaultInjector,
  timeOut: (token: string) => void,
): void {
  addFaultMiddleware(client, async (command, input, next) => {
    if (command !== 'SendTaskSuccess' || !faults.roll('sfn-callback', command)) return next();
    if (faults.variant()) {
      timeOut(String(input.taskToken));
      throw new TaskTimedOut({ message: 'Task Timed Out', $metadata: metadata(400) });
    }
    throw new TaskDoesNotExist({ message: 'Task does not exist anymore', $metadata: metadata(400) });
  });
}
