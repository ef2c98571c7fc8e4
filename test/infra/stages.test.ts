import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CURRENTLY_RECOMMENDED_FLAGS } from 'aws-cdk-lib/cx-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topics } from '../../lib/manifest.js';
import { loadStage, stageConfig, stageTags, untaggedResources } from '../../lib/stages.js';
import { type Resource, synthesize } from './synthesize.js';

/**
 * Stages as `cdk synth -c stage=<name>` builds them: a destroyable dev stage (config/stages.json as
 * committed) and a prod stage from a stages file of its own, with subscriptions of every protocol.
 * Bundling is skipped (`aws:cdk:bundling-stacks`): nothing here depends on the functions' code.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(join(tmpdir(), 'bridgeway-stages-'));
const stagesFile = join(scratch, 'stages.json');
writeFileSync(
  stagesFile,
  JSON.stringify({
    stages: {
      prod: {
        retainData: true,
        tags: { CostCenter: 'harm-reduction' },
        subscriptions: {
          ops: [
            { protocol: 'email', endpoint: 'oncall@example.org' },
            { protocol: 'sms', endpoint: '+15555550100' },
          ],
          restock: [{ protocol: 'email', endpoint: 'restock@example.org' }],
          outreach: [
            {
              protocol: 'https',
              endpoint: 'https://chat.example.org/hooks/outreach',
              rawMessageDelivery: true,
            },
          ],
        },
        alarms: { noKioskEventsMinutes: 180, outboxAgeMinutes: 20, api5xxPercent: 2 },
      },
    },
  }),
);

const noBundling = { 'aws:cdk:bundling-stacks': [] };
let dev: ReturnType<typeof synthesize>;
let prod: ReturnType<typeof synthesize>;

beforeAll(() => {
  dev = synthesize('bridgeway-dev-', 'dev', noBundling);
  prod = synthesize('bridgeway-prod-', 'prod', { ...noBundling, stagesFile });
}, 180_000);

afterAll(() => {
  dev?.cleanup();
  prod?.cleanup();
  rmSync(scratch, { recursive: true, force: true });
});

const ofType = (resources: Record<string, Resource>, type: string) =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** Stateful resources whose fate on `cdk destroy` is the stage's to decide. */
const STATEFUL = ['AWS::DynamoDB::Table', 'AWS::KMS::Key', 'AWS::Logs::LogGroup', 'AWS::Cognito::UserPool'];

/** Properties that name a resource within the account and region (two of one name cannot coexist). */
const NAME_PROPERTIES = new Set([
  'TopicName',
  'TableName',
  'LogGroupName',
  'BackupVaultName',
  'BackupPlanName',
  'StateMachineName',
  'FunctionName',
  'RoleName',
  'QueueName',
  'DashboardName',
  'UserPoolName',
  'AlarmName',
  'LayerName',
]);

/** Every physical name a resource gives itself (a literal, or a join of literals and pseudo parameters). */
function physicalNames(resources: Record<string, Resource>): string[] {
  const names: string[] = [];
  const visit = (value: unknown) => {
    if (!value || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (
        NAME_PROPERTIES.has(key) &&
        (typeof inner === 'string' || Object.hasOwn((inner as object) ?? {}, 'Fn::Join'))
      )
        names.push(JSON.stringify(inner));
      else visit(inner);
    }
  };
  for (const resource of Object.values(resources)) {
    if (resource.Type === 'AWS::Lambda::Permission' || resource.Type === 'AWS::Lambda::EventInvokeConfig')
      continue;
    visit(resource.Properties ?? {});
  }
  return names;
}

