import type { CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FunctionDeclaration,
  type FunctionName,
  functions,
  type RouteDeclaration,
  routes,
  staffDirectory,
  type TableDeclaration,
  type TableName,
  type TopicName,
  tables,
  topics,
  type WorkflowName,
  type WorkflowUse,
  webApp,
  workflows,
} from '../../lib/manifest.js';
import type { BridgewayStack } from '../../lib/stack.js';
import { type Resource, synthesize, type ValidationReport } from './synthesize.js';

// ---------------------------------------------------------------------------
// One synthesis for the whole file: the app exactly as bin/app.ts builds it
// (both cdk-nag packs), into a temporary cloud assembly.
// ---------------------------------------------------------------------------

let synthesized: ReturnType<typeof synthesize>;
let stack: BridgewayStack;
let template: Template;
let resources: Record<string, Resource>;
let report: ValidationReport;
let synthError: unknown;

beforeAll(() => {
  synthesized = synthesize('bridgeway-infra-');
  ({ stack, resources, report, synthError } = synthesized);
  template = Template.fromJSON(synthesized.json);
}, 180_000);

afterAll(() => synthesized?.cleanup());

// ---------------------------------------------------------------------------
// Helpers over the synthesized template
// ---------------------------------------------------------------------------

const logicalId = (construct: IConstruct): string =>
  stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
const functionId = (name: FunctionName) => logicalId(stack.functions[name]);
const tableId = (name: TableName) => logicalId(stack.tables[name]);
const topicId = (name: TopicName) => logicalId(stack.topics[name]);

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Logical ids a CloudFormation value points at through Ref or Fn::GetAtt. */
function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds);
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    if (typeof record.Ref === 'string') return [record.Ref];
    if (Array.isArray(record['Fn::GetAtt'])) return [record['Fn::GetAtt'][0] as string];
    return Object.values(record).flatMap(referencedIds);
  }
  return [];
}

const isPseudoParameter = (id: string) => id.startsWith('AWS::');

/**
 * A CloudFormation value that names no resource of the stack (a literal, or an Fn::Join of literals and
 * pseudo parameters such as the fixed state machine ARN) as one string, pseudo parameters as `${AWS::Region}`.
 */
function renderPseudo(value: unknown): string {
  if (typeof value === 'string') return value;
  const record = value as Record<string, unknown>;
  if (typeof record.Ref === 'string' && isPseudoParameter(record.Ref)) return `\${${record.Ref}}`;
  const join = record['Fn::Join'] as [string, unknown[]] | undefined;
  if (join) return join[1].map(renderPseudo).join(join[0]);
  throw new Error(`not a literal ARN: ${JSON.stringify(value)}`);
}

/** ARN of a workflow's state machine as the template names it, from the resource's own StateMachineName. */
function workflowArn(name: WorkflowName): string {
  const machine = stack.stateMachines[name];
  expect(machine, `state machine ${name} exists`).toBeDefined();
  const resource = resources[logicalId(machine!)]!;
  expect(resource.Type).toBe('AWS::StepFunctions::StateMachine');
  const machineName = resource.Properties!.StateMachineName as string;
  return `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${machineName}`;
}

const workflowUses = (declaration: FunctionDeclaration) =>
  Object.entries(declaration.workflows ?? {}) as [WorkflowName, readonly WorkflowUse[]][];

/** The executions of a state machine (DescribeExecution is granted on them, not on the machine). */
const executionsArn = (name: WorkflowName) =>
  `${workflowArn(name).replace(':stateMachine:', ':execution:')}:*`;

interface Grant {
  readonly action: string;
  /** Logical id of the resource, '*', or a literal ARN naming no resource of the stack (see renderPseudo) */
  readonly resource: string;
}

/** Every (action, resource) the function's role may use, from every policy attached to the role. */
function grantsOf(name: FunctionName): Grant[] {
  const fnProps = resources[functionId(name)]!.Properties!;
  const [roleId] = referencedIds(fnProps.Role);
  const policies = Object.values(resources).filter(
    (resource) =>
      (resource.Type === 'AWS::IAM::ManagedPolicy' || resource.Type === 'AWS::IAM::Policy') &&
      referencedIds(resource.Properties?.Roles).includes(roleId!),
  );
  const role = resources[roleId!]!.Properties!;
  expect(role.ManagedPolicyArns, `${name}: no AWS managed policy on the role`).toBeUndefined();
  expect(role.Policies, `${name}: no inline policy on the role`).toBeUndefined();
  const grants: Grant[] = [];
  for (const policy of policies) {
    const document = policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] };
    for (const statement of document.Statement) {
      expect(statement.Effect).toBe('Allow');
      for (const action of asArray(statement.Action as string | string[])) {
        for (const resource of asArray(statement.Resource)) {
          const ids =
            resource === '*' ? ['*'] : referencedIds(resource).filter((id) => !isPseudoParameter(id));
          for (const id of ids.length > 0 ? ids : [renderPseudo(resource)])
            grants.push({ action, resource: id });
        }
      }
    }
  }
  return grants;
}

const allows = (grants: Grant[], action: string, resource: string) =>
  grants.some(
    (grant) =>
      grant.resource === resource && (grant.action === action || matchesWildcard(grant.action, action)),
  );
const matchesWildcard = (pattern: string, action: string) =>
  pattern.endsWith('*') && action.startsWith(pattern.slice(0, -1));

const readActions = ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem'];
const writeActions = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

/** Full API path of each AWS::ApiGateway::Resource, from PathPart and ParentId. */
function apiPaths(): Map<string, string> {
  const paths = new Map<string, string>();
  const pathOf = (id: string): string => {
    const known = paths.get(id);
    if (known !== undefined) return known;
    const props = resources[id]!.Properties!;
    const [parent] = referencedIds(props.ParentId);
    const parentPath = resources[parent!]!.Type === 'AWS::ApiGateway::RestApi' ? '' : pathOf(parent!);
    const path = `${parentPath}/${props.PathPart as string}`;
    paths.set(id, path);
    return path;
  };
  for (const [id, resource] of Object.entries(resources)) {
    if (resource.Type === 'AWS::ApiGateway::Resource') pathOf(id);
  }
  return paths;
}

function methodFor(route: { method: string; path: string }): Record<string, unknown> {
  const paths = apiPaths();
  const matches = Object.values(resources).filter((resource) => {
    if (resource.Type !== 'AWS::ApiGateway::Method') return false;
    const [resourceId] = referencedIds(resource.Properties!.ResourceId);
    return resource.Properties!.HttpMethod === route.method && paths.get(resourceId!) === route.path;
  });
  expect(matches, `${route.method} ${route.path} is declared once`).toHaveLength(1);
  return matches[0]!.Properties!;
}

const cognitoAuthorizerIds = () =>
  Object.entries(resources)
    .filter(([, resource]) => resource.Type === 'AWS::ApiGateway::Authorizer')
    .filter(([, resource]) => resource.Properties!.Type === 'COGNITO_USER_POOLS')
    .map(([id]) => id);

const functionEntries = Object.entries(functions) as [FunctionName, FunctionDeclaration][];
const tableEntries = Object.entries(tables) as [TableName, TableDeclaration][];

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

