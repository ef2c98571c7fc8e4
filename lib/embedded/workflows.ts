import './polyfills.js';
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExecutionAlreadyExists, ExecutionDoesNotExist, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import { StateMachine } from 'aws-local-stepfunctions';
import type { Notification } from '../../functions/adapters/notices/publisher.js';
import type { TopicName } from '../manifest.js';
import { FOLLOW_UP_STATES } from '../workflows/follow-up.js';
import type { BackendClock } from './clock.js';
import type { FaultInjector } from './faults.js';

type Json = Record<string, unknown>;
type StepHandler = (input: Json) => Promise<unknown>;

const LOCAL_ACCOUNT = '000000000000';
const LOCAL_REGION = 'us-east-1';
/** The embedded follow-up state machine's ARN, and its executions' (named as in AWS). */
export const FOLLOW_UP_ARN = `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:stateMachine:followUp`;
const executionArn = (name: string) =>
  `arn:aws:states:${LOCAL_REGION}:${LOCAL_ACCOUNT}:execution:followUp:${name}`;
const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/**
 * The follow-up state machine exactly as CDK synthesizes it: the same
 * `followUpDefinition` chain, in a stack of stand-ins (a Lambda named after the
 * step function, topics named after their logical names), with CloudFormation
 * tokens resolved to local ARNs. Synthesis costs ~3 s (loading aws-cdk-lib), so
 * the result is cached by the hash of the definition's source and CDK version.
 */
export async function synthesizeFollowUpDefinition(): Promise<Json> {
  const source = readFileSync(join(ROOT, 'lib/workflows/follow-up.ts'), 'utf8');
  const cdkVersion = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/aws-cdk-lib/package.json'), 'utf8'),
  ).version;
  const key = createHash('sha256').update(`${cdkVersion}\n${source}`).digest('hex').slice(0, 16);
  const cacheDir = join(tmpdir(), 'bridgeway-asl');
  const cacheFile = join(cacheDir, `follow-up-${key}.json`);
  if (existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, 'utf8'));

  const { App, Stack } = await import('aws-cdk-lib');
  const { Template } = await import('aws-cdk-lib/assertions');
  const lambda = await import('aws-cdk-lib/aws-lambda');
  const sns = await import('aws-cdk-lib/aws-sns');
  const sfn = await import('aws-cdk-lib/aws-stepfunctions');
  const { followUpDefinition } = await import('../workflows/follow-up.js');

  const app = new App({ outdir: join(tmpdir(), `bridgeway-cdk-${randomUUID()}`) });
  const stack = new Stack(app, 'Embedded', { env: { account: LOCAL_ACCOUNT, region: LOCAL_REGION } });
  const steps = new lambda.Function(stack, 'Steps', {
    functionName: 'followUpSteps',
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
  const outreach = new sns.Topic(stack, 'Outreach', { topicName: 'outreach' });
  const escalation = new sns.Topic(stack, 'Escalation', { topicName: 'outreach-escalation' });
  new sfn.StateMachine(stack, 'FollowUp', {
    definitionBody: sfn.DefinitionBody.fromChainable(
      followUpDefinition(stack, { steps, outreach, escalation }),
    ),
  });
  const template = Template.fromStack(stack).toJSON() as {
    Resources: Record<string, { Type: string; Properties: Json }>;
  };
  const machine = Object.values(template.Resources).find(
    (r) => r.Type === 'AWS::StepFunctions::StateMachine',
  );
  if (!machine) throw new Error('the follow-up state machine was not synthesized');
  const definition = JSON.parse(
    resolveTokens(machine.Properties.DefinitionString, template.Resources) as string,
  );
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(definition));
  return definition;
}

/** Fn::Join / Ref / Fn::GetAtt to the local ARNs of the stand-in resources. */
function resolveTokens(
  value: unknown,
  resources: Record<string, { Type: string; Properties: Json }>,
): unknown {
  if (typeof value === 'string' || value === null || typeof value !== 'object') return value;
  const token = value as Json;
  if ('Fn::Join' in token) {
    const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveTokens(part, resources)).join(separator);
  }
  if ('Ref' in token) {
    const ref = String(token.Ref);
    if (ref === 'AWS::Partition') return 'aws';
    if (ref === 'AWS::Region') return LOCAL_REGION;
    if (ref === 'AWS::AccountId') return LOCAL_ACCOUNT;
    if (ref === 'AWS::URLSuffix') return 'amazonaws.com';
    const resource = resources[ref];
    if (resource?.Type === 'AWS::SNS::Topic')
      return `arn:aws:sns:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${resource.Properties.TopicName}`;
    throw new Error(`cannot resolve Ref ${ref}`);
  }
  if ('Fn::GetAtt' in token) {
    const [id, attribute] = token['Fn::GetAtt'] as [string, string];
    const resource = resources[id];
    if (resource?.Type === 'AWS::Lambda::Function' && attribute === 'Arn') {
      return `arn:aws:lambda:${LOCAL_REGION}:${LOCAL_ACCOUNT}:function:${resource.Properties.FunctionName}`;
    }
    throw new Error(`cannot resolve Fn::GetAtt ${id}.${attribute}`);
  }
  throw new Error(`cannot resolve ${JSON.stringify(value)}`);
}