describe('a stage per stack', () => {
  it('names the stack after the stage', () => {
    expect(dev.stack.stackName).toBe('Bridgeway-dev');
    expect(prod.stack.stackName).toBe('Bridgeway-prod');
  });

  it('gives dev and prod no physical name in common, so both fit in one account', () => {
    // Act
    const devNames = new Set(physicalNames(dev.resources));
    const shared = physicalNames(prod.resources).filter((name) => devNames.has(name));

    // Assert
    expect(devNames.size).toBeGreaterThan(5);
    expect(shared).toEqual([]);
  });

  it('lets a dev stage be destroyed whole: stateful resources are deleted, nothing is protected', () => {
    // Act
    const stateful = Object.values(dev.resources).filter((resource) => STATEFUL.includes(resource.Type));

    // Assert
    expect(stateful.length).toBeGreaterThan(10);
    for (const resource of stateful) expect(resource.DeletionPolicy, resource.Type).toBe('Delete');
    for (const [, table] of ofType(dev.resources, 'AWS::DynamoDB::Table'))
      expect(table.Properties!.DeletionProtectionEnabled).toBe(false);
    expect(dev.stack.terminationProtection).toBe(false);
  });

  it('keeps prod’s data when the stack is destroyed, and protects it from deletion', () => {
    // Act
    const stateful = Object.values(prod.resources).filter((resource) => STATEFUL.includes(resource.Type));

    // Assert
    for (const resource of stateful) expect(resource.DeletionPolicy, resource.Type).toBe('Retain');
    for (const [, table] of ofType(prod.resources, 'AWS::DynamoDB::Table'))
      expect(table.Properties!.DeletionProtectionEnabled).toBe(true);
    const [[, pool]] = ofType(prod.resources, 'AWS::Cognito::UserPool') as [[string, Resource]];
    expect(pool.Properties!.DeletionProtection).toBe('ACTIVE');
    expect(prod.stack.terminationProtection).toBe(true);
  });

  it.each([
    ['dev', () => dev],
    ['prod', () => prod],
  ])(
    'gives no retained resource of %s a fixed name that would block a redeploy after a destroy',
    (_, built) => {
      // Arrange: a retained resource outlives the stack; a name of its own must be new with each creation
      const { resources } = built();
      const retained = Object.entries(resources).filter(
        ([, resource]) => resource.DeletionPolicy === 'Retain',
      );

      // Act
      const fixed = retained.flatMap(([id, resource]) =>
        Object.entries(resource.Properties ?? {})
          .filter(([key]) => /^(LogGroupName|BackupVaultName|TableName|UserPoolName|AliasName)$/.test(key))
          .filter(([, value]) => !JSON.stringify(value).includes('"AWS::StackId"'))
          .map(([key]) => `${id}.${key}`),
      );

      // Assert
      expect(retained.length).toBeGreaterThan(0);
      expect(fixed).toEqual([]);
    },
  );

  it('names the state machine log group under /aws/vendedlogs/states/ with the creation suffix', () => {
    // Act
    const groups = ofType(prod.resources, 'AWS::Logs::LogGroup')
      .map(([, group]) => JSON.stringify(group.Properties!.LogGroupName ?? null))
      .filter((name) => name.includes('vendedlogs'));

    // Assert
    expect(groups).toHaveLength(1);
    expect(groups[0]).toContain('/aws/vendedlogs/states/Bridgeway-prod-followUp-');
    expect(groups[0]).toContain('AWS::StackId');
  });

  it.each([
    ['dev', () => dev, { Project: 'Bridgeway', Stage: 'dev' }],
    ['prod', () => prod, { Project: 'Bridgeway', Stage: 'prod', CostCenter: 'harm-reduction' }],
  ])('tags every taggable resource of %s with its stage and the configured tags', (_, built, expected) => {
    // Act
    const { stack, resources } = built();

    // Assert
    expect(untaggedResources(stack, expected)).toEqual([]);
    const [[, table]] = ofType(resources, 'AWS::DynamoDB::Table') as [[string, Resource]];
    expect(table.Properties!.Tags).toEqual(
      expect.arrayContaining(Object.entries(expected).map(([Key, Value]) => ({ Key, Value }))),
    );
    expect(stack.tags.tagValues()).toMatchObject(expected);
  });

  it.each([
    ['dev', () => dev],
    ['prod', () => prod],
  ])('leaves no cdk-nag finding of %s unacknowledged', (_, built) => {
    // Act
    const { report } = built();

    // Assert
    for (const plugin of report.pluginReports) expect(plugin.violations, plugin.pluginName).toEqual([]);
    expect(report.pluginReports.map((plugin) => plugin.pluginName).sort()).toEqual([
      'AwsSolutions',
      'HIPAA.Security',
    ]);
  });
});