describe('the REST API', () => {
  it('has one method per manifest route and no other, besides the CORS preflights', () => {
    // Arrange
    const declared = routes.length;

    // Act
    const methods = Object.values(resources).filter(
      (resource) =>
        resource.Type === 'AWS::ApiGateway::Method' && resource.Properties!.HttpMethod !== 'OPTIONS',
    );

    // Assert
    expect(methods).toHaveLength(declared);
  });

  it('samples the kiosk route’s traces at 1 %, with no reservoir, on its own stage only', () => {
    // Arrange
    const sampled = routes.filter((route) => 'traceSampledShare' in route);

    // Act
    const rules = Object.values(resources).filter((resource) => resource.Type === 'AWS::XRay::SamplingRule');

    // Assert
    expect(sampled.map((route) => `${route.method} ${route.path}`)).toEqual(['POST /v1/kiosk/events']);
    expect(rules).toHaveLength(1);
    const rule = rules[0]!.Properties!.SamplingRule as Record<string, unknown>;
    expect(rule).toMatchObject({
      FixedRate: 0.01,
      ReservoirSize: 0,
      HTTPMethod: 'POST',
      URLPath: '*/v1/kiosk/events',
      ServiceType: 'AWS::ApiGateway::Stage',
    });
    expect(String(rule.RuleName).length).toBeLessThanOrEqual(32);
    expect(String(rule.RuleName)).toMatch(/^[a-z0-9]+-POST-v1-kiosk-events$/);
    // {api-name}/{stage-name}, as API Gateway names its traces: this stack's API and its deployment stage.
    expect(JSON.stringify(rule.ServiceName)).toMatch(/-api\/",\{"Ref":"ApiDeploymentStage/);
  });

  it('answers the CORS preflight of every route for the staff web app’s origin only, in API Gateway itself', () => {
    // Arrange
    const paths = new Set(routes.map((route) => route.path));

    // Act
    const preflights = Object.values(resources).filter(
      (resource) =>
        resource.Type === 'AWS::ApiGateway::Method' && resource.Properties!.HttpMethod === 'OPTIONS',
    );

    // Assert
    expect(preflights).toHaveLength(paths.size);
    for (const preflight of preflights) {
      const integration = preflight.Properties!.Integration as {
        Type: string;
        IntegrationResponses: { ResponseParameters: Record<string, unknown> }[];
      };
      expect(integration.Type).toBe('MOCK');
      const allowed = integration.IntegrationResponses[0]!.ResponseParameters[
        'method.response.header.Access-Control-Allow-Origin'
      ] as { 'Fn::Join': [string, unknown[]] };
      expect(referencedIds(allowed)).toEqual([logicalId(stack.webApp.distribution)]);
      expect(allowed['Fn::Join'][1][0]).toBe("'https://");
    }
  });

  it('names the staff web app’s origin in the answers API Gateway gives by itself, a 401 included', () => {
    // Act
    const responses = Object.values(template.findResources('AWS::ApiGateway::GatewayResponse')) as Resource[];

    // Assert
    expect(responses.length).toBeGreaterThan(0);
    for (const response of responses) {
      const headers = response.Properties!.ResponseParameters as Record<string, unknown>;
      expect(referencedIds(headers['gatewayresponse.header.Access-Control-Allow-Origin'])).toEqual([
        logicalId(stack.webApp.distribution),
      ]);
    }
  });

  it.each(routes as readonly RouteDeclaration[])(
    'serves $method $path through its function with the authorizer its audience needs',
    (route) => {
      // Arrange
      const [authorizerId] = cognitoAuthorizerIds();

      // Act
      const method = methodFor(route);

      // Assert
      const integration = method.Integration as Record<string, unknown>;
      expect(integration.Type).toBe('AWS_PROXY');
      expect(referencedIds(integration.Uri)).toContain(functionId(route.function));
      if (route.auth.kind === 'staff') {
        expect(method.AuthorizationType).toBe('COGNITO_USER_POOLS');
        expect(referencedIds(method.AuthorizerId)).toEqual([authorizerId]);
      } else {
        expect(method.AuthorizationType).toBe('NONE');
        expect(method.AuthorizerId).toBeUndefined();
      }
    },
  );

  it('leaves the signed kiosk event route to the handler and guards kiosk registration with Cognito', () => {
    // Arrange: hand-written, independent of the manifest
    const kioskEvents = { method: 'POST', path: '/v1/kiosk/events' };
    const registerKiosk = { method: 'POST', path: '/v1/kiosks' };
    const health = { method: 'GET', path: '/health' };
    const report = { method: 'GET', path: '/v1/reports/naloxone' };

    // Act
    const methods = [kioskEvents, registerKiosk, health, report].map(methodFor);

    // Assert
    expect(methods.map((method) => method.AuthorizationType)).toEqual([
      'NONE',
      'COGNITO_USER_POOLS',
      'NONE',
      'COGNITO_USER_POOLS',
    ]);
    expect(referencedIds((methods[0]!.Integration as Record<string, unknown>).Uri)).toContain(
      functionId('kioskEvents'),
    );
    expect(referencedIds((methods[3]!.Integration as Record<string, unknown>).Uri)).toContain(
      functionId('reports'),
    );
  });

  it('serves MOUD enrollments and their events to signed-in staff only, through the enrollments function', () => {
    // Arrange: hand-written; these carry 42 CFR Part 2 records
    const enroll = { method: 'POST', path: '/v1/moud/enrollments' };
    const recordEvent = { method: 'POST', path: '/v1/moud/enrollments/{enrollmentId}/events' };

    // Act
    const methods = [enroll, recordEvent].map(methodFor);

    // Assert
    for (const method of methods) {
      expect(method.AuthorizationType).toBe('COGNITO_USER_POOLS');
      expect(referencedIds((method.Integration as Record<string, unknown>).Uri)).toContain(
        functionId('enrollments'),
      );
    }
  });

  it('checks staff tokens against the Bridgeway user pool', () => {
    // Arrange
    const userPoolId = logicalId(stack.userPool);

    // Act
    const authorizers = cognitoAuthorizerIds().map((id) => resources[id]!.Properties!);

    // Assert
    expect(authorizers).toHaveLength(1);
    expect(referencedIds(authorizers[0]!.ProviderARNs)).toEqual([userPoolId]);
    expect(authorizers[0]!.IdentitySource).toBe('method.request.header.Authorization');
  });

  it.each([
    ['UNAUTHORIZED', '401', 'unauthorized'],
    ['ACCESS_DENIED', '403', 'forbidden'],
    ['DEFAULT_4XX', undefined, 'bad_request'],
    ['DEFAULT_5XX', undefined, 'service_unavailable'],
  ])('answers the gateway response %s with the contract error body', (type, statusCode, code) => {
    // Arrange
    const responses = template.findResources('AWS::ApiGateway::GatewayResponse', {
      Properties: { ResponseType: type },
    });

    // Act
    const [response] = Object.values(responses) as { Properties: Record<string, unknown> }[];
    const body = (response!.Properties.ResponseTemplates as Record<string, string>)['application/json']!;
    // API Gateway substitutes $context.error.messageString with an already quoted JSON string.
    const parsed = JSON.parse(body.replace('$context.error.messageString', '"Invalid request body"'));

    // Assert
    expect(response!.Properties.StatusCode).toBe(statusCode);
    expect(parsed).toEqual({ error: { code, message: expect.any(String) } });
    expect(parsed.error.message.length).toBeGreaterThan(0);
  });

  it('traces requests, logs access to an encrypted log group and never logs bodies', () => {
    // Arrange
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage')) as Resource[];

    // Act: the access log destination (an ARN built from the log group's name, without the trailing :*)
    const destination = referencedIds(
      (stage!.Properties!.AccessLogSetting as Record<string, unknown>).DestinationArn,
    ).filter((id) => !isPseudoParameter(id));

    // Assert
    expect(destination).toHaveLength(1);
    expect(destination[0]).toMatch(/^ApiAccessLogs/);
    expect(resources[destination[0]!]!.Type).toBe('AWS::Logs::LogGroup');
    expect(resources[destination[0]!]!.Properties!.KmsKeyId).toBeDefined();
    template.hasResourceProperties('AWS::ApiGateway::Stage', {
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      MethodSettings: Match.arrayWith([
        Match.objectLike({
          DataTraceEnabled: false,
          LoggingLevel: 'ERROR',
          ThrottlingRateLimit: Match.anyValue(),
          ThrottlingBurstLimit: Match.anyValue(),
        }),
      ]),
    });
    template.resourceCountIs('AWS::ApiGateway::Account', 1);
  });

  it('names the staff member of each request in the access log by the e-mail of their ID token', () => {
    // Arrange
    const [stage] = Object.values(template.findResources('AWS::ApiGateway::Stage')) as Resource[];

    // Act
    const format = JSON.parse((stage!.Properties!.AccessLogSetting as { Format: string }).Format);

    // Assert
    expect(format).toMatchObject({
      user: '$context.authorizer.claims.email',
      requestId: '$context.requestId',
      status: '$context.status',
      resourcePath: '$context.resourcePath',
    });
  });
});

