/**
 * Operations: the alarms an on-call person wants, routed to an `ops` SNS topic,
 * and one CloudWatch dashboard. Every alarm is described in docs/operations.md
 * under its id (the construct id below), with what it means and what to do.
 *
 * The functions' own metrics (lib/manifest.ts `metrics`) are emitted with
 * Powertools Metrics under the namespace `Bridgeway` and the dimension
 * `service` = the stack name, so two stages in one account never mix.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import type * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { type FunctionName, type MetricName, metrics as metricDeclaration } from './manifest.js';
import { type AlarmSettings, removalPolicy, type StageConfig } from './stages.js';

export interface OperationsProps {
  readonly stage: StageConfig;
  readonly api: apigateway.RestApi;
  readonly functions: Readonly<Record<FunctionName, NodejsFunction>>;
  readonly deadLetterQueue: sqs.IQueue;
  /** Where each stream trigger sets aside what it gave up on, by function. */
  readonly streamDeadLetterQueues: Partial<Record<FunctionName, sqs.IQueue>>;
  readonly stateMachines: readonly sfn.StateMachine[];
}

const FIVE_MINUTES = Duration.minutes(5);

/** Ids of the alarms this construct creates (construct ids; docs/operations.md has a section for each). */
export const ALARM_IDS = {
  api5xx: 'Api5xxRate',
  lambdaErrors: (fn: string) => `${fn}Errors`,
  lambdaThrottles: (fn: string) => `${fn}Throttles`,
  dlq: 'ScheduledDeadLetterQueueDepth',
  streamDlq: (fn: string) => `${fn}StreamDeadLetterQueueDepth`,
  executionsFailed: (machine: string) => `${machine}ExecutionsFailed`,
  executionsTimedOut: (machine: string) => `${machine}ExecutionsTimedOut`,
  outboxAge: 'OutboxOldestUnpublished',
  followUpsRestarted: 'FollowUpsRestarted',
  noKioskEvents: 'NoKioskEvents',
} as const;

export class Operations extends Construct {
  /** Where every alarm (and its return to OK) is published; subscribe on-call people to it. */
  readonly topic: sns.Topic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;
  private readonly service: string;
  private readonly settings: AlarmSettings;

