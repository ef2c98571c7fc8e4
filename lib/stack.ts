import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArnFormat, CfnOutput, Duration, Fn, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import * as xray from 'aws-cdk-lib/aws-xray';
import type { Construct } from 'constructs';
import { lambdaBundling } from './bundling/options.js';
import { ManagedPolicyRole } from './managed-policy-role.js';
import {
  type FunctionDeclaration,
  type FunctionName,
  functions as functionDeclarations,
  idKey as idKeyDeclaration,
  lambdaSizing,
  metrics as metricsDeclaration,
  type RouteDeclaration,
  routes,
  type StreamTrigger,
  sealingKey as sealingKeyDeclaration,
  staffDirectory as staffDirectoryDeclaration,
  type TableDeclaration,
  type TableName,
  type TopicName,
  tables as tableDeclarations,
  topics as topicDeclarations,
  type WorkflowName,
  type WorkflowUse,
  webApp as webAppDeclaration,
  workflows as workflowDeclarations,
} from './manifest.js';
import { acknowledgeFindings } from './nag.js';
import { Operations } from './ops.js';
import { removalPolicy, type StageConfig, stageConfig, subscribeEndpoints, tagStage } from './stages.js';
import { tracerLayer } from './tracer-layer.js';
import { addRequestFirewall } from './waf.js';
import { StaffWebApp } from './web.js';
import { followUpDefinition } from './workflows/follow-up.js';

/** Repository root: handler entries in the manifest are relative to it. */
const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Logs of functions and of the API: long enough for incident review, not forever. */
const logRetention = logs.RetentionDays.ONE_YEAR;

/** Same banner for every bundle: lets bundled CommonJS dependencies `require` inside an ES module. */

export interface BridgewayStackProps extends StackProps {
  /** Default: the dev stage with default settings. */
  readonly stage?: StageConfig;
  /** The staff web app's files, built already (tests); by default Vite builds web/ at synth time. */
  readonly webAssets?: string;
}

/** What the stack built, by manifest name, for later additions (workflows, alarms). */
export interface BridgewayResources {
  readonly dataKey: kms.IKey;
  readonly sealingKey: kms.IKey;
  readonly tables: Readonly<Record<TableName, dynamodb.Table>>;
  readonly topics: Readonly<Record<TopicName, sns.Topic>>;
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  readonly api: apigateway.RestApi;
  readonly userPool: cognito.UserPool;
}

const pascal = (name: string): string =>
  name
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');

/**
 * Bridgeway in AWS, built from `lib/manifest.ts` alone: each table, topic,
 * function and route there becomes one resource here, with the access the
 * manifest grants and nothing more.
 */
export class BridgewayStack extends Stack implements BridgewayResources {
  /** Encrypts every table, topic, queue and log group at rest. */
  readonly dataKey: kms.Key;
  /** Application-level encryption of kiosk secrets and contact details (manifest `sealingKey`). */
  readonly sealingKey: kms.Key;
  /** HMAC key for ids derived from a person's identifiers (manifest `idKey`): kms:GenerateMac only. */
  readonly idKey: kms.Key;
  readonly tables: Readonly<Record<TableName, dynamodb.Table>>;
  readonly topics: Readonly<Record<TopicName, sns.Topic>>;
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  /** Receives the events of scheduled invocations that failed; alarm on its depth. */
  readonly deadLetterQueue: sqs.Queue;
  /**
   * Where each stream trigger (manifest `stream`) sets aside a batch it gave up on, by function: Lambda
   * sends the batch's place in the stream (shard, sequence numbers), not its records. Alarmed.
   */
  readonly streamDeadLetterQueues: Partial<Record<FunctionName, sqs.Queue>> = {};
  /** Daily and monthly backups of every table, on top of point-in-time recovery. */
  readonly backupPlan: backup.BackupPlan;
  readonly userPool: cognito.UserPool;
  readonly userPoolClient: cognito.UserPoolClient;
  /** The terminal's client (npm run staff:aws -- signin): password then TOTP, no SRP library needed. */
  readonly staffCliClient: cognito.UserPoolClient;
  readonly api: apigateway.RestApi;
  /** WAF on the API stage: body size limits answered 413 before any function runs (lib/waf.ts). */
  readonly webAcl: wafv2.CfnWebACL;
  /** Alarms to the ops topic, and the dashboard (lib/ops.ts). */
  readonly operations: Operations;
  /** The staff web app: S3 behind CloudFront, Cognito hosted UI sign-in (lib/web.ts). */
  readonly webApp: StaffWebApp;

