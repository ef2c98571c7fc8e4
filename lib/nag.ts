/**
 * cdk-nag for Bridgeway: the two rule packs the app is checked against, and
 * every finding the stack deliberately keeps, each with the reason it is
 * acceptable here. Findings that were cheap to fix are fixed in `stack.ts`
 * instead (encrypted log groups with retention, SSL-only topics and queue,
 * X-Ray, access and execution logging, AWS Backup, MFA and the Plus tier for
 * the user pool, customer-managed policies instead of inline ones).
 *
 * Acknowledgements use CDK's own ids, `<plugin>::<rule>[<finding>]`, so the
 * validation report lists them as acknowledged, reason included.
 */
import { type App, ArnFormat, type Stack, Validations } from 'aws-cdk-lib';
import type { CfnTable } from 'aws-cdk-lib/aws-dynamodb';
import { AwsSolutionsChecks, HIPAASecurityChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import {
  type FunctionDeclaration,
  type FunctionName,
  functions as functionDeclarations,
  type RouteDeclaration,
  routes,
  type TableName,
  tables as tableDeclarations,
  type WorkflowName,
  type WorkflowUse,
} from './manifest.js';
import type { BridgewayStack } from './stack.js';

/** The rule packs Bridgeway is held to. */
export function addNagPacks(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new HIPAASecurityChecks(app));
}

const aws = (rule: string) => `AwsSolutions::AwsSolutions-${rule}`;
const hipaa = (rule: string) => `HIPAA.Security::HIPAA.Security-${rule}`;

function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

export function acknowledgeFindings(stack: BridgewayStack): void {
  acknowledgeFunctionFindings(stack);
  acknowledgeApiFindings(stack);

  acknowledgeWorkflowFindings(stack);
  acknowledgeWebAppFindings(stack);
  for (const [name, queue] of Object.entries(stack.streamDeadLetterQueues)) {
    acknowledge(
      queue!,
      aws('SQS3'),
      `This queue is a dead-letter queue: the on-failure destination of the ${name} function's table stream ` +
        'mapping (DestinationConfig.OnFailure), which the rule does not recognise as one (it looks only at ' +
        'Lambda DeadLetterConfig and SQS redrive policies). A dead-letter queue of its own would receive nothing.',
    );
  }

  acknowledge(
    stack.backupPlan,
    aws(
      'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
    ),
    'The role AWS Backup assumes to back up the tables uses the AWS-maintained service-role policy made for ' +
      'exactly that; it grants no data access to any person or function.',
  );
}

