import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3deploy from 'aws-cdk-lib/aws-s3-deployment';
import { Construct } from 'constructs';
import { ManagedPolicyRole } from './managed-policy-role.js';

const repositoryRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

export interface StaffWebAppProps {
  readonly userPool: cognito.UserPool;
  /** Encrypts the log group of the function that copies the files into the bucket. */
  readonly dataKey: kms.IKey;
  readonly logRetention: logs.RetentionDays;
  readonly api: apigateway.RestApi;
  /** Globally unique prefix of the Cognito hosted UI's domain (lower case, digits, hyphens). */
  readonly domainPrefix: string;
  /** A directory already built (tests); by default the page is built with Vite at synth time. */
  readonly assets?: string;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The page's files: `web/` built by the repository's own Vite into the asset at synth time (no
 * Docker), the same build `npm start` serves, or a directory given ready-made.
 */
function siteSource(assets?: string): s3deploy.ISource {
  if (assets) return s3deploy.Source.asset(assets);
  const web = join(repositoryRoot, 'web');
  return s3deploy.Source.asset(web, {
    exclude: ['dist', 'node_modules'],
    assetHashType: AssetHashType.SOURCE,
    bundling: {
      image: DockerImage.fromRegistry('local-bundling-only'),
      local: {
        tryBundle(outputDir: string) {
          const vite = join(dirname(require.resolve('vite/package.json')), 'bin/vite.js');
          execFileSync(
            process.execPath,
            [vite, 'build', '--config', join(web, 'vite.config.ts'), '--outDir', outputDir, '--emptyOutDir'],
            { cwd: repositoryRoot, stdio: ['ignore', 'ignore', 'inherit'] },
          );
          return true;
        },
      },
    },
  });
}

/**
 * The staff web app in AWS: its static files in a private S3 bucket that only this CloudFront
 * distribution reads (origin access control), strict security headers on every answer, sign-in
 * through the Cognito hosted UI with the authorization code and PKCE (a public client, no secret),
 * and `config.json` written next to the page with the API's address, the hosted UI's domain and the
 * client id. The API allows this origin, and no other, in CORS (lib/stack.ts).
 */
export class StaffWebApp extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly domain: cognito.UserPoolDomain;
  readonly client: cognito.UserPoolClient;
  readonly deployment: s3deploy.BucketDeployment;
  /** The role of the function that copies the files into the bucket at deploy time. */
  readonly copierRole: ManagedPolicyRole;
  /** `https://<distribution domain>`: the only origin the API answers in CORS. */
  readonly origin: string;

  constructor(scope: Construct, id: string, props: StaffWebAppProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      // Only built files, rebuilt from the repository at every deploy: kept or emptied with the stage's data.
      removalPolicy: props.removalPolicy,
      autoDeleteObjects: props.removalPolicy === RemovalPolicy.DESTROY,
    });

    this.domain = props.userPool.addDomain('StaffHostedUi', {
      cognitoDomain: { domainPrefix: props.domainPrefix },
    });
    const hostedUi = `https://${props.domainPrefix}.auth.${stack.region}.amazoncognito.com`;
    // The API's origin from its id alone (not the stage URL, which would depend on every method).
    const apiOrigin = `https://${props.api.restApiId}.execute-api.${stack.region}.${stack.urlSuffix}`;

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment:
        'Bridgeway staff web app: the page loads only its own files and talks only to the API and Cognito',
      securityHeadersBehavior: {
        contentSecurityPolicy: {
          contentSecurityPolicy: [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data: blob:",
            `connect-src 'self' ${apiOrigin} ${hostedUi}`,
            "font-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            `form-action 'self' ${hostedUi}`,
            "frame-ancestors 'none'",
          ].join('; '),
          override: true,
        },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          override: true,
        },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `${stack.stackName} staff web app`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
    });
    this.origin = `https://${this.distribution.distributionDomainName}`;

    this.client = props.userPool.addClient('StaffWebClient', {
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: [`${this.origin}/`],
        logoutUrls: [`${this.origin}/`],
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });

    // The function CDK provides to copy the files: its own encrypted log group, and a role whose permissions
    // live in a customer-managed policy (no AWS-managed policy, no inline policy).
    const copierLogs = new logs.LogGroup(this, 'FilesCopierLogs', {
      retention: props.logRetention,
      encryptionKey: props.dataKey,
      removalPolicy: props.removalPolicy,
    });
    this.copierRole = new ManagedPolicyRole(this, 'FilesCopierRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Copies the staff web app into its bucket at deploy time',
    });
    copierLogs.grantWrite(this.copierRole);

    this.deployment = new s3deploy.BucketDeployment(this, 'Files', {
      destinationBucket: this.bucket,
      role: this.copierRole,
      logGroup: copierLogs,
      sources: [
        siteSource(props.assets),
        s3deploy.Source.jsonData('config.json', {
          mode: 'cognito',
          apiUrl: props.api.url,
          cognito: { domain: hostedUi, clientId: this.client.userPoolClientId },
        }),
      ],
      distribution: this.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      prune: false,
      memoryLimit: 256,
    });
  }
}
