import { createRequire } from 'node:module';
import type { CfnElement } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TopicName, workflows } from '../../lib/manifest.js';
import type { BridgewayStack } from '../../lib/stack.js';
import { FOLLOW_UP_STATES } from '../../lib/workflows/follow-up.js';
import { type Resource, synthesize, type ValidationReport, type Violation } from './synthesize.js';

// asl-validator is CommonJS without type declarations: `module.exports = function validator(...)`.
interface AslValidation {
  isValid: boolean;
  errors: { 'Error code': string; Message: string }[];
  errorsText: (separator?: string) => string;
}
type AslValidator = (
  definition: unknown,
  options?: { readonly checkPaths: boolean; readonly checkArn: boolean },
) => AslValidation;
const aslValidator = createRequire(import.meta.url)('asl-validator') as AslValidator;

// ---------------------------------------------------------------------------
// One synthesis for the whole file: the app as bin/app.ts builds it (both cdk-nag packs),
// into a temporary cloud assembly, as in stack.test.ts.
// ---------------------------------------------------------------------------

type State = Record<string, unknown> & { Type: string };
interface Definition {
  QueryLanguage?: string;
  StartAt: string;
  States: Record<string, State>;
  [key: string]: unknown;
}

let synthesized: ReturnType<typeof synthesize>;
let stack: BridgewayStack;
let resources: Record<string, Resource>;
let report: ValidationReport;
let synthError: unknown;
let machineId: string;
let machine: Record<string, unknown>;
let definition: Definition;

beforeAll(() => {
  synthesized = synthesize('bridgeway-workflow-');
  ({ stack, resources, report, synthError } = synthesized);
  machineId = logicalId(stack.stateMachines.followUp!);
  machine = resources[machineId]!.Properties!;
  definition = JSON.parse(resolve(machine.DefinitionString) as string);
}, 180_000);

afterAll(() => synthesized?.cleanup());

// ---------------------------------------------------------------------------
// Tokens to plain ARNs: the pseudo parameters get fixed values, each resource the ARN its type has.
// ---------------------------------------------------------------------------

const partition = 'aws';
const region = 'us-east-1';
const account = '123456789012';

const logicalId = (construct: IConstruct): string =>
  stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;

function pseudo(name: string): string {
  switch (name) {
    case 'AWS::Partition':
      return partition;
    case 'AWS::Region':
      return region;
    case 'AWS::AccountId':
      return account;
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    case 'AWS::StackName':
      return stack.stackName;
    default:
      throw new Error(`unexpected pseudo parameter ${name}`);
  }
}