describe('subscriptions', () => {
  it('subscribes each configured endpoint to its topic with its protocol', () => {
    // Arrange
    const topicName = (arn: unknown) => {
      const [id] =
        JSON.stringify(arn)
          .match(/"Ref":"([^"]+)"/)
          ?.slice(1) ?? [];
      return (prod.resources[id!]!.Properties!.TopicName as string).replace('Bridgeway-prod-', '');
    };

    // Act
    const subscriptions = ofType(prod.resources, 'AWS::SNS::Subscription').map(([, resource]) => ({
      topic: topicName(resource.Properties!.TopicArn),
      protocol: resource.Properties!.Protocol,
      endpoint: resource.Properties!.Endpoint,
      raw: resource.Properties!.RawMessageDelivery,
    }));

    // Assert
    expect(subscriptions).toEqual(
      expect.arrayContaining([
        { topic: 'ops', protocol: 'email', endpoint: 'oncall@example.org', raw: undefined },
        { topic: 'ops', protocol: 'sms', endpoint: '+15555550100', raw: undefined },
        { topic: 'restock', protocol: 'email', endpoint: 'restock@example.org', raw: undefined },
        {
          topic: 'outreach',
          protocol: 'https',
          endpoint: 'https://chat.example.org/hooks/outreach',
          raw: true,
        },
      ]),
    );
    expect(subscriptions).toHaveLength(4);
  });

  it('creates none for a stage that configures none', () => {
    expect(ofType(dev.resources, 'AWS::SNS::Subscription')).toEqual([]);
  });

  it('refuses settings that would not work, naming the field', () => {
    expect(() =>
      stageConfig('prod', {
        subscriptions: { outreach: [{ protocol: 'https', endpoint: 'http://insecure.example.org' }] },
      }),
    ).toThrow(/subscriptions\.outreach\.0\.endpoint/);
    expect(() =>
      stageConfig('prod', { subscriptions: { ops: [{ protocol: 'sms', endpoint: '555-0100' }] } }),
    ).toThrow(/E\.164/);
    expect(() => stageConfig('prod', { subscriptions: { pager: [] } })).toThrow(/subscriptions/);
    expect(() => stageConfig('Prod_1')).toThrow(/stage name/);
    expect(() => loadStage('prod', join(scratch, 'missing.json'))).toThrow(/does not exist/);
  });

  it('accepts every topic of the manifest and ops', () => {
    const all = Object.fromEntries(
      [...Object.keys(topics), 'ops'].map((name) => [
        name,
        [{ protocol: 'email', endpoint: 'a@example.org' }],
      ]),
    );
    expect(Object.keys(stageConfig('qa', { subscriptions: all }).subscriptions).sort()).toEqual(
      [...Object.keys(topics), 'ops'].sort(),
    );
  });

  it('ships an example stages file that is valid for every stage it lists, and a committed one', () => {
    for (const file of ['config/stages.example.json', 'config/stages.json']) {
      const { stages } = JSON.parse(readFileSync(join(ROOT, file), 'utf8')) as {
        stages: Record<string, unknown>;
      };
      for (const name of Object.keys(stages))
        expect(() => loadStage(name, join(ROOT, file)), `${file} ${name}`).not.toThrow();
    }
  });
});

describe('cdk.json', () => {
  it('sets every feature flag aws-cdk-lib currently recommends, to the recommended value', () => {
    // Arrange
    const { context } = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    };

    // Act
    const differing = Object.entries(CURRENTLY_RECOMMENDED_FLAGS).filter(
      ([flag, value]) => JSON.stringify(context[flag]) !== JSON.stringify(value),
    );

    // Assert
    expect(Object.keys(CURRENTLY_RECOMMENDED_FLAGS).length).toBeGreaterThan(50);
    expect(differing).toEqual([]);
  });

  it('keeps the CLI offline: no notices, no version reporting, no telemetry', () => {
    const config = JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8'));
    expect(config).toMatchObject({
      notices: false,
      versionReporting: false,
      context: { 'cli-telemetry': false },
    });
  });
});