function acknowledgeFunctionFindings(stack: BridgewayStack): void {
  for (const [name, declaration] of Object.entries(functionDeclarations) as [
    FunctionName,
    FunctionDeclaration,
  ][]) {
    const fn = stack.functions[name];
    const role = fn.role!;

    acknowledge(
      role,
      aws('IAM5[Resource::*]'),
      'Only xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) use Resource "*": X-Ray does not ' +
        'support resource-level permissions for them.',
    );

    const writesWithDataKey =
      Object.values(declaration.tables).some((access) => access !== 'read') ||
      declaration.topics.length > 0 ||
      declaration.scheduleMinutes !== undefined;
    if (writesWithDataKey) {
      const reason =
        'Added by grantWriteData/grantPublish/grantSendMessages on tables, topics and the DLQ encrypted with the ' +
        'data key; the wildcard covers the GenerateDataKey and ReEncrypt variants those services call for envelope ' +
        'encryption and is scoped to that one key ARN.';
      acknowledge(role, aws('IAM5[Action::kms:GenerateDataKey*]'), reason);
      acknowledge(role, aws('IAM5[Action::kms:ReEncrypt*]'), reason);
    }

    for (const tableName of Object.keys(declaration.tables) as TableName[]) {
      const indexes = (tableDeclarations[tableName] as { indexes?: readonly { indexName: string }[] })
        .indexes;
      if (!indexes?.length) continue;
      const table = stack.tables[tableName];
      const logicalId = stack.resolve(stack.getLogicalId(table.node.defaultChild as CfnTable)) as string;
      acknowledge(
        role,
        aws(`IAM5[Resource::<${logicalId}.Arn>/index/*]`),
        `The grant on the ${tableName} table covers its own global secondary indexes ` +
          `(${indexes.map((index) => index.indexName).join(', ')}) and no other table.`,
      );
    }

    for (const [workflow, uses] of Object.entries(declaration.workflows ?? {}) as [
      WorkflowName,
      readonly WorkflowUse[],
    ][]) {
      if (!uses.includes('describe')) continue;
      const executions = stack.formatArn({
        service: 'states',
        resource: 'execution',
        resourceName: `${stack.stateMachineName(workflow)}:*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
      acknowledge(
        role,
        // As cdk-nag spells the resource: literal where the stack's environment is known (cdk synth sets a
        // region), <AWS::Region> and the like where it is not (tests).
        aws(`IAM5[Resource::${nagSpelling(stack, executions)}]`),
        'DescribeExecution is granted on executions, whose names are known only at run time (one per ' +
          'enrollment, and one per restart); the wildcard is limited to the executions of this one state machine.',
      );
    }

    acknowledge(
      fn,
      hipaa('LambdaInsideVPC'),
      'The function calls only AWS APIs (DynamoDB, SNS, KMS, Step Functions, X-Ray) over TLS with SigV4 and reaches no private ' +
        'network resource; a VPC would add NAT or endpoint cost and cold-start latency without reducing exposure.',
    );
    acknowledge(
      fn,
      hipaa('LambdaConcurrency'),
      'API Gateway stage throttling caps the request rate for every function; reserving concurrency per function ' +
        'would fail deployment in accounts with the default concurrency quota (10 unreserved executions must remain) ' +
        'and would idle capacity the kiosks and staff share.',
    );
    if (declaration.scheduleMinutes === undefined) {
      acknowledge(
        fn,
        hipaa('LambdaDLQ'),
        name === 'followUpSteps'
          ? 'Invoked synchronously by the follow-up state machine only: a failure returns to its Task state, which ' +
              'retries and then fails the execution in that state, for an operator to redrive (or the follow-up sweep to restart); no asynchronous invocation ' +
              'exists for a dead-letter queue to receive.'
          : 'Invoked synchronously by API Gateway only: a failure is returned to the caller (kiosks retry with the same ' +
              'eventId), so an asynchronous dead-letter queue would never receive anything.',
      );
    }
  }
}

function acknowledgeApiFindings(stack: BridgewayStack): void {
  const { api } = stack;
  const stage = api.deploymentStage;

  acknowledge(
    api,
    aws('APIG2'),
    'Every handler validates its body and query with zod and answers the contract error body with per-field ' +
      'issues; an API Gateway request validator would answer a different body and duplicate the schemas.',
  );
  acknowledge(
    stage,
    hipaa('APIGWCacheEnabledAndEncrypted'),
    'No response may be cached: every route is a write or a per-caller read of health data (tasks with contact ' +
      'details, reports); caching would serve one caller’s answer to another.',
  );
  acknowledge(
    stage,
    hipaa('APIGWSSLEnabled'),
    'The rule asks for a client certificate towards an HTTP backend; all integrations are Lambda proxy ' +
      'integrations invoked through the AWS API, so there is no backend for a certificate to authenticate to.',
  );
  const cloudWatchRole = api.node.tryFindChild('CloudWatchRole');
  if (cloudWatchRole) {
    acknowledge(
      cloudWatchRole,
      aws(
        'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      ),
      'The account-level role API Gateway uses to write access and execution logs; the AWS-managed policy only ' +
        'allows writing to CloudWatch Logs.',
    );
  }

  for (const method of api.methods) {
    const route = (routes as readonly RouteDeclaration[]).find(
      (candidate) => candidate.path === method.resource.path && candidate.method === method.httpMethod,
    );
    if (!route || route.auth.kind === 'staff') continue;
    const reason =
      route.auth.kind === 'kiosk'
        ? 'Kiosks are not people with Cognito accounts: each request is HMAC-signed with the kiosk secret over the ' +
          'raw body and checked by the handler before anything is read or written; API Gateway authorizers never ' +
          'see the body.'
        : 'Public by contract: the health check and the OpenAPI document carry no data about anyone.';
    acknowledge(method, aws('APIG4'), reason);
    acknowledge(method, aws('COG4'), reason);
  }
}

function acknowledgeWorkflowFindings(stack: BridgewayStack): void {
  const machine = stack.stateMachines.followUp;
  if (!machine) return;
  const role = machine.role;
  acknowledge(
    role,
    aws('IAM5[Resource::*]'),
    'X-Ray tracing of the state machine (xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) and ' +
      'CloudWatch Logs delivery (logs:CreateLogDelivery and friends) do not support resource-level permissions.',
  );
  acknowledge(
    role,
    aws('IAM5[Action::kms:GenerateDataKey*]'),
    'CDK grants the state machine GenerateDataKey* on the one data key for its own execution-state ' +
      'encryption (CustomerManagedEncryptionConfiguration); the wildcard is limited to that key.',
  );
  acknowledge(
    role,
    aws(
      `IAM5[Resource::<${stack.getLogicalId(stack.functions.followUpSteps.node.defaultChild as never)}.Arn>:*]`,
    ),
    'CDK grants invoke on the follow-up step function and its versions/aliases (arn:...:function:name:*); ' +
      'it is that single function.',
  );
}

function acknowledgeWebAppFindings(stack: BridgewayStack): void {
  const { webApp } = stack;
  const files =
    'The bucket holds the staff web app’s built files only (HTML, JavaScript, CSS: no data about anyone), rebuilt ' +
    'from the repository at every deploy; CloudFront is its only reader (origin access control) and the deploy its only writer.';
  acknowledge(
    webApp.bucket,
    aws('S1'),
    `${files} Every request for data goes to the API, whose access log names the person.`,
  );
  acknowledge(
    webApp.bucket,
    hipaa('S3BucketLoggingEnabled'),
    `${files} Every request for data goes to the API, whose access log names the person.`,
  );
  acknowledge(
    webApp.bucket,
    hipaa('S3BucketReplicationEnabled'),
    `${files} A lost bucket is rebuilt by the next deploy.`,
  );
  acknowledge(
    webApp.bucket,
    hipaa('S3DefaultEncryptionKMS'),
    `${files} They are encrypted at rest with S3-managed keys; a customer key would only add a key policy for CloudFront to files that are public by nature.`,
  );
  const page =
    'The distribution serves the staff web app’s static files only; every request for data goes to the API, behind ' +
    'its own WAF web ACL, Cognito authorizer and access log.';
  acknowledge(
    webApp.distribution,
    aws('CFR1'),
    `${page} Outreach staff work in the field and travel: sign-in (Cognito, with MFA) decides who gets in, not where from.`,
  );
  acknowledge(
    webApp.distribution,
    aws('CFR2'),
    `${page} A CloudFront web ACL must be created in us-east-1 (another stack) and would guard only public files.`,
  );
  acknowledge(
    webApp.distribution,
    aws('CFR3'),
    `${page} CloudFront standard logs would record only downloads of those files.`,
  );
  acknowledge(
    webApp.distribution,
    aws('CFR4'),
    `${page} It uses the default *.cloudfront.net certificate, for which CloudFront itself fixes the oldest TLS version ` +
      '(a minimum of TLS 1.2 takes a custom domain and its certificate, which a program adds with its own domain).',
  );

  const copierGrants =
    'The role of CDK’s BucketDeployment function, which copies the built files from the CDK asset bucket into the ' +
    'web app’s bucket and invalidates the distribution at deploy time: CDK grants it object-level wildcards on those ' +
    'two buckets (read the asset, write and prune the files) and cloudfront:CreateInvalidation/GetInvalidation, which ' +
    'take no resource-level permission.';
  // One acknowledgement per wildcard, spelled as cdk-nag spells it, read from the role's policy as CDK built it.
  const document = stack.resolve(webApp.copierRole.permissions.document.toJSON()) as {
    Statement: { Action: string | string[]; Resource: unknown }[];
  };
  const wildcards = new Set<string>();
  for (const statement of document.Statement) {
    for (const action of [statement.Action].flat())
      if (action.includes('*')) wildcards.add(`Action::${action}`);
    for (const resource of [statement.Resource].flat()) {
      const spelled = spell(resource);
      if (spelled.includes('*')) wildcards.add(`Resource::${spelled}`);
    }
  }
  for (const wildcard of wildcards) acknowledge(webApp.copierRole, aws(`IAM5[${wildcard}]`), copierGrants);
  const copier = stack.node.children.find((child) => child.node.id.startsWith('Custom::CDKBucketDeployment'));
  if (copier) {
    const deployOnly =
      'CDK’s BucketDeployment function runs only while CloudFormation deploys the stack (a custom resource), to copy ' +
      'the staff web app’s built files into their bucket; it is never invoked by a request.';
    acknowledge(
      copier,
      aws('L1'),
      `${deployOnly} Its runtime is the one CDK ships it with, updated with aws-cdk-lib.`,
    );
    acknowledge(copier, hipaa('LambdaConcurrency'), `${deployOnly} It runs once per deploy.`);
    acknowledge(
      copier,
      hipaa('LambdaDLQ'),
      `${deployOnly} A failure fails the deploy, which CloudFormation rolls back.`,
    );
    acknowledge(
      copier,
      hipaa('LambdaInsideVPC'),
      `${deployOnly} It calls only S3 and CloudFront APIs over TLS.`,
    );
  }
}

/** A resolved CloudFormation value as cdk-nag writes it in a finding: literals as they are, `<Ref>` and `<Resource.Attribute>` for references. */
function spell(part: unknown): string {
  if (typeof part === 'string') return part;
  const record = part as Record<string, unknown>;
  if (typeof record.Ref === 'string') return `<${record.Ref}>`;
  const getAtt = record['Fn::GetAtt'] as [string, string] | undefined;
  if (getAtt) return `<${getAtt[0]}.${getAtt[1]}>`;
  const join = record['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(spell).join(join[0]);
  const sub = record['Fn::Sub'];
  if (typeof sub === 'string') return sub.replace(/\$\{([^}]+)\}/g, '<$1>');
  throw new Error(`cannot spell ${JSON.stringify(part)} for cdk-nag`);
}

/** A token as cdk-nag writes it in a finding. */
function nagSpelling(stack: Stack, value: string): string {
  return spell(stack.resolve(value));
}