/** What `Ref` to a resource returns, for the types the workflow refers to. */
function refOf(id: string): string {
  const resource = resources[id];
  if (!resource) throw new Error(`Ref to unknown resource ${id}`);
  const props = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::SNS::Topic':
      return `arn:${partition}:sns:${region}:${account}:${resolve(props.TopicName ?? id)}`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:${partition}:states:${region}:${account}:stateMachine:${resolve(props.StateMachineName ?? id)}`;
    default:
      throw new Error(`no ARN for Ref to ${resource.Type} ${id}`);
  }
}

/** What `Fn::GetAtt [id, 'Arn']` returns, for the types the workflow refers to. */
function arnOf(id: string): string {
  const resource = resources[id];
  if (!resource) throw new Error(`Fn::GetAtt of unknown resource ${id}`);
  const props = resource.Properties ?? {};
  switch (resource.Type) {
    case 'AWS::Lambda::Function':
      return `arn:${partition}:lambda:${region}:${account}:function:${resolve(props.FunctionName ?? id)}`;
    case 'AWS::KMS::Key':
      return `arn:${partition}:kms:${region}:${account}:key/${id}`;
    case 'AWS::Logs::LogGroup':
      return `arn:${partition}:logs:${region}:${account}:log-group:${resolve(props.LogGroupName ?? id)}:*`;
    case 'AWS::IAM::Role':
      return `arn:${partition}:iam::${account}:role/${resolve(props.RoleName ?? id)}`;
    default:
      throw new Error(`no ARN for Fn::GetAtt of ${resource.Type} ${id}`);
  }
}

/** A CloudFormation value with Ref, Fn::GetAtt (Arn) and Fn::Join replaced by what they evaluate to. */
function resolve(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolve);
  if (!value || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record);
  if (keys.length === 1 && typeof record.Ref === 'string') {
    return record.Ref.startsWith('AWS::') ? pseudo(record.Ref) : refOf(record.Ref);
  }
  if (keys.length === 1 && Array.isArray(record['Fn::GetAtt'])) {
    const [id, attribute] = record['Fn::GetAtt'] as [string, string];
    if (attribute !== 'Arn') throw new Error(`unexpected Fn::GetAtt ${id}.${attribute}`);
    return arnOf(id);
  }
  if (keys.length === 1 && Array.isArray(record['Fn::Join'])) {
    const [separator, parts] = record['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => String(resolve(part))).join(separator);
  }
  const intrinsic = keys.find((key) => key.startsWith('Fn::'));
  if (intrinsic) throw new Error(`unexpected ${intrinsic} in ${JSON.stringify(value)}`);
  return Object.fromEntries(keys.map((key) => [key, resolve(record[key])]));
}

const stepsArn = () => arnOf(logicalId(stack.functions[workflows.followUp.stepFunction]));
const topicArn = (name: TopicName) => refOf(logicalId(stack.topics[name]));
const dataKeyArn = () => arnOf(logicalId(stack.dataKey));

// ---------------------------------------------------------------------------
// Helpers over the definition
// ---------------------------------------------------------------------------

const S = FOLLOW_UP_STATES;
const state = (name: string): State => {
  const found = definition.States[name];
  expect(found, `state ${name}`).toBeDefined();
  return found!;
};
const taskStates = () => Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
const lambdaInvoke = `arn:${partition}:states:::lambda:invoke`;

/** A Lambda Task either names the function as its Resource or goes through the lambda:invoke integration. */
const isLambdaTask = (s: State) =>
  s.Type === 'Task' &&
  typeof s.Resource === 'string' &&
  (s.Resource.startsWith(`arn:${partition}:lambda:`) || s.Resource.startsWith(lambdaInvoke));

/** The function a Lambda Task invokes and the payload it sends. */
function invocation(s: State): { functionArn: unknown; payload: Record<string, unknown> } {
  const parameters = (s.Parameters ?? {}) as Record<string, unknown>;
  if ((s.Resource as string).startsWith(lambdaInvoke)) {
    return { functionArn: parameters.FunctionName, payload: parameters.Payload as Record<string, unknown> };
  }
  return { functionArn: s.Resource, payload: parameters };
}

interface Retrier {
  ErrorEquals: string[];
  MaxAttempts?: number;
}
interface Catcher {
  ErrorEquals: string[];
  Next: string;
  ResultPath?: string | null;
}

/** Every value of the definition, with the key it sits under. */
function* entries(value: unknown, key = ''): Generator<[string, unknown]> {
  yield [key, value];
  if (Array.isArray(value)) for (const item of value) yield* entries(item, key);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* entries(v, k);
  }
}

/** Every path expression the definition evaluates against state data. */
const pathExpressions = () =>
  [...entries(definition)]
    .filter(
      ([key, value]) =>
        typeof value === 'string' && (key.endsWith('.$') || key === 'Variable' || key.endsWith('Path')),
    )
    .map(([, value]) => value as string);

// ---------------------------------------------------------------------------
// The definition
// ---------------------------------------------------------------------------

describe('the follow-up definition', () => {
  it('is JSONPath throughout: no JSONata query language, fields or expressions', () => {
    // Arrange
    const jsonataFields = ['Arguments', 'Output'];

    // Act
    const states = [...entries(definition)]
      .filter(([key]) => key === 'States')
      .flatMap(([, value]) => Object.entries(value as Record<string, State>));
    const expressions = [...entries(definition)].filter(
      ([, value]) => typeof value === 'string' && value.trim().startsWith('{%'),
    );

    // Assert
    expect(states.length).toBe(Object.keys(FOLLOW_UP_STATES).length);
    expect([undefined, 'JSONPath']).toContain(definition.QueryLanguage);
    for (const [name, s] of states) {
      expect([undefined, 'JSONPath'], `${name}.QueryLanguage`).toContain(s.QueryLanguage);
      for (const field of jsonataFields)
        expect(s, `${name} has no JSONata ${field}`).not.toHaveProperty(field);
    }
    expect(expressions, 'no {% JSONata %} expressions').toEqual([]);
    // The JSONPath way of shaping input is there instead.
    expect(state(S.plan)).toHaveProperty('Parameters');
  });

  it('is valid Amazon States Language (asl-validator, paths and ARNs checked)', () => {
    // Arrange: the validator fills in QueryLanguage on the object it is given
    const copy = structuredClone(definition);

    // Act
    const result = aslValidator(copy, { checkPaths: true, checkArn: true });

    // Assert
    if (!result.isValid) console.error(`asl-validator:\n${result.errorsText('\n')}`);
    expect(result.errors, result.errorsText('\n')).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  it('has exactly the states the embedded runtime maps, starting at Plan', () => {
    // Act
    const names = Object.keys(definition.States);

    // Assert
    expect(new Set(names)).toEqual(new Set(Object.values(FOLLOW_UP_STATES)));
    expect(definition.StartAt).toBe('Plan');
    expect(state('FollowUpDone').Type).toBe('Succeed');
    expect(names.filter((name) => state(name).Type === 'Fail')).toEqual([]);
  });

  it('plans, routes on the plan and comes back to Plan after notifying or parking', () => {
    // Arrange
    const route = state(S.route) as State & {
      Choices: (Record<string, unknown> & { Next: string })[];
      Default: string;
    };
    const notify = (notice: string) => ({
      And: [
        { Variable: '$.plan.action', StringEquals: 'notify' },
        { Variable: '$.plan.notice', StringEquals: notice },
      ],
    });

    // Act
    const targets = route.Choices.map(({ Next, ...condition }) => [condition, Next]);

    // Assert
    expect(state(S.plan).Next).toBe('Route');
    expect(route.Type).toBe('Choice');
    expect(targets).toEqual([
      [notify('outreach'), 'NotifyOutreach'],
      [notify('escalation'), 'NotifyEscalation'],
      [{ Variable: '$.plan.action', StringEquals: 'park' }, 'Park'],
    ]);
    expect(route.Default).toBe('FollowUpDone');
    expect(state('NotifyOutreach').Next).toBe('MarkNotified');
    expect(state('NotifyEscalation').Next).toBe('MarkNotified');
    expect(state('MarkNotified').Next).toBe('Plan');
    expect(state('Park').Next).toBe('Plan');
  });

  it('parks on a task token until the plan says to wake, and plans again when that time comes', () => {
    // Arrange
    const park = state('Park');
    const retriers = (park.Retry ?? []) as Retrier[];
    const catchers = (park.Catch ?? []) as Catcher[];

    // Act
    const { functionArn, payload } = invocation(park);
    const timeoutCatcher = catchers.findIndex((c) => c.ErrorEquals.includes('States.Timeout'));
    const catchAll = catchers.findIndex((c) => c.ErrorEquals.includes('States.ALL'));

    // Assert
    expect(park.Type).toBe('Task');
    expect(park.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(functionArn).toBe(stepsArn());
    expect(payload['token.$']).toBe('$$.Task.Token');
    expect(park.TimeoutSecondsPath).toBe('$.plan.waitSeconds');
    expect(park).not.toHaveProperty('TimeoutSeconds');
    // A timeout is the normal way on: caught (before any catch-all) and sent back to Plan, not retried.
    expect(timeoutCatcher).toBeGreaterThanOrEqual(0);
    expect(catchers[timeoutCatcher]!.Next).toBe('Plan');
    expect(catchers[timeoutCatcher]!.ResultPath).toBeNull();
    expect(catchAll === -1 || catchAll > timeoutCatcher).toBe(true);
    for (const retrier of retriers) {
      expect(retrier.ErrorEquals).not.toContain('States.Timeout');
      expect(retrier.ErrorEquals).not.toContain('States.ALL');
    }
    // Whatever a wake sends is discarded: the next Plan sees the same input shape.
    expect(park.ResultPath).toBeNull();
  });

  it.each([
    ['NotifyOutreach', 'outreach', 'arn:aws:sns:us-east-1:123456789012:Bridgeway-prod-outreach'],
    [
      'NotifyEscalation',
      'outreach-escalation',
      'arn:aws:sns:us-east-1:123456789012:Bridgeway-prod-outreach-escalation',
    ],
  ] as const)('%s publishes to the %s topic through the SNS integration', (name, topic, arn) => {
    // Arrange
    const s = state(name);

    // Act
    const parameters = s.Parameters as Record<string, unknown>;

    // Assert
    expect(s.Type).toBe('Task');
    expect(s.Resource).toBe('arn:aws:states:::sns:publish');
    expect(parameters.TopicArn).toBe(topicArn(topic));
    expect(parameters.TopicArn).toBe(arn);
    // The message is the one the plan composed (ids only, functions/follow-up/handler.ts).
    expect(parameters['Message.$']).toMatch(/^\$\.plan\./);
  });

  it('retries every Task, and lets one that keeps failing fail the execution in that state, so a redrive resumes there', () => {
    // Arrange
    const lambdaTasks = ['MarkNotified', 'Park', 'Plan'];

    // Act
    const tasks = taskStates();

    // Assert
    expect(
      tasks
        .filter(([, s]) => isLambdaTask(s))
        .map(([name]) => name)
        .sort(),
    ).toEqual(lambdaTasks);
    for (const [name, s] of tasks) {
      const retriers = (s.Retry ?? []) as Retrier[];
      const catchers = (s.Catch ?? []) as Catcher[];
      expect(retriers.length, `${name} retries`).toBeGreaterThan(0);
      for (const retrier of retriers)
        expect(retrier.MaxAttempts ?? 3, `${name} retries`).toBeGreaterThanOrEqual(5);
      // A catch-all into a Fail state would make a redrive re-run the Fail state, not the step.
      for (const catcher of catchers) {
        expect(catcher.ErrorEquals, `${name} catches no failure but its timeout`).toEqual(['States.Timeout']);
        expect(state(catcher.Next).Type, `${name} catches into a real step`).not.toBe('Fail');
      }
      if (isLambdaTask(s))
        expect(invocation(s).functionArn, `${name} invokes followUpSteps`).toBe(stepsArn());
    }
  });

  it('retries a failing Park but takes its timeout, the normal way on, straight back to Plan', () => {
    // Act
    const park = state(S.park);

    // Assert
    const retried = (park.Retry as Retrier[]).flatMap((retrier) => retrier.ErrorEquals);
    expect(retried).toContain('States.TaskFailed');
    expect(retried).not.toContain('States.ALL');
    expect(retried).not.toContain('States.Timeout');
    expect(park.Catch).toEqual([{ ErrorEquals: ['States.Timeout'], ResultPath: null, Next: 'Plan' }]);
  });

  it.each([
    ['Plan', 'plan', ['enrollmentId']],
    ['MarkNotified', 'markNotified', ['enrollmentId', 'taskId', 'notice']],
    ['Park', 'park', ['enrollmentId', 'token', 'seq', 'until']],
  ] as const)('%s sends the step function its step name and ids only', (name, step, ids) => {
    // Arrange
    const source = (id: string) =>
      id === 'enrollmentId' ? '$.enrollmentId' : id === 'token' ? '$$.Task.Token' : `$.plan.${id}`;

    // Act
    const { payload } = invocation(state(name));

    // Assert: the execution's input (the enrollment id and the correlation id of the request that started
    // it, ids only) rides along so the step logs under that correlation id
    expect(payload).toEqual({
      step,
      ...Object.fromEntries(ids.map((id) => [`${id}.$`, source(id)])),
      'execution.$': '$$.Execution.Input',
    });
  });

  it('never refers to a phone number or any other contact detail', () => {
    // Act
    const paths = pathExpressions();
    const text = JSON.stringify(definition);

    // Assert
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) expect(path).not.toMatch(/phone|contact|sms|e-?mail|address|name/i);
    expect(text).not.toMatch(/phone|contact/i);
  });
});

// ---------------------------------------------------------------------------
// The state machine resource and its role
// ---------------------------------------------------------------------------

describe('the follow-up state machine', () => {
  it('is a Standard state machine at the fixed ARN the functions are told', () => {
    // Arrange
    const enrollments = resources[logicalId(stack.functions.enrollments)]!.Properties!;

    // Act
    const arn = refOf(machineId);
    const told = resolve(
      (enrollments.Environment as { Variables: Record<string, unknown> }).Variables[
        workflows.followUp.envVar
      ],
    );

    // Assert
    expect(machine.StateMachineType).toBe('STANDARD');
    expect(arn).toBe('arn:aws:states:us-east-1:123456789012:stateMachine:Bridgeway-prod-followUp');
    expect(told).toBe(arn);
  });

  it('logs every event, without execution data, to a log group encrypted with the data key', () => {
    // Arrange
    const logging = machine.LoggingConfiguration as {
      Level: string;
      IncludeExecutionData: boolean;
      Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[];
    };

    // Act
    const [destination] = logging.Destinations;
    const logGroup = resources[destination!.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0]]!;

    // Assert
    expect(logging.Level).toBe('ALL');
    expect(logging.IncludeExecutionData).toBe(false);
    expect(logging.Destinations).toHaveLength(1);
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(resolve(logGroup.Properties!.KmsKeyId)).toBe(dataKeyArn());
    expect(logGroup.Properties!.RetentionInDays).toBeGreaterThan(0);
  });

  it('is traced with X-Ray and encrypts its execution data with the data key', () => {
    // Arrange
    const encryption = machine.EncryptionConfiguration as Record<string, unknown>;

    // Act / Assert
    expect(machine.TracingConfiguration).toEqual({ Enabled: true });
    expect(encryption.Type).toBe('CUSTOMER_MANAGED_KMS_KEY');
    expect(resolve(encryption.KmsKeyId)).toBe(dataKeyArn());
  });
});

describe('the follow-up role', () => {
  interface RoleGrant {
    action: string;
    resource: string;
  }

  function role(): { id: string; props: Record<string, unknown>; grants: RoleGrant[] } {
    const [id] = (machine.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    const props = resources[id]!.Properties!;
    const grants: RoleGrant[] = [];
    for (const policy of Object.values(resources)) {
      if (policy.Type !== 'AWS::IAM::ManagedPolicy' && policy.Type !== 'AWS::IAM::Policy') continue;
      const roles = (policy.Properties!.Roles ?? []) as { Ref?: string }[];
      if (!roles.some((r) => r.Ref === id)) continue;
      const document = policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] };
      for (const statement of document.Statement) {
        expect(statement.Effect).toBe('Allow');
        for (const action of [statement.Action].flat() as string[]) {
          for (const resource of [statement.Resource].flat()) {
            grants.push({ action, resource: resolve(resource) as string });
          }
        }
      }
    }
    return { id, props, grants };
  }

  it('is assumed by Step Functions alone and has only the customer-managed policy', () => {
    // Act
    const { props } = role();

    // Assert
    expect(props.AssumeRolePolicyDocument).toEqual({
      Statement: [
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' } },
      ],
      Version: '2012-10-17',
    });
    expect(props.ManagedPolicyArns).toBeUndefined();
    expect(props.Policies).toBeUndefined();
  });

  it('may invoke only the followUpSteps function and publish only to the outreach and escalation topics', () => {
    // Arrange
    const steps = stepsArn();
    const outreachTopics = new Set([topicArn('outreach'), topicArn('outreach-escalation')]);

    // Act
    const { grants } = role();
    const of = (service: string) => grants.filter((g) => g.action.startsWith(`${service}:`));

    // Assert
    expect(new Set(grants.map((g) => g.action.split(':')[0]))).toEqual(
      new Set(['lambda', 'sns', 'kms', 'logs', 'xray']),
    );
    expect(new Set(of('lambda').map((g) => g.action))).toEqual(new Set(['lambda:InvokeFunction']));
    // The function itself and its versions and aliases (name:qualifier), nothing else.
    expect(of('lambda').map((g) => g.resource)).toContain(steps);
    for (const g of of('lambda')) expect([steps, `${steps}:*`]).toContain(g.resource);
    expect(new Set(of('sns').map((g) => g.action))).toEqual(new Set(['sns:Publish']));
    expect(new Set(of('sns').map((g) => g.resource))).toEqual(outreachTopics);
    expect(new Set(of('kms').map((g) => g.resource))).toEqual(new Set([dataKeyArn()]));
    for (const g of of('kms'))
      expect(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKey*']).toContain(g.action);
    // Log delivery and X-Ray have no resource-level permissions; nothing else uses "*".
    for (const g of grants.filter((grant) => grant.resource === '*'))
      expect(g.action).toMatch(/^(logs|xray):/);
    for (const g of of('logs')) expect(g.resource).toBe('*');
  });
});

// ---------------------------------------------------------------------------
// cdk-nag
// ---------------------------------------------------------------------------

describe('cdk-nag on the workflow', () => {
  it('finds nothing unacknowledged, and nothing to acknowledge on the state machine itself', () => {
    // Arrange
    const packs = ['AwsSolutions', 'HIPAA.Security'];
    const workflowPaths = /^Bridgeway\/FollowUpWorkflow(Role|Logs)?\//;

    // Act
    const plugins = report.pluginReports.filter((plugin) => packs.includes(plugin.pluginName));
    const found = (pick: (plugin: ValidationReport['pluginReports'][number]) => Violation[] | undefined) =>
      plugins.flatMap((plugin) =>
        (pick(plugin) ?? []).flatMap((violation) =>
          violation.violatingConstructs
            .filter((construct) => workflowPaths.test(construct.constructPath))
            .map((construct) => `${violation.ruleName} at ${construct.constructPath}`),
        ),
      );
    const unacknowledged = found((plugin) => plugin.violations);
    const acknowledged = found((plugin) => plugin.suppressedViolations);

    // Assert
    expect(plugins.map((plugin) => plugin.pluginName).sort()).toEqual(packs);
    expect(unacknowledged).toEqual([]);
    expect(synthError).toBeUndefined();
    // Logging at ALL and X-Ray satisfy the Step Functions rules; only the role's wildcards are acknowledged.
    for (const finding of acknowledged) {
      expect(finding).toMatch(/^AwsSolutions-IAM5\[.*\] at Bridgeway\/FollowUpWorkflowRole\//);
    }
  });
});