// ---------------------------------------------------------------------------
// Functions
// ---------------------------------------------------------------------------

describe('the functions', () => {
  it('are one per manifest function, on Node.js 24 for arm64 with active tracing', () => {
    // Arrange
    const names = Object.keys(functions) as FunctionName[];

    // Act: besides CDK's own deploy-time function that copies the web app's files into its bucket
    const copier = logicalId(
      stack.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'))!,
    );
    const declared = Object.entries(resources).filter(
      ([id, resource]) => resource.Type === 'AWS::Lambda::Function' && id !== copier,
    );

    // Assert
    expect(declared).toHaveLength(names.length);
    for (const name of names) {
      expect(resources[functionId(name)]!.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
    }
  });

  it.each(functionEntries)('gives %s exactly the environment the manifest implies', (name, declaration) => {
    // Arrange
    const expected: Record<string, unknown> = {
      // The metrics' dimension: the stack name, so stages sharing an account never mix. No source maps.
      POWERTOOLS_SERVICE_NAME: stack.stackName,
      POWERTOOLS_METRICS_NAMESPACE: 'Bridgeway',
    };
    for (const table of Object.keys(declaration.tables) as TableName[]) {
      expected[tables[table].envVar] = { Ref: tableId(table) };
    }
    for (const topic of declaration.topics) expected[topics[topic].envVar] = { Ref: topicId(topic) };
    if (declaration.sealing.length > 0) {
      expected.SEALING_KEY_ID = { 'Fn::GetAtt': [logicalId(stack.sealingKey), 'Arn'] };
    }
    if (declaration.idMac) expected.ID_KEY_ID = { 'Fn::GetAtt': [logicalId(stack.idKey), 'Arn'] };
    if ('staffDirectory' in declaration && declaration.staffDirectory)
      expected[staffDirectory.envVar] = { Ref: logicalId(stack.userPool) };
    // Functions that serve staff routes answer the web app's origin in CORS.
    if (routes.some((route) => route.function === name && route.auth.kind === 'staff'))
      expected[webApp.originEnvVar] = stack.resolve(stack.webApp.origin);
    // The state machine's ARN is spelled out from its fixed name (no Ref, which would be a cycle).
    for (const [workflow] of workflowUses(declaration))
      expected[workflows[workflow].envVar] = workflowArn(workflow);

    // Act
    const variables = (resources[functionId(name)]!.Properties!.Environment as { Variables: object })
      .Variables as Record<string, unknown>;
    const environment = Object.fromEntries(
      Object.entries(variables).map(([key, value]) => [
        key,
        (value as Record<string, unknown>)['Fn::Join'] && key !== webApp.originEnvVar
          ? renderPseudo(value)
          : value,
      ]),
    );

    // Assert
    expect(environment).toEqual(expected);
  });

  it.each(functionEntries)('logs %s to its own encrypted log group with a retention', (name) => {
    // Arrange
    const props = resources[functionId(name)]!.Properties!;

    // Act
    const [logGroupId] = referencedIds((props.LoggingConfig as Record<string, unknown>).LogGroup);
    const logGroup = resources[logGroupId!]!;

    // Assert
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties!.RetentionInDays).toBeGreaterThan(0);
    expect(referencedIds(logGroup.Properties!.KmsKeyId)).toEqual([logicalId(stack.dataKey)]);
    const logGrants = grantsOf(name).filter((grant) => grant.action.startsWith('logs:'));
    expect(new Set(logGrants.map((grant) => grant.resource))).toEqual(new Set([logGroupId]));
  });
});

// ---------------------------------------------------------------------------
// Permissions: derived from the manifest, then hand-written
// ---------------------------------------------------------------------------