  constructor(scope: Construct, id: string, props: OperationsProps) {
    super(scope, id);
    const stack = this.stack;
    this.service = stack.stackName;
    this.settings = props.stage.alarms;

    // Its own key: CloudWatch must be able to encrypt for this topic, and nothing else of the stack's data.
    const key = new kms.Key(this, 'TopicKey', {
      description: 'Bridgeway ops alarms topic',
      enableKeyRotation: true,
      removalPolicy: removalPolicy(props.stage),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsOfThisAccount',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', {
      topicName: `${stack.stackName}-ops`,
      displayName: `Bridgeway ${props.stage.name} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.grantPublish(new iam.ServicePrincipal('cloudwatch.amazonaws.com'));

    // --- API ---------------------------------------------------------------------------------------
    const requests = props.api.metricCount({ period: FIVE_MINUTES, statistic: 'Sum' });
    const serverErrors = props.api.metricServerError({ period: FIVE_MINUTES, statistic: 'Sum' });
    const clientErrors = props.api.metricClientError({ period: FIVE_MINUTES, statistic: 'Sum' });
    const errorRate = new cloudwatch.MathExpression({
      expression: '100 * FILL(errors, 0) / requests',
      usingMetrics: { errors: serverErrors, requests },
      label: 'API 5xx (% of requests)',
      period: FIVE_MINUTES,
    });
    this.alarm(ALARM_IDS.api5xx, errorRate, {
      threshold: this.settings.api5xxPercent,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      description: `More than ${this.settings.api5xxPercent} % of API requests answered 5xx over 5 minutes.`,
    });

    // --- Functions ---------------------------------------------------------------------------------
    for (const [name, fn] of Object.entries(props.functions) as [FunctionName, NodejsFunction][]) {
      const label = name[0]!.toUpperCase() + name.slice(1);
      this.alarm(ALARM_IDS.lambdaErrors(label), fn.metricErrors({ period: FIVE_MINUTES, statistic: 'Sum' }), {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description: `The ${name} function failed (an uncaught error, a timeout or out of memory).`,
      });
      this.alarm(
        ALARM_IDS.lambdaThrottles(label),
        fn.metricThrottles({ period: FIVE_MINUTES, statistic: 'Sum' }),
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          description: `Lambda throttled the ${name} function (account or function concurrency reached).`,
        },
      );
    }

    // --- Scheduled work and workflows --------------------------------------------------------------
    this.alarm(
      ALARM_IDS.dlq,
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: FIVE_MINUTES,
        statistic: 'Maximum',
      }),
      {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description:
          'A scheduled run (outbox relay and escalations, follow-up sweep, fleet sweep) failed and its event is in the dead-letter queue.',
      },
    );
    for (const [name, queue] of Object.entries(props.streamDeadLetterQueues) as [
      FunctionName,
      sqs.IQueue,
    ][]) {
      this.alarm(
        ALARM_IDS.streamDlq(name[0]!.toUpperCase() + name.slice(1)),
        queue.metricApproximateNumberOfMessagesVisible({ period: FIVE_MINUTES, statistic: 'Maximum' }),
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          description:
            `The ${name} function gave up on a batch of its table stream after its retries (or the records ` +
            'grew too old): the batch’s place in the stream is in the queue. Its outbox rows stay unpublished ' +
            'until the relay’s schedule republishes them.',
        },
      );
    }
    for (const machine of props.stateMachines) {
      const label = machine.node.id;
      this.alarm(
        ALARM_IDS.executionsFailed(label),
        machine.metricFailed({ period: FIVE_MINUTES, statistic: 'Sum' }),
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          description:
            'A follow-up execution failed (a step kept failing after its retries): redrive it once the cause is fixed.',
        },
      );
      this.alarm(
        ALARM_IDS.executionsTimedOut(label),
        machine.metricTimedOut({ period: FIVE_MINUTES, statistic: 'Sum' }),
        {
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          description: 'A follow-up execution timed out.',
        },
      );
    }

    // --- Business health ---------------------------------------------------------------------------
    this.alarm(
      ALARM_IDS.outboxAge,
      this.metric('outboxOldestAgeSeconds', { period: Duration.minutes(15), statistic: 'Maximum' }),
      {
        threshold: this.settings.outboxAgeMinutes * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        // The relay reports every 5 minutes, 0 when the outbox is empty: no value for 15 minutes means it is not running.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        description:
          `A notification has waited more than ${this.settings.outboxAgeMinutes} minutes in the outbox ` +
          '(SNS publishes keep failing, or the relay is not running).',
      },
    );
    this.alarm(
      ALARM_IDS.followUpsRestarted,
      this.metric('followUpsRestarted', { period: Duration.hours(1) }),
      {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        description:
          'The follow-up sweep restarted a follow-up whose execution had died (failed, timed out, aborted or never started).',
      },
    );
    const minutes = this.settings.noKioskEventsMinutes;
    if (minutes !== null) {
      const period = Duration.minutes(minutes);
      const arrived = new cloudwatch.MathExpression({
        expression: 'FILL(recorded, 0) + FILL(duplicates, 0)',
        usingMetrics: {
          recorded: this.metric('kioskEventsRecorded', { period, statistic: 'Sum' }),
          duplicates: this.metric('kioskEventDuplicates', { period, statistic: 'Sum' }),
        },
        label: 'Kiosk events received',
        period,
      });
      this.alarm(ALARM_IDS.noKioskEvents, arrived, {
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
        description: `No kiosk event arrived from any kiosk for ${minutes} minutes.`,
      });
    }

    this.dashboard = this.createDashboard(props, { requests, serverErrors, clientErrors, errorRate });
  }

  /** A metric the functions emit (lib/manifest.ts `metrics`) for this stage. */
  metric(name: MetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: metricDeclaration.namespace,
      metricName: metricDeclaration.names[name],
      dimensionsMap: { service: this.service },
      period: FIVE_MINUTES,
      statistic: 'Sum',
      ...options,
    });
  }

  private get stack(): Stack {
    return Stack.of(this);
  }

  private alarm(
    id: string,
    metric: cloudwatch.Metric | cloudwatch.MathExpression,
    options: Omit<cloudwatch.CreateAlarmOptions, 'evaluationPeriods' | 'alarmDescription'> & {
      evaluationPeriods?: number;
      description: string;
    },
  ): cloudwatch.Alarm {
    const { description, ...rest } = options;
    const alarm = metric.createAlarm(this, id, {
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      ...rest,
      alarmDescription: `${description} Runbook: docs/operations.md, section ${id}.`,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    alarm.addOkAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
    return alarm;
  }

  private createDashboard(
    props: OperationsProps,
    api: Record<'requests' | 'serverErrors' | 'clientErrors' | 'errorRate', cloudwatch.IMetric>,
  ): cloudwatch.Dashboard {
    const functions = Object.entries(props.functions) as [FunctionName, NodejsFunction][];
    const perFunction = (title: string, pick: (fn: NodejsFunction) => cloudwatch.IMetric) =>
      new cloudwatch.GraphWidget({
        title,
        width: 12,
        left: functions.map(([name, fn]) =>
          (pick(fn) as cloudwatch.Metric).with({ label: name, period: FIVE_MINUTES }),
        ),
      });
    const business = (title: string, names: MetricName[]) =>
      new cloudwatch.GraphWidget({
        title,
        width: 12,
        left: names.map((name) => this.metric(name, { label: metricDeclaration.names[name] })),
      });

    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `${this.stack.stackName}-operations`,
      defaultInterval: Duration.days(1),
    });
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', width: 24, alarms: this.alarms }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'API requests and errors',
        width: 12,
        left: [api.requests, api.clientErrors, api.serverErrors],
      }),
      new cloudwatch.GraphWidget({ title: 'API 5xx rate (%)', width: 12, left: [api.errorRate] }),
    );
    dashboard.addWidgets(
      business('Kiosk and MOUD events', [
        'kioskEventsRecorded',
        'kioskEventDuplicates',
        'moudEventsRecorded',
        'moudEventDuplicates',
      ]),
      business('Notifications, tasks and follow-up restarts', [
        'notificationsPublished',
        'tasksOpened',
        'tasksEscalated',
        'followUpsRestarted',
      ]),
    );
    dashboard.addWidgets(
      business('Kiosk fleet: silent kiosks, quarantines, lot expiry alerts', [
        'kiosksSilent',
        'stockQuarantined',
        'lotExpiryAlerts',
      ]),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Outbox',
        width: 12,
        left: [this.metric('outboxOldestAgeSeconds', { statistic: 'Maximum' })],
        right: [this.metric('outboxPending', { statistic: 'Maximum' })],
      }),
      new cloudwatch.GraphWidget({
        title: 'Follow-up executions',
        width: 12,
        left: props.stateMachines.flatMap((machine) => [
          machine.metricStarted({ period: FIVE_MINUTES }),
          machine.metricSucceeded({ period: FIVE_MINUTES }),
          machine.metricFailed({ period: FIVE_MINUTES }),
          machine.metricTimedOut({ period: FIVE_MINUTES }),
        ]),
        right: [
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
            period: FIVE_MINUTES,
            label: 'DLQ messages',
          }),
        ],
      }),
    );
    dashboard.addWidgets(
      perFunction('Lambda errors', (fn) => fn.metricErrors({ statistic: 'Sum' })),
      perFunction('Lambda throttles', (fn) => fn.metricThrottles({ statistic: 'Sum' })),
    );
    dashboard.addWidgets(
      perFunction('Lambda duration p99 (ms)', (fn) => fn.metricDuration({ statistic: 'p99' })),
      perFunction('Lambda invocations', (fn) => fn.metricInvocations({ statistic: 'Sum' })),
    );
    return dashboard;
  }
}
