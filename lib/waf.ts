import { ArnFormat, type RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import type { Construct } from 'constructs';
import { bodyLimitBytes, type RouteDeclaration, routes } from './manifest.js';

/** The contract's error body for a refused size, as WAF answers it. */
export const PAYLOAD_TOO_LARGE_BODY = JSON.stringify({
  error: { code: 'payload_too_large', message: 'The request body is too large.' },
});

const PAYLOAD_TOO_LARGE_KEY = 'PayloadTooLarge';

/** A blocked request is answered 413 with the contract's error body. */
const refuse413: wafv2.CfnWebACL.RuleActionProperty = {
  block: { customResponse: { responseCode: 413, customResponseBodyKey: PAYLOAD_TOO_LARGE_KEY } },
};

// Sampled requests would keep request headers (bearer tokens, kiosk signatures): metrics only.
const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: false,
});

/** A body larger than `bytes`; one larger than what WAF inspects (64 KB here) counts as larger. */
const bodyLargerThan = (bytes: number): wafv2.CfnWebACL.StatementProperty => ({
  sizeConstraintStatement: {
    fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
    comparisonOperator: 'GT',
    size: bytes,
    textTransformations: [{ priority: 0, type: 'NONE' }],
  },
});

/** The URI path ends with the route's path (the stage name may come first, a custom domain has none). */
const pathIs = (path: string): wafv2.CfnWebACL.StatementProperty => ({
  byteMatchStatement: {
    fieldToMatch: { uriPath: {} },
    positionalConstraint: 'ENDS_WITH',
    searchString: path,
    textTransformations: [{ priority: 0, type: 'NONE' }],
  },
});

/**
 * API Gateway accepts bodies up to 10 MB, so without this the size limits (lib/manifest.ts
 * `bodyLimitBytes`) would be enforced only inside Lambda, after the whole body was received and paid
 * for. The web ACL on the API stage refuses a kiosk body over 16 KiB and any other body over the
 * staff limit with 413 and the contract's error body, before API Gateway invokes anything. It logs
 * blocked requests only, with credentials redacted, to an encrypted log group.
 */
export function addRequestFirewall(
  scope: Construct,
  api: apigateway.RestApi,
  dataKey: kms.IKey,
  retention: logs.RetentionDays,
  /** The stage's removal policy, and a suffix new with each creation of the stack (lib/stack.ts). */
  lifetime: { removalPolicy: RemovalPolicy; creationSuffix: string },
): wafv2.CfnWebACL {
  const stack = Stack.of(scope);
  const kioskPaths = (routes as readonly RouteDeclaration[])
    .filter((route) => route.auth.kind === 'kiosk')
    .map((route) => route.path);
  const kioskPath =
    kioskPaths.length === 1
      ? pathIs(kioskPaths[0] as string)
      : { orStatement: { statements: kioskPaths.map(pathIs) } };
  const otherLimit = Math.max(bodyLimitBytes.staff, bodyLimitBytes.public);

  const acl = new wafv2.CfnWebACL(scope, 'ApiWebAcl', {
    name: `${stack.stackName}-api`,
    description: 'Bridgeway API - request body size limits, answered 413 with the contract error body',
    scope: 'REGIONAL',
    defaultAction: { allow: {} },
    // Inspect up to 64 KB of a body, so that the staff limit (64 KiB) is measured, not guessed.
    associationConfig: { requestBody: { API_GATEWAY: { defaultSizeInspectionLimit: 'KB_64' } } },
    customResponseBodies: {
      [PAYLOAD_TOO_LARGE_KEY]: { contentType: 'APPLICATION_JSON', content: PAYLOAD_TOO_LARGE_BODY },
    },
    rules: [
      {
        name: 'KioskBodyLimit',
        priority: 0,
        action: refuse413,
        statement: { andStatement: { statements: [kioskPath, bodyLargerThan(bodyLimitBytes.kiosk)] } },
        visibilityConfig: visibility('KioskBodyLimit'),
      },
      {
        name: 'BodyLimit',
        priority: 1,
        action: refuse413,
        statement: bodyLargerThan(otherLimit),
        visibilityConfig: visibility('BodyLimit'),
      },
    ],
    visibilityConfig: visibility(`${stack.stackName}-api`),
  });

  new wafv2.CfnWebACLAssociation(scope, 'ApiWebAclAssociation', {
    resourceArn: api.deploymentStage.stageArn,
    webAclArn: acl.attrArn,
  });

  // WAF delivers logs only to log groups whose name starts with aws-waf-logs-. The suffix lets a destroyed
  // stage be deployed again while a retained log group of the last one remains.
  const logGroupName = `aws-waf-logs-${stack.stackName}-api-${lifetime.creationSuffix}`;
  const logGroup = new logs.LogGroup(scope, 'ApiWebAclLogs', {
    logGroupName,
    retention,
    encryptionKey: dataKey,
    removalPolicy: lifetime.removalPolicy,
  });
  const logging = new wafv2.CfnLoggingConfiguration(scope, 'ApiWebAclLogging', {
    resourceArn: acl.attrArn,
    // The log group's ARN without the ":*" CDK's logGroupArn carries.
    logDestinationConfigs: [
      stack.formatArn({
        service: 'logs',
        resource: 'log-group',
        resourceName: logGroupName,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
    ],
    redactedFields: [
      { singleHeader: { Name: 'authorization' } },
      { singleHeader: { Name: 'x-kiosk-signature' } },
      { queryString: {} },
    ],
    loggingFilter: {
      DefaultBehavior: 'DROP',
      Filters: [
        {
          Behavior: 'KEEP',
          Requirement: 'MEETS_ANY',
          Conditions: [{ ActionCondition: { Action: 'BLOCK' } }],
        },
      ],
    },
  });
  logging.node.addDependency(logGroup);
  return acl;
}