describe('the permissions of each function', () => {
  it.each(functionEntries)('are exactly the table access the manifest gives %s', (name, declaration) => {
    // Arrange
    const access = declaration.tables as Partial<Record<TableName, string>>;

    // Act
    const grants = grantsOf(name);
    const dynamoTables = new Set(
      grants.filter((grant) => grant.action.startsWith('dynamodb:')).map((grant) => grant.resource),
    );

    // Assert
    expect(dynamoTables).toEqual(new Set((Object.keys(access) as TableName[]).map(tableId)));
    for (const [table] of tableEntries) {
      const mode = access[table];
      const reads = mode === 'read' || mode === 'readWrite';
      const writes = mode === 'write' || mode === 'readWrite';
      for (const action of readActions) {
        expect(allows(grants, action, tableId(table)), `${name} ${action} on ${table}`).toBe(reads);
      }
      for (const action of writeActions) {
        expect(allows(grants, action, tableId(table)), `${name} ${action} on ${table}`).toBe(writes);
      }
    }
  });

  it.each(functionEntries)('let %s publish to its manifest topics only', (name, declaration) => {
    // Arrange
    const expected = new Set(declaration.topics.map(topicId));

    // Act
    const published = grantsOf(name)
      .filter((grant) => grant.action.startsWith('sns:'))
      .map((grant) => {
        expect(grant.action).toBe('sns:Publish');
        return grant.resource;
      });

    // Assert
    expect(new Set(published)).toEqual(expected);
  });

  it.each(functionEntries)(
    'let %s seal or open with the sealing key as the manifest says',
    (name, declaration) => {
      // Arrange
      const sealingKey = logicalId(stack.sealingKey);
      const expected = [
        ...(declaration.sealing.includes('seal') ? ['kms:Encrypt'] : []),
        ...(declaration.sealing.includes('open') ? ['kms:Decrypt'] : []),
      ];

      // Act
      const actions = grantsOf(name)
        .filter((grant) => grant.resource === sealingKey)
        .map((grant) => grant.action);

      // Assert
      expect(new Set(actions)).toEqual(new Set(expected));
    },
  );

  it.each(functionEntries)(
    'let %s start, wake or describe workflows exactly as the manifest says',
    (name, declaration) => {
      // Arrange
      const expected = workflowUses(declaration).flatMap(([workflow, uses]) => [
        ...(uses.includes('start') ? [`states:StartExecution on ${workflowArn(workflow)}`] : []),
        ...(uses.includes('wake') ? [`states:SendTaskSuccess on ${workflowArn(workflow)}`] : []),
        ...(uses.includes('describe') ? [`states:DescribeExecution on ${executionsArn(workflow)}`] : []),
      ]);

      // Act
      const granted = grantsOf(name)
        .filter((grant) => grant.action.startsWith('states:'))
        .map((grant) => `${grant.action} on ${grant.resource}`);

      // Assert
      expect(new Set(granted)).toEqual(new Set(expected));
    },
  );

  it.each(functionEntries)(
    'give %s no service beyond logs, tracing, its data, its DLQ and its workflows',
    (name, declaration) => {
      // Arrange
      const services = new Set(['logs', 'xray', 'dynamodb', 'kms', 'sns']);
      if (declaration.scheduleMinutes !== undefined) services.add('sqs');
      if ('staffDirectory' in declaration && declaration.staffDirectory) services.add('cognito-idp');
      if (workflowUses(declaration).length > 0) services.add('states');

      // Act
      const grants = grantsOf(name);

      // Assert
      for (const grant of grants) {
        expect(services.has(grant.action.split(':')[0]!), `${name}: ${grant.action}`).toBe(true);
        if (grant.resource === '*') expect(grant.action, `${name}: only X-Ray uses "*"`).toMatch(/^xray:/);
      }
      const kmsKeys = new Set(
        grants.filter((grant) => grant.action.startsWith('kms:')).map((grant) => grant.resource),
      );
      for (const key of kmsKeys)
        expect([logicalId(stack.dataKey), logicalId(stack.sealingKey), logicalId(stack.idKey)]).toContain(
          key,
        );
    },
  );

  it.each(functionEntries)(
    'let %s list the staff groups of the user pool only when the manifest says so, and nothing else in Cognito',
    (name, declaration) => {
      // Arrange
      const expected =
        'staffDirectory' in declaration && declaration.staffDirectory
          ? [`cognito-idp:ListUsersInGroup on ${logicalId(stack.userPool)}`]
          : [];

      // Act
      const granted = grantsOf(name)
        .filter((grant) => grant.action.startsWith('cognito-idp:'))
        .map((grant) => `${grant.action} on ${grant.resource}`);
      const environment = resources[functionId(name)]!.Properties!.Environment as {
        Variables: Record<string, unknown>;
      };

      // Assert
      expect(granted).toEqual(expected);
      expect(Object.keys(environment.Variables).includes(staffDirectory.envVar)).toBe(expected.length > 0);
    },
  );

  it('let the reports function read the aggregates but change nothing there, publish nothing and open nothing', () => {
    // Arrange
    const grants = grantsOf('reports');
    const aggregates = tableId('aggregates');

    // Act
    const dynamoTables = new Set(
      grants.filter((g) => g.action.startsWith('dynamodb:')).map((g) => g.resource),
    );

    // Assert
    expect(allows(grants, 'dynamodb:Query', aggregates)).toBe(true);
    expect(allows(grants, 'dynamodb:GetItem', aggregates)).toBe(true);
    expect(allows(grants, 'dynamodb:PutItem', aggregates)).toBe(false);
    expect(allows(grants, 'dynamodb:UpdateItem', aggregates)).toBe(false);
    // Besides the aggregates, only the audit trail (appending who read a report), never read back.
    expect(dynamoTables).toEqual(new Set([aggregates, tableId('audit')]));
    expect(allows(grants, 'dynamodb:Query', tableId('audit'))).toBe(false);
    for (const other of [
      'kiosks',
      'kioskEvents',
      'useReports',
      'tasks',
      'contacts',
      'enrollments',
      'enrollmentEvents',
      'outbox',
    ] as const) {
      expect(dynamoTables.has(tableId(other)), other).toBe(false);
    }
    expect(grants.some((g) => g.action === 'sns:Publish')).toBe(false);
    expect(grants.some((g) => g.resource === logicalId(stack.sealingKey))).toBe(false);
  });

  it('let the access log function read the audit trail and enrollments, and change, publish and open nothing', () => {
    // Arrange
    const grants = grantsOf('accessLog');

    // Act
    const dynamoTables = new Set(
      grants.filter((g) => g.action.startsWith('dynamodb:')).map((g) => g.resource),
    );

    // Assert
    expect(dynamoTables).toEqual(new Set([tableId('audit'), tableId('enrollments')]));
    expect(allows(grants, 'dynamodb:Query', tableId('audit'))).toBe(true);
    expect(allows(grants, 'dynamodb:GetItem', tableId('enrollments'))).toBe(true);
    for (const action of writeActions) {
      expect(allows(grants, action, tableId('audit')), action).toBe(false);
      expect(allows(grants, action, tableId('enrollments')), action).toBe(false);
    }
    expect(grants.some((g) => g.action.startsWith('sns:') || g.action.startsWith('states:'))).toBe(false);
    expect(grants.some((g) => g.resource === logicalId(stack.sealingKey))).toBe(false);
  });

  it('let the kiosks function register kiosks and rotate their secrets, sealing them, but never open anything', () => {
    // Arrange
    const grants = grantsOf('kiosks');
    const kiosks = tableId('kiosks');
    const sealingKey = logicalId(stack.sealingKey);

    // Act / Assert
    expect(allows(grants, 'dynamodb:PutItem', kiosks)).toBe(true);
    // A rotation reads the kiosk first: an unknown kiosk costs no write.
    expect(allows(grants, 'dynamodb:GetItem', kiosks)).toBe(true);
    expect(allows(grants, 'dynamodb:GetItem', tableId('kioskEvents'))).toBe(false);
    expect(allows(grants, 'kms:Encrypt', sealingKey)).toBe(true);
    expect(allows(grants, 'kms:Decrypt', sealingKey)).toBe(false);
    // ReEncrypt would let it move a sealed value under the data key, which it may decrypt.
    expect(allows(grants, 'kms:ReEncryptFrom', sealingKey)).toBe(false);
    expect(allows(grants, 'dynamodb:PutItem', tableId('contacts'))).toBe(false);
    expect(grants.some((g) => g.action === 'sns:Publish')).toBe(false);
  });

  it('let the fleet function read kiosks and lot rows and change, open and publish nothing', () => {
    // Arrange
    const grants = grantsOf('fleet');

    // Act / Assert
    for (const table of ['kiosks', 'kioskLots'] as const) {
      expect(allows(grants, 'dynamodb:Query', tableId(table)), table).toBe(true);
      for (const action of writeActions) expect(allows(grants, action, tableId(table)), action).toBe(false);
    }
    // It reads tables encrypted with the data key; it never opens a sealed secret.
    expect(
      grants.some((g) => g.action.startsWith('kms:') && g.resource === logicalId(stack.sealingKey)),
    ).toBe(false);
    expect(grants.some((g) => g.action === 'sns:Publish')).toBe(false);
  });

  it('let the fleet sweep mark kiosks, count offline time and write lot alerts to the outbox, publishing nothing', () => {
    // Arrange
    const grants = grantsOf('fleetSweep');

    // Act
    const published = grants.filter((g) => g.action === 'sns:Publish').map((g) => g.resource);

    // Assert
    expect(allows(grants, 'dynamodb:Query', tableId('kiosks'))).toBe(true);
    expect(allows(grants, 'dynamodb:UpdateItem', tableId('kiosks'))).toBe(true);
    expect(allows(grants, 'dynamodb:UpdateItem', tableId('kioskLots'))).toBe(true);
    expect(allows(grants, 'dynamodb:UpdateItem', tableId('aggregates'))).toBe(true);
    expect(allows(grants, 'dynamodb:Query', tableId('aggregates'))).toBe(false);
    expect(allows(grants, 'dynamodb:GetItem', tableId('kioskEvents'))).toBe(false);
    expect(allows(grants, 'dynamodb:PutItem', tableId('outbox'))).toBe(true);
    expect(published).toEqual([]);
    expect(allows(grants, 'kms:Decrypt', logicalId(stack.sealingKey))).toBe(false);
  });

  it('let the tasks function open contact details and record the audit, but publish nothing', () => {
    // Arrange
    const grants = grantsOf('tasks');

    // Act / Assert
    expect(grants.some((g) => g.action.startsWith('sns:'))).toBe(false);
    expect(allows(grants, 'kms:Decrypt', logicalId(stack.sealingKey))).toBe(true);
    expect(allows(grants, 'kms:Encrypt', logicalId(stack.sealingKey))).toBe(false);
    expect(allows(grants, 'dynamodb:GetItem', tableId('contacts'))).toBe(true);
    expect(allows(grants, 'dynamodb:PutItem', tableId('contacts'))).toBe(false);
    expect(allows(grants, 'dynamodb:PutItem', tableId('audit'))).toBe(true);
  });

  it('keep the staff directory and contact details in different functions: no function reads both', () => {
    // Arrange
    const tasks = grantsOf('tasks');
    const staff = grantsOf('staff');

    // Act / Assert
    expect(tasks.some((g) => g.action.startsWith('cognito-idp:'))).toBe(false);
    expect(allows(staff, 'cognito-idp:ListUsersInGroup', logicalId(stack.userPool))).toBe(true);
    expect(allows(staff, 'dynamodb:GetItem', tableId('tasks'))).toBe(true);
    expect(allows(staff, 'dynamodb:UpdateItem', tableId('tasks'))).toBe(true);
    expect(allows(staff, 'dynamodb:PutItem', tableId('audit'))).toBe(true);
    expect(allows(staff, 'dynamodb:GetItem', tableId('contacts'))).toBe(false);
    expect(allows(staff, 'kms:Decrypt', logicalId(stack.sealingKey))).toBe(false);
    expect(staff.some((g) => g.action.startsWith('states:') || g.action.startsWith('sns:'))).toBe(false);
  });

  it('let the tasks function follow enrollments up and wake a parked follow-up, but not start one', () => {
    // Arrange
    const grants = grantsOf('tasks');
    const followUp = workflowArn('followUp');

    // Act / Assert
    expect(allows(grants, 'dynamodb:GetItem', tableId('enrollments'))).toBe(true);
    expect(allows(grants, 'dynamodb:UpdateItem', tableId('enrollments'))).toBe(true);
    expect(allows(grants, 'dynamodb:PutItem', tableId('enrollmentEvents'))).toBe(false);
    expect(allows(grants, 'states:SendTaskSuccess', followUp)).toBe(true);
    expect(allows(grants, 'states:StartExecution', followUp)).toBe(false);
  });

  it('let the enrollments function start and wake the follow-up state machine and nothing else in Step Functions', () => {
    // Arrange
    const grants = grantsOf('enrollments');
    const followUp = workflowArn('followUp');

    // Act
    const states = grants.filter((g) => g.action.startsWith('states:'));

    // Assert
    expect(followUp).toMatch(/:stateMachine:Bridgeway-prod-followUp$/);
    expect(allows(grants, 'states:StartExecution', followUp)).toBe(true);
    expect(allows(grants, 'states:SendTaskSuccess', followUp)).toBe(true);
    expect(new Set(states.map((g) => g.resource))).toEqual(new Set([followUp]));
    expect(new Set(states.map((g) => g.action))).toEqual(
      new Set(['states:StartExecution', 'states:SendTaskSuccess']),
    );
  });

  it('let the follow-up step function wake a parked follow-up but never start one', () => {
    // Arrange
    const grants = grantsOf('followUpSteps');
    const followUp = workflowArn('followUp');

    // Act
    const states = grants.filter((g) => g.action.startsWith('states:'));

    // Assert
    expect(allows(grants, 'states:SendTaskSuccess', followUp)).toBe(true);
    expect(states.some((g) => g.action === 'states:StartExecution' || g.action === 'states:*')).toBe(false);
    expect(new Set(states.map((g) => g.resource))).toEqual(new Set([followUp]));
    // It reads and updates enrollments and tasks, and touches no contact details.
    expect(allows(grants, 'dynamodb:UpdateItem', tableId('enrollments'))).toBe(true);
    expect(grants.some((g) => g.resource === tableId('contacts'))).toBe(false);
    expect(grants.some((g) => g.resource === logicalId(stack.sealingKey))).toBe(false);
  });

  it.each(['reports', 'kiosks', 'kioskEvents', 'useReports', 'meta', 'outboxRelay', 'accessLog'] as const)(
    'give the %s function no Step Functions action at all',
    (name) => {
      // Act
      const states = grantsOf(name).filter((g) => g.action.startsWith('states:'));

      // Assert
      expect(states).toEqual([]);
      expect(
        (resources[functionId(name)]!.Properties!.Environment as { Variables: object }).Variables,
      ).not.toHaveProperty(workflows.followUp.envVar);
    },
  );

  it('give the meta function no data access at all', () => {
    // Arrange
    const grants = grantsOf('meta');

    // Act
    const actions = new Set(grants.map((g) => g.action.split(':')[0]));

    // Assert
    expect(actions).toEqual(new Set(['logs', 'xray']));
  });
});