describe('stage tags helper', () => {
  it('puts the project and stage first and lets configured tags add to them', () => {
    expect(stageTags(stageConfig('qa', { tags: { Owner: 'it' } }))).toEqual({
      Project: 'Bridgeway',
      Stage: 'qa',
      Owner: 'it',
    });
  });
});

// ---------------------------------------------------------------------------
// Operations: alarms to the ops topic, the dashboard
// ---------------------------------------------------------------------------

interface AlarmProps {
  AlarmDescription: string;
  AlarmActions: unknown[];
  OKActions: unknown[];
  Threshold: number;
  ComparisonOperator: string;
  TreatMissingData?: string;
  MetricName?: string;
  Namespace?: string;
  Dimensions?: { Name: string; Value: unknown }[];
  Period?: number;
  Metrics?: {
    Id: string;
    Expression?: string;
    MetricStat?: { Metric: Record<string, unknown>; Period: number };
  }[];
}

const alarmsOf = (built: ReturnType<typeof synthesize>) =>
  Object.fromEntries(
    ofType(built.resources, 'AWS::CloudWatch::Alarm').map(([id, resource]) => [
      id.replace(/^Operations/, '').replace(/[0-9A-F]{8}$/, ''),
      resource.Properties as unknown as AlarmProps,
    ]),
  );

const refsIn = (value: unknown) => [...JSON.stringify(value).matchAll(/"Ref":"([^"]+)"/g)].map((m) => m[1]);

