/**
 * AWS list prices the cost model uses: us-east-1, on-demand, in US dollars, as published on
 * the services' pricing pages on the date below (free tiers left out: a program should plan
 * without them). Check them against the AWS Pricing Calculator before a budget is signed;
 * change a figure here and `npm run bench` recomputes every cost.
 */
export const PRICES = {
  date: '2026-11-30',
  region: 'us-east-1',
  sources: [
    'https://aws.amazon.com/dynamodb/pricing/on-demand/ (on-demand throughput halved 2024-11-01: $0.625 per million WRU, $0.125 per million RRU)',
    'https://aws.amazon.com/api-gateway/pricing/',
    'https://aws.amazon.com/lambda/pricing/ (Arm)',
    'https://aws.amazon.com/step-functions/pricing/ (Standard)',
    'https://aws.amazon.com/sns/pricing/',
    'https://aws.amazon.com/kms/pricing/',
    'https://aws.amazon.com/waf/pricing/',
    'https://aws.amazon.com/cloudfront/pricing/ (North America, HTTPS requests)',
    'https://aws.amazon.com/cognito/pricing/ (Plus tier: threat protection)',
    'https://aws.amazon.com/cloudwatch/pricing/',
    'https://aws.amazon.com/backup/pricing/',
    'https://aws.amazon.com/xray/pricing/ (default sampling: the first request each second and 5 % of the rest)',
    'https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-lambda.html (function URL behind CloudFront OAC: POST bodies need x-amz-content-sha256)',
  ],
  dynamodb: {
    perMillionWriteUnits: 0.625,
    perMillionReadUnits: 0.125,
    storagePerGbMonth: 0.25,
    pitrPerGbMonth: 0.2,
    /** DynamoDB Streams read by Lambda triggers: free. */
    streamReadsByLambda: 0,
  },
  apiGateway: { restPerMillion: 3.5, httpPerMillion: 1.0 },
  lambda: { perMillionRequests: 0.2, perGbSecondArm: 0.0000133334 },
  stepFunctions: { perThousandTransitions: 0.025 },
  /** E-mail deliveries: $2.00 per 100,000 (checked 2026-11-30; the earlier $2 per million was a slip). */
  sns: { perMillionPublishes: 0.5, perMillionEmailDeliveries: 20.0, perMillionHttpsDeliveries: 0.6 },
  kms: { perKeyMonth: 1.0, perTenThousandRequests: 0.03 },
  /**
   * Body inspection past the default 16 KB costs extra only for requests whose body is larger than
   * 16 KB (docs.aws.amazon.com/waf/latest/developerguide/web-acl-setting-body-inspection-limit.html):
   * kiosk bodies never are (their limit is 16 KiB).
   */
  waf: { perAclMonth: 5.0, perRuleMonth: 1.0, perMillionRequests: 0.6, perMillionPer16KbOverDefault: 0.3 },
  cloudfront: { perMillionHttpsRequests: 1.0 },
  cognito: { plusPerMau: 0.02 },
  cloudwatch: {
    /** Per metric an alarm watches: a metric-math alarm over two metrics costs two. */
    perStandardAlarmMonth: 0.1,
    /** Each custom metric (name × dimensions) the functions emit through Powertools Metrics (EMF). */
    perCustomMetricMonth: 0.3,
    perDashboardMonth: 3.0,
    logsIngestPerGb: 0.5,
    logsStoragePerGbMonth: 0.03,
  },
  backup: { warmStoragePerGbMonth: 0.1 },
  xray: { perMillionTracesRecorded: 5.0 },
} as const;