/** The longest a Node timer holds (2^31 - 1 ms; a longer one fires at once), in whole seconds: 24.8 days. */
export const INTERPRETER_TIMEOUT_SECONDS = Math.floor(2_147_483_647 / 1000);

/**
 * aws-local-stepfunctions 3 resolves `TimeoutSecondsPath` against the effective
 * input (after Parameters) where AWS resolves it against the state input, so
 * `$.plan.waitSeconds` would not be found. Park's timeout is enforced here on the
 * backend clock anyway (that is what TIME_SCALE and the manual clock need), and a
 * park lasts as long as the plan says (up to day 180, months). The interpreter
 * arms a real-time Node timer for every Task, which holds at most 24.8 days; so
 * for the interpreter Park's timeout is that ceiling, and when it is reached (a
 * long park on a slow clock) a retrier for the interpreter only takes the state
 * up again, and the runtime's park handler carries on with the same wait: the
 * timer is chained, never capped. A retry is not a state entered: no transition.
 */
export function forInterpreter(definition: Json): Json {
  const copy = structuredClone(definition) as { States: Record<string, Json> };
  const park = copy.States[FOLLOW_UP_STATES.park];
  if (park?.TimeoutSecondsPath) {
    delete park.TimeoutSecondsPath;
    park.TimeoutSeconds = INTERPRETER_TIMEOUT_SECONDS;
    park.Retry = [
      { ErrorEquals: ['States.Timeout'], MaxAttempts: 99_999_999, IntervalSeconds: 1, BackoffRate: 1 },
      ...((park.Retry as Json[] | undefined) ?? []),
    ];
  }
  return copy;
}

/**
 * The Park state's timeout on the backend clock: the normal way on (its Catch goes to Plan), and
 * never retried, unlike the interpreter's own real-time ceiling (`forInterpreter`).
 */
const parkTimedOut = () =>
  Object.assign(new Error('Parked until its next due time'), { name: 'States.Timeout', isRetryable: false });

export interface LocalWorkflowStats {
  readonly executions: number;
  readonly running: number;
  readonly parked: number;
  readonly failed: number;
  /** States entered, over all executions: what Standard workflows are billed by. */
  readonly transitions: number;
  readonly transitionsByExecution: ReadonlyMap<string, number>;
}

export interface LocalWorkflowEngine {
  /** The Step Functions API the production adapter calls (StartExecution, SendTaskSuccess, DescribeExecution). */
  serve(command: string, input: Json): Promise<Json>;
  /** Starts (again) the execution of every enrollment whose follow-up has not ended, after a restart. */
  resume(executions: readonly { name: string; enrollmentId: string }[]): Promise<void>;
  /** The wait of `token` times out now (as if its due time had come). */
  timeOut(token: string): void;
  /** Resolves once every execution is parked (its token stored) or finished. */
  idle(): Promise<void>;
  stats(): LocalWorkflowStats;
  isRunning(enrollmentId: string): boolean;
  stop(): void;
}

/**
 * Step Functions on one machine: aws-local-stepfunctions runs the synthesized
 * definition; each Lambda Task state runs the same step handler as in AWS,
 * each SNS Task state publishes through the outbox publisher. Two things are
 * the runtime's own, because the interpreter cannot do them: the Park state's
 * task token and its timeout on the backend clock (TIME_SCALE, or the manual
 * clock), and resuming executions after a restart (the interpreter keeps them
 * in memory only).
 */