  /** The stage this stack is (lib/stages.ts): removal policies, tags, subscriptions, alarm thresholds. */
  readonly stage: StageConfig;

  constructor(scope: Construct, id: string, props?: BridgewayStackProps) {
    super(scope, id, props);
    this.stage = props?.stage ?? stageConfig('dev');
    tagStage(this, this.stage);

    this.dataKey = this.createDataKey();
    this.sealingKey = new kms.Key(this, 'SealingKey', {
      description: 'Bridgeway sealing key: application-level encryption of kiosk secrets and contact details',
      enableKeyRotation: true,
      removalPolicy: removalPolicy(this.stage),
    });
    this.idKey = this.createIdKey();

    this.tables = mapRecord(tableDeclarations, (name, declaration) => this.createTable(name, declaration));
    this.backupPlan = this.createBackupPlan();
    this.topics = mapRecord(
      topicDeclarations,
      (name, declaration) =>
        new sns.Topic(this, `${pascal(name)}Topic`, {
          topicName: `${this.stackName}-${name}`,
          displayName: declaration.displayName,
          masterKey: this.dataKey,
          enforceSSL: true,
        }),
    );

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduledDeadLetterQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    this.functions = mapRecord(functionDeclarations, (name, declaration) =>
      this.createFunction(name, declaration),
    );

    const auth = this.createUserPool();
    this.userPool = auth.userPool;
    this.userPoolClient = auth.client;
    this.staffCliClient = auth.cliClient;
    this.grantStaffDirectory();
    this.api = this.createApi();
    this.webApp = new StaffWebApp(this, 'StaffWebApp', {
      userPool: this.userPool,
      api: this.api,
      domainPrefix: `${this.stackName.toLowerCase()}-${this.creationSuffix}`,
      dataKey: this.dataKey,
      logRetention,
      assets: props?.webAssets,
      removalPolicy: removalPolicy(this.stage),
    });
    this.allowWebOrigin(this.webApp.origin);
    this.addErrorResponses(this.api, this.webApp.origin);
    this.webAcl = addRequestFirewall(this, this.api, this.dataKey, logRetention, {
      removalPolicy: removalPolicy(this.stage),
      creationSuffix: this.creationSuffix,
    });

    this.addWorkflows();
    this.operations = new Operations(this, 'Operations', {
      stage: this.stage,
      api: this.api,
      functions: this.functions,
      deadLetterQueue: this.deadLetterQueue,
      streamDeadLetterQueues: this.streamDeadLetterQueues,
      stateMachines: Object.values(this.stateMachines),
    });
    subscribeEndpoints(this.stage, { ...this.topics, ops: this.operations.topic });
    acknowledgeFindings(this);

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'Base URL of the REST API stage' });
    new CfnOutput(this, 'UserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: this.userPoolClient.userPoolClientId });
    new CfnOutput(this, 'StaffCliClientId', {
      value: this.staffCliClient.userPoolClientId,
      description: 'App client of npm run staff:aws -- signin (USER_PASSWORD_AUTH, then TOTP)',
    });
    new CfnOutput(this, 'Stage', { value: this.stage.name });
    new CfnOutput(this, 'WebAppUrl', {
      value: `${this.webApp.origin}/`,
      description: 'The staff web app (Cognito hosted UI sign-in)',
    });
    new CfnOutput(this, 'WebClientId', { value: this.webApp.client.userPoolClientId });
    new CfnOutput(this, 'OpsTopicArn', {
      value: this.operations.topic.topicArn,
      description: 'SNS topic of the operations alarms',
    });
    new CfnOutput(this, 'DashboardName', { value: this.operations.dashboard.dashboardName });
    for (const [name, topic] of Object.entries(this.topics)) {
      new CfnOutput(this, `${pascal(name)}TopicArn`, {
        value: topic.topicArn,
        description: `SNS topic ${name}`,
      });
    }
  }

  /**
   * The first block of the stack's id (a UUID CloudFormation draws when it creates the stack): stable across
   * updates, new after a destroy, for physical names that a retained resource would otherwise keep taken.
   */
  get creationSuffix(): string {
    return Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', this.stackId))));
  }

  /** Powertools Tracer as a layer shared by every function (lib/tracer-layer.ts). */
  private tracer?: lambda.LayerVersion;

  private tracerLayer(): lambda.LayerVersion {
    this.tracer ??= tracerLayer(this);
    return this.tracer;
  }

  /** Step Functions state machines, by manifest name. */
  readonly stateMachines: Partial<Record<WorkflowName, sfn.StateMachine>> = {};

  /**
   * A state machine's name and ARN are fixed from the stack name, so functions can be
   * granted and told about it before it exists, and the state machine can refer to
   * those functions without a dependency cycle.
   */
  stateMachineName(workflow: WorkflowName): string {
    return `${this.stackName}-${workflow}`;
  }

  stateMachineArn(workflow: WorkflowName): string {
    return this.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: this.stateMachineName(workflow),
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /**
   * The MOUD follow-up workflow (lib/workflows/follow-up.ts): Standard, one execution per
   * enrollment, encrypted with the data key, X-Ray traced, logged at ALL without execution
   * data (inputs are ids only, but the log needs none of them).
   */
  protected addWorkflows(): void {
    const declaration = workflowDeclarations.followUp;
    const logGroup = new logs.LogGroup(this, 'FollowUpWorkflowLogs', {
      // AWS's recommended prefix for vended logs keeps the resource policy small; the suffix, new with each
      // creation of the stack, lets a destroyed stage be deployed again while its retained log group remains.
      logGroupName: `/aws/vendedlogs/states/${this.stateMachineName('followUp')}-${this.creationSuffix}`,
      retention: logRetention,
      encryptionKey: this.dataKey,
      removalPolicy: removalPolicy(this.stage),
    });
    const role = new ManagedPolicyRole(this, 'FollowUpWorkflowRole', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: 'Bridgeway follow-up workflow',
    });
    const machine = new sfn.StateMachine(this, 'FollowUpWorkflow', {
      role,
      stateMachineName: this.stateMachineName('followUp'),
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        followUpDefinition(this, {
          steps: this.functions[declaration.stepFunction],
          outreach: this.topics.outreach,
          escalation: this.topics['outreach-escalation'],
        }),
      ),
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
      encryptionConfiguration: new sfn.CustomerManagedEncryptionConfiguration(this.dataKey),
    });
    // Publishing to the KMS-encrypted topics: SNS asks for a data key on the publisher's behalf.
    this.dataKey.grant(machine, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.stateMachines.followUp = machine;
  }

  /**
   * An HMAC_256 key: enrollment ids are HMACs of participant and day, so that an id in a message or a
   * log cannot be reversed by trying candidates. KMS cannot rotate HMAC keys, and must not: a new key
   * would give a retried enrollment a new id. The material never leaves KMS.
   */
  private createIdKey(): kms.Key {
    return new kms.Key(this, 'IdKey', {
      description: 'Bridgeway id key: HMAC of participant identifiers into opaque enrollment ids',
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: removalPolicy(this.stage),
    });
  }

  private createDataKey(): kms.Key {
    const key = new kms.Key(this, 'DataKey', {
      description: 'Bridgeway data at rest: DynamoDB tables, SNS topics, SQS queue, CloudWatch log groups',
      enableKeyRotation: true,
      removalPolicy: removalPolicy(this.stage),
    });
    // CloudWatch Logs encrypts this stack's log groups with the key; only for log groups of this account and region.
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchLogsOfThisAccount',
        principals: [new iam.ServicePrincipal(`logs.${this.region}.amazonaws.com`)],
        actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
        resources: ['*'],
        conditions: {
          ArnLike: {
            'kms:EncryptionContext:aws:logs:arn': `arn:${this.partition}:logs:${this.region}:${this.account}:log-group:*`,
          },
        },
      }),
    );
    return key;
  }

  private createLogGroup(id: string): logs.LogGroup {
    return new logs.LogGroup(this, id, {
      retention: logRetention,
      encryptionKey: this.dataKey,
      removalPolicy: removalPolicy(this.stage),
    });
  }

  /**
   * Point-in-time recovery covers 35 days of mistakes; AWS Backup keeps daily recovery points 35 days and
   * monthly ones a year, in a vault of their own (HIPAA 164.308(a)(7)(ii)(A), data backup plan).
   */
  private createBackupPlan(): backup.BackupPlan {
    // Kept in every stage (AWS Backup refuses to delete a vault that holds recovery points); its name is new with
    // each creation of the stack, so a destroyed stage can be deployed again next to the vault it left.
    const vault = new backup.BackupVault(this, 'BackupVault', {
      backupVaultName: `${this.stackName}-backups-${this.creationSuffix}`,
      encryptionKey: this.dataKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const plan = new backup.BackupPlan(this, 'BackupPlan', {
      backupPlanName: `${this.stackName}-tables`,
      backupVault: vault,
      backupPlanRules: this.stage.retainData
        ? [backup.BackupPlanRule.daily(), backup.BackupPlanRule.monthly1Year()]
        : [backup.BackupPlanRule.daily()],
    });
    plan.addSelection('Tables', {
      resources: Object.values<dynamodb.Table>(this.tables).map((table) =>
        backup.BackupResource.fromDynamoDbTable(table),
      ),
    });
    return plan;
  }

  private createTable(name: TableName, declaration: TableDeclaration): dynamodb.Table {
    const table = new dynamodb.Table(this, `${pascal(name)}Table`, {
      partitionKey: attribute(declaration.partitionKey),
      sortKey: declaration.sortKey ? attribute(declaration.sortKey) : undefined,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.dataKey,
      timeToLiveAttribute: declaration.timeToLiveAttribute,
      stream: declaration.stream === 'NEW_IMAGE' ? dynamodb.StreamViewType.NEW_IMAGE : undefined,
      deletionProtection: this.stage.retainData,
      removalPolicy: removalPolicy(this.stage),
    });
    for (const index of declaration.indexes ?? []) {
      table.addGlobalSecondaryIndex({
        indexName: index.indexName,
        partitionKey: attribute(index.partitionKey),
        sortKey: index.sortKey ? attribute(index.sortKey) : undefined,
        ...(index.include?.length
          ? { projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: [...index.include] }
          : index.include
            ? { projectionType: dynamodb.ProjectionType.KEYS_ONLY }
            : {}),
      });
    }
    return table;
  }

  private createFunction(name: FunctionName, declaration: FunctionDeclaration): NodejsFunction {
    const id = `${pascal(name)}Function`;
    const scheduled = declaration.scheduleMinutes !== undefined;
    const sizing = lambdaSizing(declaration);
    const logGroup = this.createLogGroup(`${id}Logs`);
    const role = new ManagedPolicyRole(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Bridgeway ${name} function`,
    });
    // Instead of AWSLambdaBasicExecutionRole (any log group): only its own log group.
    logGroup.grantWrite(role);

    // No NODE_OPTIONS=--enable-source-maps: parsing the map costs every cold start (issue 12). The map ships
    // unlinked beside the bundle; an unexpected failure's logged stack is mapped with it (adapters/stack-trace.ts).
    const environment: Record<string, string> = {
      // The service name is the metrics' one dimension: two stages in one account never mix their figures.
      POWERTOOLS_SERVICE_NAME: this.stackName,
      POWERTOOLS_METRICS_NAMESPACE: metricsDeclaration.namespace,
    };
    for (const tableName of Object.keys(declaration.tables) as TableName[]) {
      environment[tableDeclarations[tableName].envVar] = this.tables[tableName].tableName;
    }
    for (const topicName of declaration.topics) {
      environment[topicDeclarations[topicName].envVar] = this.topics[topicName].topicArn;
    }
    if (declaration.sealing.length > 0) environment[sealingKeyDeclaration.envVar] = this.sealingKey.keyArn;
    if (declaration.idMac) environment[idKeyDeclaration.envVar] = this.idKey.keyArn;
    const workflowUse = Object.entries(
      ('workflows' in declaration ? declaration.workflows : undefined) ?? {},
    ) as [WorkflowName, readonly WorkflowUse[]][];
    for (const [workflow] of workflowUse)
      environment[workflowDeclarations[workflow].envVar] = this.stateMachineArn(workflow);

    const fn = new NodejsFunction(this, id, {
      entry: join(repositoryRoot, declaration.entry),
      handler: 'handler',
      projectRoot: repositoryRoot,
      depsLockFilePath: join(repositoryRoot, 'package-lock.json'),
      description: declaration.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: sizing.memoryMb,
      timeout: Duration.seconds(sizing.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      // Powertools Tracer, required on the first traced invocation only (functions/adapters/observability.ts).
      layers: [this.tracerLayer()],
      role,
      logGroup,
      environment,
      // Scheduled runs: the next tick is the retry; a failed run goes to the DLQ for an alarm instead.
      ...(scheduled ? { deadLetterQueue: this.deadLetterQueue, retryAttempts: 0 } : {}),
      bundling: {
        ...lambdaBundling,
        format: OutputFormat.ESM,
        sourceMapMode: SourceMapMode.EXTERNAL,
        mainFields: [...lambdaBundling.mainFields],
      },
    });

    for (const [tableName, access] of Object.entries(declaration.tables) as [TableName, string][]) {
      const table = this.tables[tableName];
      if (access === 'read') table.grantReadData(fn);
      else if (access === 'write') table.grantWriteData(fn);
      else if (access === 'readWrite') table.grantReadWriteData(fn);
      else throw new Error(`Function ${name}: unknown access ${access} to table ${tableName}`);
    }
    for (const topicName of declaration.topics) this.topics[topicName].grantPublish(fn);
    // Not grantEncrypt: its kms:ReEncrypt* would let a function that may only seal re-encrypt a sealed value
    // under the data key, which it may decrypt. Sealing is a single kms:Encrypt call (functions/adapters/sealer.ts).
    if (declaration.sealing.includes('seal')) this.sealingKey.grant(fn, 'kms:Encrypt');
    if (declaration.sealing.includes('open')) this.sealingKey.grant(fn, 'kms:Decrypt');
    if (declaration.idMac) this.idKey.grant(fn, 'kms:GenerateMac');
    for (const [workflow, uses] of workflowUse) {
      const actions = [
        ...(uses.includes('start') ? ['states:StartExecution'] : []),
        ...(uses.includes('wake') ? ['states:SendTaskSuccess'] : []),
      ];
      if (actions.length)
        fn.addToRolePolicy(new iam.PolicyStatement({ actions, resources: [this.stateMachineArn(workflow)] }));
      if (uses.includes('describe')) {
        fn.addToRolePolicy(
          new iam.PolicyStatement({
            actions: ['states:DescribeExecution'],
            resources: [
              this.formatArn({
                service: 'states',
                resource: 'execution',
                resourceName: `${this.stateMachineName(workflow)}:*`,
                arnFormat: ArnFormat.COLON_RESOURCE_NAME,
              }),
            ],
          }),
        );
      }
    }

    if (declaration.stream) this.addStreamTrigger(name, fn, role, declaration.stream);

    if (scheduled) {
      this.deadLetterQueue.grantSendMessages(fn);
      new events.Rule(this, `${id}Schedule`, {
        description: `Runs ${name} every ${declaration.scheduleMinutes} minutes`,
        schedule: events.Schedule.rate(Duration.minutes(declaration.scheduleMinutes!)),
        targets: [new targets.LambdaFunction(fn)],
      });
    }
    return fn;
  }

  /**
   * A table's stream runs the function (manifest `stream`): an event source mapping that filters the
   * records (only the declared event names are delivered, and billed), reports partial batch failures,
   * splits a failing batch, retries a bounded number of times and then sends the batch's place to an
   * encrypted SQS queue. Only this function may read the stream: the four stream actions on that one
   * stream's ARN, nothing on any other.
   */
  private addStreamTrigger(
    name: FunctionName,
    fn: NodejsFunction,
    role: ManagedPolicyRole,
    trigger: StreamTrigger,
  ): void {
    const id = `${pascal(name)}Function`;
    const table = this.tables[trigger.table];
    if (!table.tableStreamArn) throw new Error(`Function ${name}: table ${trigger.table} has no stream`);
    const queue = new sqs.Queue(this, `${id}StreamDeadLetterQueue`, {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.dataKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.streamDeadLetterQueues[name] = queue;
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'dynamodb:DescribeStream',
          'dynamodb:GetRecords',
          'dynamodb:GetShardIterator',
          'dynamodb:ListStreams',
        ],
        resources: [table.tableStreamArn],
      }),
    );
    const mapping = new lambda.EventSourceMapping(this, `${id}Stream`, {
      target: fn,
      eventSourceArn: table.tableStreamArn,
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: trigger.batchSize,
      bisectBatchOnError: true,
      retryAttempts: trigger.retryAttempts,
      maxRecordAge: Duration.seconds(trigger.maxRecordAgeSeconds),
      reportBatchItemFailures: true,
      filters: [lambda.FilterCriteria.filter({ eventName: [...trigger.events] })],
      onFailure: new SqsDlq(queue),
    });
    // Lambda checks the role can read the stream when it creates the mapping.
    mapping.node.addDependency(role.permissions);
  }

  /**
   * Functions that read who the staff are (manifest `staffDirectory`): the user pool's id, and
   * `cognito-idp:ListUsersInGroup` on this pool alone — no other Cognito action, no other pool.
   */
  private grantStaffDirectory(): void {
    for (const [name, declaration] of Object.entries(functionDeclarations) as [
      FunctionName,
      FunctionDeclaration,
    ][]) {
      if (!declaration.staffDirectory) continue;
      const fn = this.functions[name];
      fn.addEnvironment(staffDirectoryDeclaration.envVar, this.userPool.userPoolId);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['cognito-idp:ListUsersInGroup'],
          resources: [this.userPool.userPoolArn],
        }),
      );
    }
  }

  private createUserPool(): {
    userPool: cognito.UserPool;
    client: cognito.UserPoolClient;
    cliClient: cognito.UserPoolClient;
  } {
    const userPool = new cognito.UserPool(this, 'StaffUserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      // Staff read contact details and MOUD (42 CFR Part 2) records: a second factor is required, TOTP only.
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      deletionProtection: this.stage.retainData,
      removalPolicy: removalPolicy(this.stage),
    });
    userPool.addGroup('AdminGroup', { groupName: 'admin', description: 'Bridgeway administrators' });
    userPool.addGroup('OutreachGroup', { groupName: 'outreach', description: 'Bridgeway outreach staff' });
    const staffClient = {
      generateSecret: false,
      disableOAuth: true,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    };
    const client = userPool.addClient('StaffClient', { ...staffClient, authFlows: { userSrp: true } });
    // The AWS CLI cannot do SRP and a terminal has no hosted UI: this client signs in with USER_PASSWORD_AUTH
    // (the password goes to Cognito over TLS, never to Bridgeway), and the pool's MFA still asks for the TOTP code.
    const cliClient = userPool.addClient('StaffCliClient', {
      ...staffClient,
      authFlows: { userPassword: true },
    });
    return { userPool, client, cliClient };
  }

  private createApi(): apigateway.RestApi {
    const accessLogs = this.createLogGroup('ApiAccessLogs');
    const api = new apigateway.RestApi(this, 'Api', {
      restApiName: `${this.stackName}-api`,
      description: 'Bridgeway: kiosks, naloxone use reports, outreach tasks and reports',
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      // Every body reaches the handlers as its raw bytes (base64): kiosk signatures and the size limits
      // are checked over exactly what was sent, never over a re-encoded string.
      binaryMediaTypes: ['*/*'],
      cloudWatchRole: true,
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      deployOptions: {
        stageName: 'prod',
        tracingEnabled: true,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        // The standard fields, and the person: the e-mail of the staff member's ID token (who they are,
        // never anything about a participant), so the access log names who did what.
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: apigateway.AccessLogField.contextRequestId(),
            ip: apigateway.AccessLogField.contextIdentitySourceIp(),
            requestTime: apigateway.AccessLogField.contextRequestTime(),
            httpMethod: apigateway.AccessLogField.contextHttpMethod(),
            resourcePath: apigateway.AccessLogField.contextResourcePath(),
            status: apigateway.AccessLogField.contextStatus(),
            protocol: apigateway.AccessLogField.contextProtocol(),
            responseLength: apigateway.AccessLogField.contextResponseLength(),
            user: apigateway.AccessLogField.contextAuthorizerClaims('email'),
          }),
        ),
        // Execution logs for errors only; never request or response bodies (they carry phone numbers).
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
      },
    });

    const authorizer = new apigateway.CognitoUserPoolsAuthorizer(this, 'StaffAuthorizer', {
      cognitoUserPools: [this.userPool],
      authorizerName: 'staff',
    });
    const integrations = new Map<FunctionName, apigateway.LambdaIntegration>();
    for (const route of routes as readonly RouteDeclaration[]) {
      let integration = integrations.get(route.function);
      if (!integration) {
        integration = new apigateway.LambdaIntegration(this.functions[route.function], {
          proxy: true,
          allowTestInvoke: false,
        });
        integrations.set(route.function, integration);
      }
      // Staff routes: Cognito checks the token, the handler checks the group. Kiosk routes: the handler's
      // HMAC middleware checks the signature over the raw body, which no API Gateway authorizer sees.
      const options: apigateway.MethodOptions =
        route.auth.kind === 'staff'
          ? { authorizer, authorizationType: apigateway.AuthorizationType.COGNITO }
          : { authorizationType: apigateway.AuthorizationType.NONE };
      api.root.resourceForPath(route.path).addMethod(route.method, integration, options);
      if (route.traceSampledShare !== undefined) this.sampleTraces(api, route, route.traceSampledShare);
    }

    return api;
  }

  /**
   * An X-Ray sampling rule for one route of the API stage (API Gateway decides, the function follows
   * its decision): `share` of its requests, no reservoir. Named per stage, so stages do not collide.
   */
  private sampleTraces(api: apigateway.RestApi, route: RouteDeclaration, share: number): void {
    const id = `${route.method} ${route.path}`.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
    new xray.CfnSamplingRule(this, `TraceSampling-${id}`, {
      samplingRule: {
        // At most 32 characters, unique in the account and region.
        ruleName: `${this.stage.name}-${id}`.slice(0, 32),
        priority: 100,
        fixedRate: share,
        reservoirSize: 0,
        serviceName: `${api.restApiName}/${api.deploymentStage.stageName}`,
        serviceType: 'AWS::ApiGateway::Stage',
        host: '*',
        httpMethod: route.method,
        // Parameters match any value; the leading * matches a stage prefix in the path, if any.
        urlPath: `*${route.path.replace(/\{[^}]+\}/g, '*')}`,
        resourceArn: '*',
        version: 1,
      },
    });
  }

  /**
   * CORS for the staff web app's origin and no other: API Gateway answers the preflight of every
   * resource, and the functions that serve staff routes name the origin in their answers when a request
   * comes from it (functions/http/route.ts).
   */
  private allowWebOrigin(origin: string): void {
    const resources = new Map(this.api.methods.map((method) => [method.resource.path, method.resource]));
    for (const resource of resources.values()) {
      resource.addCorsPreflight({
        allowOrigins: [origin],
        allowMethods: ['GET', 'POST'],
        allowHeaders: ['authorization', 'content-type', 'accept', 'x-correlation-id'],
        maxAge: Duration.hours(1),
      });
    }
    const staffFunctions = new Set(
      (routes as readonly RouteDeclaration[])
        .filter((route) => route.auth.kind === 'staff')
        .map((r) => r.function),
    );
    for (const name of staffFunctions)
      this.functions[name].addEnvironment(webAppDeclaration.originEnvVar, origin);
  }

  /** Answers that API Gateway gives by itself carry the contract's error body too, and CORS for the web app. */
  private addErrorResponses(api: apigateway.RestApi, webOrigin: string): void {
    const body = (code: string, message: string) =>
      `{"error":{"code":"${code}","message":${message.startsWith('$') ? message : JSON.stringify(message)}}}`;
    const responses: [string, apigateway.ResponseType, string | undefined, string][] = [
      [
        'Unauthorized',
        apigateway.ResponseType.UNAUTHORIZED,
        '401',
        body('unauthorized', 'Missing or invalid credentials.'),
      ],
      [
        'AccessDenied',
        apigateway.ResponseType.ACCESS_DENIED,
        '403',
        body('forbidden', 'Your role does not allow this request.'),
      ],
      // No IAM-authorized routes exist, so a missing "authentication token" means no such route.
      [
        'MissingAuthenticationToken',
        apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        '404',
        body('not_found', 'No such resource.'),
      ],
      [
        'RequestTooLarge',
        apigateway.ResponseType.REQUEST_TOO_LARGE,
        '413',
        body('payload_too_large', 'The request body is too large.'),
      ],
      [
        'Throttled',
        apigateway.ResponseType.THROTTLED,
        '429',
        body('too_many_requests', 'Too many requests; retry later.'),
      ],
      [
        'Default4xx',
        apigateway.ResponseType.DEFAULT_4XX,
        undefined,
        body('bad_request', '$context.error.messageString'),
      ],
      [
        'Default5xx',
        apigateway.ResponseType.DEFAULT_5XX,
        undefined,
        body('service_unavailable', 'The service is unavailable; retry later.'),
      ],
    ];
    for (const [id, type, statusCode, template] of responses) {
      api.addGatewayResponse(id, {
        type,
        statusCode,
        templates: { 'application/json': template },
        // The web app reads these answers too (a 401 signs it out): its origin, quoted as API Gateway wants.
        responseHeaders: { 'Access-Control-Allow-Origin': `'${webOrigin}'`, Vary: "'Origin'" },
      });
    }
  }
}

function attribute(key: { readonly name: string; readonly type: 'S' | 'N' }): dynamodb.Attribute {
  return {
    name: key.name,
    type: key.type === 'S' ? dynamodb.AttributeType.STRING : dynamodb.AttributeType.NUMBER,
  };
}

function mapRecord<K extends string, V, R>(
  record: Record<K, V>,
  build: (key: K, value: V) => R,
): Record<K, R> {
  return Object.fromEntries(
    (Object.entries(record) as [K, V][]).map(([key, value]) => [key, build(key, value)]),
  ) as Record<K, R>;
}

export { ManagedPolicyRole };