// ---------------------------------------------------------------------------
// Data at rest, topics, schedule, user pool
// ---------------------------------------------------------------------------

describe('the data stores', () => {
  it('are rotating customer-managed keys for data at rest, sealing and the ops alarms topic, and one HMAC key for ids', () => {
    // Act
    const keys = template.findResources('AWS::KMS::Key') as Record<
      string,
      { Properties: Record<string, unknown> }
    >;

    // Assert
    expect(Object.keys(keys).sort()).toEqual(
      [
        logicalId(stack.dataKey),
        logicalId(stack.sealingKey),
        logicalId(stack.idKey),
        logicalId(stack.operations.topic.masterKey!),
      ].sort(),
    );
    for (const key of [stack.dataKey, stack.sealingKey, stack.operations.topic.masterKey!]) {
      expect(keys[logicalId(key)]!.Properties.EnableKeyRotation).toBe(true);
    }
    // KMS cannot rotate an HMAC key, and a new key would give a retried enrollment a new id.
    expect(keys[logicalId(stack.idKey)]!.Properties).toMatchObject({
      KeySpec: 'HMAC_256',
      KeyUsage: 'GENERATE_VERIFY_MAC',
    });
  });

  it('let only the functions that derive ids generate MACs with the id key, and nothing else with it', () => {
    // Arrange
    const idKey = logicalId(stack.idKey);

    // Act
    const users = functionEntries.map(([name]) => [
      name,
      grantsOf(name)
        .filter((grant) => grant.resource === idKey)
        .map((grant) => grant.action),
    ]);

    // Assert
    expect(users).toEqual(
      functionEntries.map(([name, declaration]) => [name, declaration.idMac ? ['kms:GenerateMac'] : []]),
    );
    expect(functions.enrollments.idMac).toBe(true);
  });

  it.each(tableEntries)(
    'keep the %s table on demand, recoverable to a point in time, encrypted with the data key and retained',
    (name, declaration) => {
      // Arrange
      const dataKey = { 'Fn::GetAtt': [logicalId(stack.dataKey), 'Arn'] };
      const keySchema = [
        { AttributeName: declaration.partitionKey.name, KeyType: 'HASH' },
        ...(declaration.sortKey ? [{ AttributeName: declaration.sortKey.name, KeyType: 'RANGE' }] : []),
      ];

      // Act
      const table = resources[tableId(name)]!;

      // Assert
      expect(table.Type).toBe('AWS::DynamoDB::Table');
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: dataKey },
        KeySchema: keySchema,
      });
      const indexes = (table.Properties!.GlobalSecondaryIndexes ?? []) as { IndexName: string }[];
      expect(indexes.map((index) => index.IndexName)).toEqual(
        (declaration.indexes ?? []).map((i) => i.indexName),
      );
      if (declaration.timeToLiveAttribute) {
        expect(table.Properties!.TimeToLiveSpecification).toEqual({
          AttributeName: declaration.timeToLiveAttribute,
          Enabled: true,
        });
      } else {
        expect(table.Properties!.TimeToLiveSpecification).toBeUndefined();
      }
    },
  );

  it('are all backed up by AWS Backup', () => {
    // Act
    const selections = Object.values(template.findResources('AWS::Backup::BackupSelection'));
    const covered = new Set(
      selections.flatMap((selection) =>
        referencedIds(
          (selection as { Properties: { BackupSelection: { Resources: unknown } } }).Properties
            .BackupSelection.Resources,
        ),
      ),
    );

    // Assert
    for (const [name] of tableEntries) expect(covered.has(tableId(name)), name).toBe(true);
  });
});