export function localWorkflows(options: {
  definition: Json;
  steps: StepHandler;
  /** The SNS integration of the state machine's Notify states. */
  publish: (notification: Notification) => Promise<void>;
  clock: BackendClock;
  log?: (entry: Json) => void;
  /** Injected faults: Lambda task errors and SNS integration errors inside the workflow. */
  faults?: FaultInjector;
}): LocalWorkflowEngine {
  const machine = new StateMachine(forInterpreter(options.definition) as never);
  /** Executions by name: running ones, and how the others ended (a name is never used twice). */
  const running = new Map<string, { abort: () => void; input: string }>();
  const closed = new Map<string, 'SUCCEEDED' | 'FAILED' | 'ABORTED'>();
  /** Parked executions by token; `stored` once the Park step has kept (or refused) its token. */
  const parked = new Map<
    string,
    {
      stored: boolean;
      resolve: (value: unknown) => void;
      reject: (error: Error) => void;
      cancel: () => void;
    }
  >();
  const transitionsByExecution = new Map<string, number>();
  let executions = 0;
  let failed = 0;
  let transitions = 0;
  const log = options.log ?? ((entry: Json) => console.log(JSON.stringify(entry)));

  // Quiet = every running execution sits in Park with its token stored. Checked whenever that may
  // have become true, and confirmed once more after pending callbacks ran (a wake may be on its way).
  let idleWaiters: (() => void)[] = [];
  const storedParks = () => {
    let count = 0;
    for (const entry of parked.values()) if (entry.stored) count += 1;
    return count;
  };
  const quiet = () => running.size === storedParks();
  const maybeIdle = () => {
    if (!idleWaiters.length || !quiet()) return;
    setImmediate(() => {
      if (!quiet()) return;
      const waiters = idleWaiters;
      idleWaiters = [];
      for (const resolve of waiters) resolve();
    });
  };

  const topicOf = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1) as TopicName;
  const { faults } = options;
  /** A Lambda task as Step Functions invokes it: it may fail before its code runs, or after. */
  const invoke = async (state: string, input: Json) => {
    const fail = faults?.roll('lambda', state, input) ?? false;
    const before = fail && faults!.variant();
    if (before) throw Object.assign(new Error('Lambda service error'), { name: 'Lambda.ServiceException' });
    const output = await options.steps(input);
    if (fail) throw Object.assign(new Error('Lambda service error'), { name: 'Lambda.ServiceException' });
    return output;
  };
  const publish = async (input: Json) => {
    if (faults?.roll('sns', 'Publish')) {
      throw Object.assign(new Error('Internal error'), { name: 'SNS.InternalErrorException' });
    }
    const attributes = Object.fromEntries(
      Object.entries((input.MessageAttributes ?? {}) as Record<string, { StringValue?: string }>).map(
        ([name, value]) => [name, String(value.StringValue ?? '')],
      ),
    );
    const messageId = attributes.messageId || randomUUID();
    await options.publish({
      messageId,
      topic: topicOf(String(input.TopicArn)),
      message: String(input.Message),
      attributes,
    });
    return { MessageId: randomUUID() };
  };

  /** Waits in progress by execution token, plan and due time: the interpreter's retry after its own ceiling finds its wait here. */
  const waits = new Map<string, Promise<unknown>>();
  const park = (input: Json) => {
    const given = input.Payload as { token: string; until: string; seq?: number };
    const key = `${given.token}|${given.seq}|${given.until}`;
    const going = waits.get(key);
    if (going) return going; // the same wait, taken up again after the interpreter's 24.8-day ceiling
    // Every wait gets a token of its own, as in AWS: a callback with an old token finds nothing.
    const payload = { ...given, token: `${given.token}:${randomUUID()}` };
    const wait = new Promise<unknown>((resolvePark, rejectPark) => {
      const sleep = options.clock.sleepUntil(new Date(payload.until));
      const settle = () => {
        parked.delete(payload.token);
        waits.delete(key);
        sleep.cancel();
      };
      const entry = {
        stored: false,
        resolve: (value: unknown) => {
          settle();
          resolvePark(value);
        },
        reject: (error: Error) => {
          settle();
          rejectPark(error);
        },
        cancel: settle,
      };
      parked.set(payload.token, entry);
      sleep.promise.then(() => {
        if (!parked.has(payload.token)) return;
        settle();
        rejectPark(parkTimedOut());
      });
      // The same Lambda as in AWS stores the token (or wakes itself if something changed since the plan).
      invoke(FOLLOW_UP_STATES.park, payload as unknown as Json).then(
        () => {
          entry.stored = true;
          maybeIdle();
        },
        (error: Error) => {
          if (!parked.has(payload.token)) return;
          settle();
          rejectPark(error);
        },
      );
    });
    waits.set(key, wait);
    return wait;
  };

  const S = FOLLOW_UP_STATES;
  const overrides = {
    taskResourceLocalHandlers: {
      [S.plan]: (input: Json) => invoke(S.plan, input),
      [S.markNotified]: (input: Json) => invoke(S.markNotified, input),
      [S.notifyOutreach]: publish,
      [S.notifyEscalation]: publish,
      [S.park]: park,
    },
    // Retries wait a moment of real time, not the definition's backoff: a manual clock stands still
    // between advances, and a retry it waited for would never come.
    retryIntervalOverrides: Object.fromEntries(
      [S.plan, S.markNotified, S.notifyOutreach, S.notifyEscalation, S.park].map((state) => [
        state,
        // Park's first retrier is the interpreter's ceiling (forInterpreter): taken up again at once.
        state === S.park ? [0, 5, 10, 20, 40, 80, 160] : [5, 10, 20, 40, 80, 160],
      ]),
    ),
  };

  function run(name: string, input: Json) {
    executions += 1;
    const enrollmentId = String(input.enrollmentId);
    const token = `local:${name}:${randomUUID()}`;
    const execution = machine.run(
      input as never,
      {
        overrides,
        context: {
          Execution: {
            Id: executionArn(name),
            Name: name,
            Input: input,
            StartTime: options.clock.now().toISOString(),
          },
          Task: { Token: token },
        },
      } as never,
    );
    running.set(name, { abort: () => execution.abort(), input: JSON.stringify(input) });
    void (async () => {
      for await (const event of execution.eventLogs as AsyncIterable<{ type: string }>) {
        if (event.type === 'StateEntered') {
          transitions += 1;
          transitionsByExecution.set(enrollmentId, (transitionsByExecution.get(enrollmentId) ?? 0) + 1);
        }
      }
    })().catch(() => undefined);
    execution.result.then(
      () => {
        running.delete(name);
        closed.set(name, 'SUCCEEDED');
        maybeIdle();
      },
      (error: Error) => {
        running.delete(name);
        maybeIdle();
        if (error.name === 'ExecutionAbortedError') {
          closed.set(name, 'ABORTED');
          return;
        }
        closed.set(name, 'FAILED');
        failed += 1;
        // An operator sees it here; the next start-up runs it again (every step is idempotent).
        log({
          level: 'ERROR',
          message: 'follow-up execution failed',
          enrollmentId,
          execution: name,
          errorName: error.name,
          cause: error.message,
        });
      },
    );
  }

  return {
    async serve(command, input) {
      switch (command) {
        case 'StartExecution': {
          const name = String(input.name);
          const body = String(input.input ?? '{}');
          const current = running.get(name);
          // As Step Functions: the same name and input while it runs is the same execution; a name
          // already used by an execution that ended, or with another input, is refused.
          if ((current && current.input !== JSON.stringify(JSON.parse(body))) || closed.has(name)) {
            throw new ExecutionAlreadyExists({
              message: `Execution Already Exists: '${executionArn(name)}'`,
              $metadata: {},
            });
          }
          if (!current) run(name, JSON.parse(body) as Json);
          return { executionArn: executionArn(name), startDate: options.clock.now() };
        }
        case 'SendTaskSuccess': {
          const entry = parked.get(String(input.taskToken));
          if (!entry) throw new TaskDoesNotExist({ message: 'Task does not exist anymore', $metadata: {} });
          entry.resolve(JSON.parse(String(input.output ?? '{}')));
          return {};
        }
        case 'DescribeExecution': {
          const arn = String(input.executionArn);
          const name = arn.slice(arn.lastIndexOf(':') + 1);
          const status = running.has(name) ? 'RUNNING' : closed.get(name);
          if (!status)
            throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${arn}'`, $metadata: {} });
          return { executionArn: arn, name, status };
        }
        default:
          throw new Error(`the embedded Step Functions does not serve ${command}`);
      }
    },
    timeOut(token) {
      parked.get(token)?.reject(parkTimedOut());
    },
    async resume(list) {
      for (const { name, enrollmentId } of list) if (!running.has(name)) run(name, { enrollmentId });
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        maybeIdle();
      });
    },
    isRunning: (enrollmentId) =>
      [...running.values()].some((entry) => JSON.parse(entry.input).enrollmentId === enrollmentId),
    stats: () => ({
      executions,
      running: running.size,
      parked: parked.size,
      failed,
      transitions,
      transitionsByExecution,
    }),
    stop() {
      for (const entry of parked.values()) entry.cancel();
      for (const execution of running.values()) execution.abort();
      running.clear();
      parked.clear();
      maybeIdle();
    },
  };
}