describe('operations', () => {
  it('creates the alarms an on-call person needs, each for every function and state machine', () => {
    // Act
    const ids = Object.keys(alarmsOf(prod)).sort();

    // Assert
    const functionNames = Object.keys(prod.stack.functions).map(
      (name) => name[0]!.toUpperCase() + name.slice(1),
    );
    expect(ids).toEqual(
      [
        'Api5xxRate',
        ...functionNames.flatMap((name) => [`${name}Errors`, `${name}Throttles`]),
        'ScheduledDeadLetterQueueDepth',
        // The outbox stream's on-failure destination (the relay gave up on a batch).
        'OutboxRelayStreamDeadLetterQueueDepth',
        'FollowUpWorkflowExecutionsFailed',
        'FollowUpWorkflowExecutionsTimedOut',
        'OutboxOldestUnpublished',
        'FollowUpsRestarted',
        'NoKioskEvents',
      ].sort(),
    );
  });

  it('sends every alarm, and its return to OK, to the ops topic only', () => {
    // Arrange
    const opsTopic = prod.stack.resolve(
      (prod.stack.operations.topic.node.defaultChild as never as { ref: string }).ref,
    ).Ref as string;

    // Act / Assert
    for (const [id, alarm] of Object.entries(alarmsOf(prod))) {
      expect(refsIn(alarm.AlarmActions), id).toEqual([opsTopic]);
      expect(refsIn(alarm.OKActions), id).toEqual([opsTopic]);
    }
  });

  it('points every alarm at its section of the runbook, and the runbook has that section', () => {
    // Arrange
    const runbook = readFileSync(join(ROOT, 'docs/operations.md'), 'utf8');

    // Act / Assert
    for (const [id, alarm] of Object.entries(alarmsOf(prod))) {
      const section = alarm.AlarmDescription.match(/docs\/operations\.md, section (\w+)/)?.[1];
      const generic = section?.replace(/^[A-Z]\w*?(Errors|Throttles)$/, '<Function>$1');
      expect(section, id).toBeDefined();
      expect(runbook, `docs/operations.md has a section for ${id}`).toMatch(
        new RegExp(`^#+ .*\`(${section}|${generic?.replace(/[<>]/g, '\\$&')})\``, 'm'),
      );
    }
  });

  it('uses the stage’s thresholds', () => {
    // Act
    const alarms = alarmsOf(prod);

    // Assert
    expect(alarms.Api5xxRate!.Threshold).toBe(2);
    expect(alarms.OutboxOldestUnpublished!.Threshold).toBe(20 * 60);
    const noEvents = alarms.NoKioskEvents!;
    expect(noEvents.Threshold).toBe(1);
    expect(noEvents.ComparisonOperator).toBe('LessThanThreshold');
    expect(noEvents.TreatMissingData).toBe('breaching');
    expect(noEvents.Metrics!.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Period)).toEqual([
      180 * 60,
      180 * 60,
    ]);
  });

  it('turns the no-kiosk-events alarm off for a stage without kiosks (dev)', () => {
    expect(Object.keys(alarmsOf(dev))).not.toContain('NoKioskEvents');
    expect(Object.keys(alarmsOf(dev))).toContain('OutboxOldestUnpublished');
  });

  it('reads the outbox age the relay emits: same namespace, metric name and service dimension as the functions', () => {
    // Arrange: what the relay function is told its service name is
    const relayEnv = prod.resources[
      prod.stack.resolve(
        (prod.stack.functions.outboxRelay.node.defaultChild as never as { logicalId: string }).logicalId,
      )
    ]!.Properties!.Environment as { Variables: Record<string, string> };

    // Act
    const alarm = alarmsOf(prod).OutboxOldestUnpublished!;

    // Assert
    expect(alarm).toMatchObject({
      Namespace: relayEnv.Variables.POWERTOOLS_METRICS_NAMESPACE,
      MetricName: 'OutboxOldestAgeSeconds',
      Dimensions: [{ Name: 'service', Value: relayEnv.Variables.POWERTOOLS_SERVICE_NAME }],
      TreatMissingData: 'breaching',
    });
  });

  it('alarms on the API 5xx rate as a percentage of requests', () => {
    const alarm = alarmsOf(prod).Api5xxRate!;
    const expression = alarm.Metrics!.find((metric) => metric.Expression)!.Expression!;
    expect(expression).toMatch(/100 \* FILL\(errors, 0\) \/ requests/);
    const names = alarm.Metrics!.filter((m) => m.MetricStat).map((m) => m.MetricStat!.Metric.MetricName);
    expect(names.sort()).toEqual(['5XXError', 'Count']);
  });

  it('encrypts the ops topic with a key of its own that CloudWatch alarms of this account may use', () => {
    // Arrange
    const topic = Object.values(prod.resources).find(
      (resource) =>
        resource.Type === 'AWS::SNS::Topic' && resource.Properties!.TopicName === 'Bridgeway-prod-ops',
    )!;
    const [keyId] = JSON.stringify(topic.Properties!.KmsMasterKeyId)
      .match(/"(OperationsTopicKey\w+)"/)!
      .slice(1);

    // Act
    const statements = (
      prod.resources[keyId!]!.Properties!.KeyPolicy as { Statement: Record<string, unknown>[] }
    ).Statement;

    // Assert
    const cloudwatch = statements.find((statement) =>
      JSON.stringify(statement.Principal).includes('cloudwatch.amazonaws.com'),
    )!;
    expect(cloudwatch.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(cloudwatch.Condition).toEqual({
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    });
  });

  it('builds one dashboard per stage with the API, the functions, the business metrics and the outbox', () => {
    // Act
    const dashboards = ofType(prod.resources, 'AWS::CloudWatch::Dashboard');
    const body = JSON.stringify(dashboards[0]![1].Properties!.DashboardBody);

    // Assert
    expect(dashboards).toHaveLength(1);
    expect(dashboards[0]![1].Properties!.DashboardName).toBe('Bridgeway-prod-operations');
    for (const metric of [
      '5XXError',
      'KioskEventsRecorded',
      'KioskEventDuplicates',
      'NotificationsPublished',
      'TasksOpened',
      'TasksEscalated',
      'OutboxOldestAgeSeconds',
      'ExecutionsFailed',
      'Throttles',
      'Errors',
    ]) {
      expect(body, metric).toContain(metric);
    }
  });
});