describe('the topics', () => {
  it.each(Object.keys(topics) as TopicName[])(
    'encrypt %s with the data key and refuse publishing without TLS',
    (name) => {
      // Arrange
      const id = topicId(name);

      // Act
      const topic = resources[id]!.Properties!;
      const policies = Object.values(template.findResources('AWS::SNS::TopicPolicy')).filter((policy) =>
        referencedIds((policy as { Properties: { Topics: unknown } }).Properties.Topics).includes(id),
      );

      // Assert
      expect(referencedIds(topic.KmsMasterKeyId)).toEqual([logicalId(stack.dataKey)]);
      expect(topic.TopicName).toMatch(new RegExp(`-${name}$`));
      expect(topic.DisplayName).toBe(topics[name].displayName);
      expect(policies).toHaveLength(1);
      const statements = (policies[0] as { Properties: { PolicyDocument: { Statement: unknown[] } } })
        .Properties.PolicyDocument.Statement;
      expect(statements).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    },
  );
});

describe('the scheduled functions', () => {
  const scheduled = functionEntries.filter(([, declaration]) => declaration.scheduleMinutes !== undefined);

  it('include the outbox relay every five minutes', () => {
    // Arrange: hand-written, so an empty schedule list cannot make the next test vacuous
    const outboxRelay = ['outboxRelay', 5];

    // Act
    const schedules = scheduled.map(([name, declaration]) => [name, declaration.scheduleMinutes]);

    // Assert
    expect(schedules).toContainEqual(outboxRelay);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('outboxRelay'), 'Arn'] } })],
    });
  });

  it.each(scheduled)(
    'run %s on its schedule and send failed runs to the encrypted DLQ',
    (name, declaration) => {
      // Arrange
      const fnId = functionId(name);
      const queueId = logicalId(stack.deadLetterQueue);

      // Act
      const rules = Object.values(template.findResources('AWS::Events::Rule')).filter((rule) =>
        referencedIds((rule as { Properties: { Targets: unknown } }).Properties.Targets).includes(fnId),
      ) as { Properties: Record<string, unknown> }[];
      const fn = resources[fnId]!.Properties!;
      const queue = resources[queueId]!.Properties!;

      // Assert
      expect(rules).toHaveLength(1);
      const minutes = declaration.scheduleMinutes!;
      expect(rules[0]!.Properties.ScheduleExpression).toBe(
        minutes % 60 === 0
          ? `rate(${minutes / 60} hour${minutes === 60 ? '' : 's'})`
          : `rate(${minutes} minute${minutes === 1 ? '' : 's'})`,
      );
      expect(referencedIds(fn.DeadLetterConfig)).toEqual([queueId]);
      expect(referencedIds(queue.KmsMasterKeyId)).toEqual([logicalId(stack.dataKey)]);
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: queueId }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    },
  );

  it('include the fleet sweep every 15 minutes', () => {
    // Act
    const schedules = scheduled.map(([name, declaration]) => [name, declaration.scheduleMinutes]);

    // Assert
    expect(schedules).toContainEqual(['fleetSweep', 15]);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(15 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [functionId('fleetSweep'), 'Arn'] } })],
    });
  });

  it('give the sweep sparse indexes that copy only what it reads, so a heartbeat writes little to them', () => {
    // Act
    const kiosks = resources[tableId('kiosks')]!.Properties!;
    const lots = resources[tableId('kioskLots')]!.Properties!;
    const indexes = (props: Record<string, unknown>) =>
      Object.fromEntries(
        (
          props.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[]
        ).map((index) => [index.IndexName, { keys: index.KeySchema, projection: index.Projection }]),
      );

    // Assert
    expect(indexes(kiosks).bySilence).toEqual({
      keys: [
        { AttributeName: 'watch', KeyType: 'HASH' },
        { AttributeName: 'silentAt', KeyType: 'RANGE' },
      ],
      projection: {
        ProjectionType: 'INCLUDE',
        NonKeyAttributes: ['siteId', 'lastSeenAt', 'offlineAfterMinutes'],
      },
    });
    expect(indexes(kiosks).byOutage).toMatchObject({ projection: { ProjectionType: 'INCLUDE' } });
    expect(indexes(lots).byExpiryAlert).toMatchObject({
      keys: [
        { AttributeName: 'alertWatch', KeyType: 'HASH' },
        { AttributeName: 'alertAt', KeyType: 'RANGE' },
      ],
    });
  });

  it('give the follow-up sweep a sparse keys-only index of supply checks, so it wakes only follow-ups in a gap', () => {
    // Act
    const enrollments = resources[tableId('enrollments')]!.Properties!;
    const bySupplyDue = (
      enrollments.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown; Projection: unknown }[]
    ).find((index) => index.IndexName === 'bySupplyDue');

    // Assert: only running follow-ups (followUpActive) with a supply check ahead (supplyDueAt) are in it.
    expect(bySupplyDue).toEqual({
      IndexName: 'bySupplyDue',
      KeySchema: [
        { AttributeName: 'followUpActive', KeyType: 'HASH' },
        { AttributeName: 'supplyDueAt', KeyType: 'RANGE' },
      ],
      Projection: { ProjectionType: 'KEYS_ONLY' },
    });
  });

  it('let the follow-up sweep restart, describe and wake follow-ups, and nothing else in Step Functions', () => {
    // Arrange
    const grants = grantsOf('followUpSweep');
    const followUp = workflowArn('followUp');

    // Act
    const states = grants.filter((g) => g.action.startsWith('states:'));

    // Assert
    expect(allows(grants, 'states:SendTaskSuccess', followUp)).toBe(true);
    expect(allows(grants, 'states:StartExecution', followUp)).toBe(true);
    expect(states.some((g) => g.action === 'states:*' || g.action === 'states:SendTaskFailure')).toBe(false);
    expect(new Set(states.map((g) => g.action))).toEqual(
      new Set(['states:StartExecution', 'states:SendTaskSuccess', 'states:DescribeExecution']),
    );
    // It reads its indexes and updates enrollments; it touches no task, contact or sealing key.
    expect(allows(grants, 'dynamodb:UpdateItem', tableId('enrollments'))).toBe(true);
    expect(grants.some((g) => g.resource === tableId('tasks'))).toBe(false);
    expect(grants.some((g) => g.resource === tableId('contacts'))).toBe(false);
    expect(grants.some((g) => g.resource === logicalId(stack.sealingKey))).toBe(false);
  });

  it('leave functions that serve only routes without a schedule or DLQ', () => {
    for (const [name, declaration] of functionEntries) {
      if (declaration.scheduleMinutes !== undefined) continue;
      expect(resources[functionId(name)]!.Properties!.DeadLetterConfig, name).toBeUndefined();
    }
  });
});

