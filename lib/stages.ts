/**
 * Stages: one stack per stage (`npx cdk deploy -c stage=prod`), so dev and prod
 * can share an account. What differs between stages is plain data, read from
 * `config/stages.json` (or the file `-c stagesFile=<path>` names, to keep real
 * addresses out of the repository) and checked here:
 *
 *   retainData     prod keeps tables, keys, log groups and the user pool when the
 *                  stack is destroyed (and turns on deletion and termination
 *                  protection); any other stage can be destroyed whole
 *   tags           added to every resource, besides Project and Stage
 *   subscriptions  per topic (restock, kiosk-ops, outreach, outreach-escalation, ops):
 *                  email, sms or https endpoints that receive its messages
 *   alarms         thresholds of the operations alarms (lib/ops.ts)
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnResource, RemovalPolicy, type Stack, TagManager, Tags } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type { IConstruct } from 'constructs';
import * as z from 'zod';
import { type TopicName, topics } from './manifest.js';

/** The topic operators' alarms go to (lib/ops.ts), next to the manifest's topics. */
export const OPS_TOPIC = 'ops';
export type SubscribableTopic = TopicName | typeof OPS_TOPIC;
const subscribable = [...(Object.keys(topics) as TopicName[]), OPS_TOPIC] as const;

const subscriptionSchema = z.discriminatedUnion('protocol', [
  z.strictObject({ protocol: z.literal('email'), endpoint: z.email() }),
  z.strictObject({
    protocol: z.literal('sms'),
    endpoint: z.string().regex(/^\+[1-9]\d{1,14}$/, 'must be an E.164 phone number'),
  }),
  z.strictObject({
    protocol: z.literal('https'),
    endpoint: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
    /** Deliver the message body alone, without the SNS envelope (for webhooks that expect JSON). */
    rawMessageDelivery: z.boolean().optional(),
  }),
]);
export type Subscription = z.infer<typeof subscriptionSchema>;

const alarmsSchema = z.strictObject({
  /** Alarm when no kiosk event at all was recorded for this long; null turns it off (a stage without kiosks). */
  noKioskEventsMinutes: z.int().min(5).max(1440).nullable().default(240),
  /** Alarm when the oldest unpublished notification is older than this. */
  outboxAgeMinutes: z.int().min(5).max(1440).default(15),
  /** Alarm when more than this share of API requests answer 5xx over 5 minutes (in percent). */
  api5xxPercent: z.number().min(0.1).max(100).default(1),
});
export type AlarmSettings = z.infer<typeof alarmsSchema>;

const stageSettingsSchema = z.strictObject({
  retainData: z.boolean().default(false),
  tags: z.record(z.string().regex(/^[\w .:/=+@-]{1,128}$/), z.string().max(256)).default({}),
  subscriptions: z.partialRecord(z.enum(subscribable), z.array(subscriptionSchema)).default({}),
  alarms: alarmsSchema.default(alarmsSchema.parse({})),
});

const stagesFileSchema = z.strictObject({
  $comment: z.string().optional(),
  stages: z.record(z.string(), z.unknown()),
});

/** A stage name: part of the stack name and of physical names, so short and plain. */
export const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export interface StageConfig extends z.infer<typeof stageSettingsSchema> {
  readonly name: string;
}

export const DEFAULT_STAGE = 'dev';
const REPOSITORY_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_STAGES_FILE = join(REPOSITORY_ROOT, 'config/stages.json');

/** One stage's settings from raw data (a stages file's entry); a stage not in the file gets the defaults. */
export function stageConfig(name: string, settings: unknown = {}): StageConfig {
  if (!STAGE_NAME.test(name)) {
    throw new Error(
      `stage "${name}": a stage name is 1-20 lowercase letters, digits or dashes, starting with a letter`,
    );
  }
  const parsed = stageSettingsSchema.safeParse(settings ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || '(stage)'}: ${issue.message}`,
    );
    throw new Error(`stage "${name}" settings are not valid:\n  ${problems.join('\n  ')}`);
  }
  return { name, ...parsed.data };
}

/** The stage named by `-c stage=<name>` (default dev), with its settings from the stages file. */
export function loadStage(name: string | undefined, file: string = DEFAULT_STAGES_FILE): StageConfig {
  const stage = name || DEFAULT_STAGE;
  const path = resolve(file);
  if (!existsSync(path)) {
    if (file !== DEFAULT_STAGES_FILE) throw new Error(`stages file ${path} does not exist`);
    return stageConfig(stage);
  }
  const parsed = stagesFileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`${path}: expected {"stages": {"<name>": {...}}}`);
  return stageConfig(stage, parsed.data.stages[stage]);
}

export const stackName = (stage: StageConfig) => `Bridgeway-${stage.name}`;

/** What a destroy of the stack does to stateful resources of this stage. */
export const removalPolicy = (stage: StageConfig) =>
  stage.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

/** The tags every resource of the stage carries. */
export function stageTags(stage: StageConfig): Record<string, string> {
  return { Project: 'Bridgeway', Stage: stage.name, ...stage.tags };
}

export function tagStage(stack: Stack, stage: StageConfig): void {
  for (const [key, value] of Object.entries(stageTags(stage))) Tags.of(stack).add(key, value);
}

/** Every taggable CloudFormation resource under `scope` that lacks one of `expected` (for tests and checks). */
export function untaggedResources(scope: IConstruct, expected: Record<string, string>): string[] {
  const missing: string[] = [];
  for (const construct of scope.node.findAll()) {
    if (!CfnResource.isCfnResource(construct) || !TagManager.isTaggable(construct)) continue;
    const tags = construct.tags.tagValues();
    if (Object.entries(expected).some(([key, value]) => tags[key] !== value))
      missing.push(construct.node.path);
  }
  return missing;
}

/**
 * Subscribes each configured endpoint to its topic. Email and HTTPS endpoints
 * must confirm (SNS sends a confirmation message); SMS needs the account out of
 * the SNS SMS sandbox or the number verified in it.
 */
export function subscribeEndpoints(
  stage: StageConfig,
  topicsByName: Readonly<Record<SubscribableTopic, sns.ITopic>>,
): void {
  for (const [topicName, list] of Object.entries(stage.subscriptions) as [
    SubscribableTopic,
    Subscription[],
  ][]) {
    const topic = topicsByName[topicName];
    for (const subscription of list) {
      if (subscription.protocol === 'email') {
        topic.addSubscription(new subscriptions.EmailSubscription(subscription.endpoint));
      } else if (subscription.protocol === 'sms') {
        topic.addSubscription(new subscriptions.SmsSubscription(subscription.endpoint));
      } else {
        topic.addSubscription(
          new subscriptions.UrlSubscription(subscription.endpoint, {
            protocol: sns.SubscriptionProtocol.HTTPS,
            rawMessageDelivery: subscription.rawMessageDelivery,
          }),
        );
      }
    }
  }
}