describe('the outbox stream', () => {
  const streamActions = [
    'dynamodb:DescribeStream',
    'dynamodb:GetRecords',
    'dynamodb:GetShardIterator',
    'dynamodb:ListStreams',
  ];
  /** The raw Resource of every statement of the function's policies that reaches a table stream. */
  const streamResourcesOf = (name: FunctionName) => {
    const [roleId] = referencedIds(resources[functionId(name)]!.Properties!.Role);
    return (
      Object.values(resources)
        .filter(
          (resource) =>
            resource.Type === 'AWS::IAM::ManagedPolicy' &&
            referencedIds(resource.Properties?.Roles).includes(roleId!),
        )
        .flatMap(
          (policy) =>
            (policy.Properties!.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] })
              .Statement,
        )
        // A table ARN does not cover its stream (`table/<name>/stream/...`): only a stream ARN or '*' does.
        .filter(
          (statement) =>
            JSON.stringify(statement.Resource).includes('StreamArn') ||
            (asArray(statement.Resource).includes('*') &&
              asArray(statement.Action as string | string[]).some((action) =>
                streamActions.includes(action),
              )),
        )
        .map((statement) => ({
          actions: asArray(statement.Action as string[]),
          resource: statement.Resource,
        }))
    );
  };

  it('is the outbox table’s, with new images, rows expiring by TTL and a sparse index of the unpublished ones', () => {
    // Act
    const outbox = resources[tableId('outbox')]!.Properties!;

    // Assert
    expect(outbox.StreamSpecification).toEqual({ StreamViewType: 'NEW_IMAGE' });
    expect(outbox.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(
      (outbox.GlobalSecondaryIndexes as { IndexName: string; KeySchema: unknown }[]).map((index) => [
        index.IndexName,
        index.KeySchema,
      ]),
    ).toEqual([
      [
        'byUnpublished',
        [
          { AttributeName: 'unpublished', KeyType: 'HASH' },
          { AttributeName: 'createdAt', KeyType: 'RANGE' },
        ],
      ],
    ]);
    for (const [name, declaration] of tableEntries) {
      if (name === 'outbox') continue;
      expect(resources[tableId(name)]!.Properties!.StreamSpecification, name).toBeUndefined();
      expect((declaration as TableDeclaration).stream, name).toBeUndefined();
    }
  });

  it('runs the relay on new rows only, with partial batch responses, bisection, bounded retries and an age limit', () => {
    // Act
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as {
      Properties: Record<string, unknown>;
    }[];

    // Assert
    expect(mappings).toHaveLength(1);
    const mapping = mappings[0]!.Properties;
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [tableId('outbox'), 'StreamArn'] });
    expect(referencedIds(mapping.FunctionName)).toEqual([functionId('outboxRelay')]);
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 25,
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 8,
      MaximumRecordAgeInSeconds: 6 * 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ eventName: ['INSERT'] }) }] },
    });
    expect(functions.outboxRelay.stream).toMatchObject({ table: 'outbox', events: ['INSERT'] });
  });

  it('sets aside what it gives up on in an encrypted, SSL-only queue the relay may send to, and alarms on it', () => {
    // Arrange
    const queue = stack.streamDeadLetterQueues.outboxRelay!;
    const queueId = logicalId(queue);

    // Act
    const mapping = (
      Object.values(template.findResources('AWS::Lambda::EventSourceMapping'))[0] as {
        Properties: { DestinationConfig: { OnFailure: { Destination: unknown } } };
      }
    ).Properties;
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as {
      Properties: { Dimensions?: { Name: string; Value: unknown }[]; MetricName?: string };
    }[];

    // Assert
    expect(referencedIds(mapping.DestinationConfig.OnFailure.Destination)).toEqual([queueId]);
    expect(referencedIds(resources[queueId]!.Properties!.KmsMasterKeyId)).toEqual([logicalId(stack.dataKey)]);
    expect(allows(grantsOf('outboxRelay'), 'sqs:SendMessage', queueId)).toBe(true);
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    expect(
      alarms.some(
        (alarm) =>
          alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          referencedIds(alarm.Properties.Dimensions?.map((dimension) => dimension.Value)).includes(queueId),
      ),
    ).toBe(true);
  });

  it('may be read by the relay alone, on that one stream', () => {
    for (const [name] of functionEntries) {
      // Act
      const statements = streamResourcesOf(name);

      // Assert
      if (name !== 'outboxRelay') {
        expect(statements, name).toEqual([]);
        continue;
      }
      expect(statements).toEqual([
        { actions: streamActions, resource: { 'Fn::GetAtt': [tableId('outbox'), 'StreamArn'] } },
      ]);
    }
  });

  it('leaves publishing to the relay alone: no request path publishes to SNS', () => {
    // Act
    const publishers = functionEntries
      .filter(([name]) => grantsOf(name).some((grant) => grant.action === 'sns:Publish'))
      .map(([name]) => name);

    // Assert
    expect(publishers).toEqual(['outboxRelay']);
  });
});

describe('the staff user pool', () => {
  it('admits only users an administrator creates, requires MFA and has the admin and outreach groups', () => {
    // Act / Assert
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      UserPoolTier: 'PLUS',
      Policies: {
        PasswordPolicy: Match.objectLike({
          MinimumLength: Match.anyValue(),
          RequireUppercase: true,
          RequireLowercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        }),
      },
    });
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')).map(
      (group) => (group as { Properties: { GroupName: string } }).Properties.GroupName,
    );
    expect(groups.sort()).toEqual(['admin', 'outreach']);
    // The SRP client, the terminal's (password then TOTP: npm run staff:aws) and the web app's (hosted UI only).
    const clients = Object.values(template.findResources('AWS::Cognito::UserPoolClient')).map((client) =>
      [
        ...((client as { Properties: { ExplicitAuthFlows?: string[] } }).Properties.ExplicitAuthFlows ?? []),
      ].sort(),
    );
    expect(clients).toEqual(
      expect.arrayContaining([
        ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_SRP_AUTH'],
        ['ALLOW_REFRESH_TOKEN_AUTH', 'ALLOW_USER_PASSWORD_AUTH'],
      ]),
    );
    expect(clients).toHaveLength(3);
  });

  it('signs the web app’s staff in through the hosted UI with an authorization code, no secret, back to its own address only', () => {
    // Act
    const client = resources[logicalId(stack.webApp.client)]!.Properties!;

    // Assert
    expect(client).toMatchObject({
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthScopes: expect.arrayContaining(['openid', 'email']),
      GenerateSecret: false,
      SupportedIdentityProviders: ['COGNITO'],
    });
    expect(client.AllowedOAuthFlows).not.toContain('implicit');
    expect((client.CallbackURLs as unknown[]).map((url) => referencedIds(url))).toEqual([
      [logicalId(stack.webApp.distribution)],
    ]);
    expect(client.ExplicitAuthFlows ?? []).not.toContain('ALLOW_USER_PASSWORD_AUTH');
    template.resourceCountIs('AWS::Cognito::UserPoolDomain', 1);
  });

  it('publishes the API URL, the user pool, its client and every topic as outputs', () => {
    // Act
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;

    // Assert
    expect(Object.keys(outputs)).toEqual(
      expect.arrayContaining(['ApiUrl', 'UserPoolId', 'UserPoolClientId']),
    );
    const topicOutputs = Object.values(outputs).flatMap((output) => referencedIds(output.Value));
    for (const name of Object.keys(topics) as TopicName[]) expect(topicOutputs).toContain(topicId(name));
  });
});

// ---------------------------------------------------------------------------
// cdk-nag
// ---------------------------------------------------------------------------

describe('cdk-nag', () => {
  it('runs both rule packs and leaves no finding unacknowledged', () => {
    // Arrange
    const packs = ['AwsSolutions', 'HIPAA.Security'];

    // Act
    const nagReports = report.pluginReports.filter((plugin) => packs.includes(plugin.pluginName));
    const unacknowledged = nagReports.flatMap((plugin) =>
      plugin.violations.flatMap((violation) =>
        violation.violatingConstructs.map(
          (construct) => `${violation.ruleName} at ${construct.constructPath}`,
        ),
      ),
    );

    // Assert
    expect(nagReports.map((plugin) => plugin.pluginName).sort()).toEqual(packs);
    expect(unacknowledged, `unacknowledged cdk-nag findings:\n${unacknowledged.join('\n')}\n`).toEqual([]);
    expect(synthError).toBeUndefined();
  });

  it('gives every acknowledgement a reason', () => {
    // Act
    const acknowledged = report.pluginReports.flatMap((plugin) => plugin.suppressedViolations ?? []);

    // Assert
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const violation of acknowledged)
      expect(violation.reason?.length, violation.ruleName).toBeGreaterThan(40);
  });
});

// ---------------------------------------------------------------------------
// The staff web app: S3 behind CloudFront, the Cognito hosted UI
// ---------------------------------------------------------------------------

describe('the staff web app in AWS', () => {
  const only = (type: string) => {
    const found = Object.entries(resources).filter(([, resource]) => resource.Type === type);
    expect(found, type).toHaveLength(1);
    return found[0]!;
  };

  it('keeps the page in a private, SSL-only bucket that only its distribution reads', () => {
    // Act
    const [bucketId, bucket] = only('AWS::S3::Bucket');
    const [, policy] = only('AWS::S3::BucketPolicy');
    const [distributionId, distribution] = only('AWS::CloudFront::Distribution');
    const statements = (policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] })
      .Statement;
    const reads = statements.filter(
      (statement) => statement.Effect === 'Allow' && statement.Action === 's3:GetObject',
    );
    const config = distribution.Properties!.DistributionConfig as {
      Origins: { OriginAccessControlId?: unknown; DomainName: unknown }[];
      DefaultCacheBehavior: { ViewerProtocolPolicy: string; AllowedMethods: string[] };
    };

    // Assert
    expect(bucket.Properties!.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(statements).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
    expect(reads).toHaveLength(1);
    expect(reads[0]!.Principal).toEqual({ Service: 'cloudfront.amazonaws.com' });
    expect(referencedIds(reads[0]!.Condition)).toContain(distributionId);
    expect(referencedIds(config.Origins[0]!.DomainName)).toEqual([bucketId]);
    expect(config.Origins[0]!.OriginAccessControlId).toBeDefined();
    expect(config.DefaultCacheBehavior).toMatchObject({
      ViewerProtocolPolicy: 'redirect-to-https',
      AllowedMethods: ['GET', 'HEAD'],
    });
  });

  it('lets the page load only its own files and talk only to the API and the hosted UI', () => {
    // Act
    const [, headers] = only('AWS::CloudFront::ResponseHeadersPolicy');
    const security = (
      headers.Properties!.ResponseHeadersPolicyConfig as { SecurityHeadersConfig: Record<string, unknown> }
    ).SecurityHeadersConfig;
    const csp = (security.ContentSecurityPolicy as { ContentSecurityPolicy: unknown }).ContentSecurityPolicy;
    const text = (csp as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]
      .map((part) => (typeof part === 'string' ? part : '<token>'))
      .join('');

    // Assert
    expect(text).toContain("default-src 'self'; script-src 'self'; style-src 'self'");
    expect(text).toMatch(
      /connect-src 'self' https:\/\/<token>\.execute-api\.<token>\.<token> https:\/\/bridgeway-prod-<token>\.auth\.<token>\.amazoncognito\.com;/,
    );
    expect(text).toContain("frame-ancestors 'none'");
    expect(text).not.toContain('unsafe-inline');
    expect(referencedIds(csp)).toContain(logicalId(stack.api));
    expect(security).toMatchObject({
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY' },
      StrictTransportSecurity: expect.objectContaining({ AccessControlMaxAgeSec: 31_536_000 }),
    });
  });

  it('writes config.json next to the page: the API’s address, the hosted UI and the web client', () => {
    // Act
    const [, deployment] = only('Custom::CDKBucketDeployment');
    const markers = deployment.Properties!.SourceMarkers as Record<string, unknown>[];

    // Assert: the page's files, then config.json, whose values CloudFormation fills in at deploy time
    expect(markers).toHaveLength(2);
    const filled = referencedIds(markers[1]);
    expect(filled).toContain(logicalId(stack.api));
    expect(filled).toContain(logicalId(stack.api.deploymentStage));
    expect(filled).toContain(logicalId(stack.webApp.client));
    expect(referencedIds(deployment.Properties!.DestinationBucketName)).toEqual([
      logicalId(stack.webApp.bucket),
    ]);
    expect(deployment.Properties!.DistributionPaths).toEqual(['/index.html', '/config.json']);
  });
});

// ---------------------------------------------------------------------------
// WAF: body size limits before API Gateway invokes anything
// ---------------------------------------------------------------------------

describe('the web ACL in front of the API', () => {
  const aclId = () => stack.resolve(stack.getLogicalId(stack.webAcl)) as string;
  const webAcl = () => resources[aclId()]!.Properties!;
  const rule = (name: string) =>
    (webAcl().Rules as { Name: string; Action: unknown; Statement: Record<string, unknown> }[]).find(
      (candidate) => candidate.Name === name,
    )!;
  const sizeOf = (statement: Record<string, unknown>) =>
    statement.SizeConstraintStatement as { Size: number; ComparisonOperator: string; FieldToMatch: unknown };

  it('is attached to the API stage', () => {
    // Act
    const associations = Object.values(template.findResources('AWS::WAFv2::WebACLAssociation')) as {
      Properties: { ResourceArn: unknown; WebACLArn: unknown };
    }[];

    // Assert
    expect(associations).toHaveLength(1);
    expect(referencedIds(associations[0]!.Properties.WebACLArn)).toEqual([aclId()]);
    expect(referencedIds(associations[0]!.Properties.ResourceArn)).toContain(
      logicalId(stack.api.deploymentStage),
    );
  });

  it('refuses a kiosk event body over 16,384 bytes with 413 and the contract error body', () => {
    // Act
    const kiosk = rule('KioskBodyLimit');
    const [path, size] = (kiosk.Statement.AndStatement as { Statements: Record<string, unknown>[] })
      .Statements;

    // Assert
    expect(path!.ByteMatchStatement).toMatchObject({
      SearchString: '/v1/kiosk/events',
      PositionalConstraint: 'ENDS_WITH',
      FieldToMatch: { UriPath: {} },
    });
    expect(sizeOf(size!)).toMatchObject({
      Size: 16_384,
      ComparisonOperator: 'GT',
      FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
    });
    expect(kiosk.Action).toEqual({
      Block: { CustomResponse: { ResponseCode: 413, CustomResponseBodyKey: 'PayloadTooLarge' } },
    });
    const body = (webAcl().CustomResponseBodies as Record<string, { Content: string; ContentType: string }>)
      .PayloadTooLarge!;
    expect(body.ContentType).toBe('APPLICATION_JSON');
    expect(JSON.parse(body.Content)).toEqual({
      error: { code: 'payload_too_large', message: expect.any(String) },
    });
  });

  it('refuses any other body over the staff limit of 64 KiB with 413, inspecting 64 KB of each body', () => {
    // Act
    const other = rule('BodyLimit');

    // Assert
    expect(sizeOf(other.Statement)).toMatchObject({ Size: 65_536, ComparisonOperator: 'GT' });
    expect(other.Action).toEqual(rule('KioskBodyLimit').Action);
    expect(webAcl().AssociationConfig).toEqual({
      RequestBody: { API_GATEWAY: { DefaultSizeInspectionLimit: 'KB_64' } },
    });
    expect(webAcl().DefaultAction).toEqual({ Allow: {} });
  });

  it('keeps no sampled requests and logs blocked requests only, with credentials redacted, encrypted', () => {
    // Act
    const [logging] = Object.values(template.findResources('AWS::WAFv2::LoggingConfiguration')) as {
      Properties: Record<string, unknown>;
    }[];
    const logGroups = Object.values(template.findResources('AWS::Logs::LogGroup')) as {
      Properties: Record<string, unknown>;
    }[];
    // The name ends with a suffix drawn when the stack is created (a token): look at its literal start.
    const wafLogs = logGroups.find((group) =>
      String(JSON.stringify(group.Properties.LogGroupName)).includes('"aws-waf-logs-'),
    );

    // Assert
    for (const candidate of [...(webAcl().Rules as { VisibilityConfig: unknown }[]), webAcl()])
      expect(candidate.VisibilityConfig).toMatchObject({ SampledRequestsEnabled: false });
    expect(referencedIds(logging!.Properties.ResourceArn)).toEqual([aclId()]);
    expect(logging!.Properties.RedactedFields).toEqual(
      expect.arrayContaining([
        { SingleHeader: { Name: 'authorization' } },
        { SingleHeader: { Name: 'x-kiosk-signature' } },
      ]),
    );
    expect(logging!.Properties.LoggingFilter).toMatchObject({ DefaultBehavior: 'DROP' });
    expect(referencedIds(wafLogs!.Properties.KmsKeyId)).toEqual([logicalId(stack.dataKey)]);
  });
});
