import { Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';

/** State names: the embedded runtime maps its local handlers by them. */
export const FOLLOW_UP_STATES = {
  plan: 'Plan',
  route: 'Route',
  notifyOutreach: 'NotifyOutreach',
  notifyEscalation: 'NotifyEscalation',
  markNotified: 'MarkNotified',
  park: 'Park',
  done: 'FollowUpDone',
} as const;

export interface FollowUpResources {
  /** The followUpSteps Lambda (functions/follow-up/handler.ts). */
  readonly steps: lambda.IFunction;
  readonly outreach: sns.ITopic;
  readonly escalation: sns.ITopic;
}

/**
 * The MOUD follow-up workflow, one Standard execution per enrollment, JSONPath
 * only (aws-local-stepfunctions ignores JSONata). Only `enrollmentId` and the
 * plan's ids pass through it; the rules live in functions/core/moud/followup.ts.
 *
 *   Plan ──▶ Route ──notify──▶ Notify(Outreach|Escalation) ──▶ MarkNotified ──▶ Plan
 *                   ├─park────▶ Park (task token; wakes on timeout or when an event
 *                   │           or a completed task sends it success) ──▶ Plan
 *                   └─end─────▶ FollowUpDone
 *
 * Every step retries transient failures with backoff. A step that keeps failing fails
 * the execution in that very state (no catch-all Fail state), so an operator's
 * RedriveExecution resumes the follow-up where it stopped; the follow-up sweep restarts
 * an enrollment whose execution died and raises the alarm. Every step is idempotent,
 * so a redrive or a restart is safe.
 */
export function followUpDefinition(scope: Construct, resources: FollowUpResources): sfn.IChainable {
  const S = FOLLOW_UP_STATES;
  // The execution's input (ids only: the enrollment and the correlation id of the request that started it),
  // so each step logs under the correlation id of that request; absent fields are simply absent.
  const executionInput = sfn.JsonPath.objectAt('$$.Execution.Input');
  const retryTransient = <T extends sfn.TaskStateBase>(state: T, errors = ['States.ALL']) =>
    state.addRetry({
      errors,
      maxAttempts: 6,
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxDelay: Duration.minutes(2),
      jitterStrategy: sfn.JitterType.FULL,
    });

  const plan = new tasks.LambdaInvoke(scope, S.plan, {
    lambdaFunction: resources.steps,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      step: 'plan',
      enrollmentId: sfn.JsonPath.stringAt('$.enrollmentId'),
      execution: executionInput,
    }),
    resultPath: '$.plan',
    taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
  });
  retryTransient(plan);

  const markNotified = new tasks.LambdaInvoke(scope, S.markNotified, {
    lambdaFunction: resources.steps,
    payloadResponseOnly: true,
    payload: sfn.TaskInput.fromObject({
      step: 'markNotified',
      enrollmentId: sfn.JsonPath.stringAt('$.enrollmentId'),
      taskId: sfn.JsonPath.stringAt('$.plan.taskId'),
      notice: sfn.JsonPath.stringAt('$.plan.notice'),
      execution: executionInput,
    }),
    resultPath: sfn.JsonPath.DISCARD,
    taskTimeout: sfn.Timeout.duration(Duration.seconds(60)),
  });
  retryTransient(markNotified);

  const notify = (id: string, topic: sns.ITopic) =>
    retryTransient(
      new tasks.SnsPublish(scope, id, {
        topic,
        message: sfn.TaskInput.fromJsonPathAt('$.plan.message'),
        messageAttributes: {
          kind: { value: sfn.JsonPath.stringAt('$.plan.kind') },
          taskId: { value: sfn.JsonPath.stringAt('$.plan.taskId') },
          messageId: { value: sfn.JsonPath.stringAt('$.plan.messageId') },
        },
        resultPath: sfn.JsonPath.DISCARD,
      }),
    ).next(markNotified);

  const park = new tasks.LambdaInvoke(scope, S.park, {
    lambdaFunction: resources.steps,
    integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
    payload: sfn.TaskInput.fromObject({
      step: 'park',
      enrollmentId: sfn.JsonPath.stringAt('$.enrollmentId'),
      token: sfn.JsonPath.taskToken,
      seq: sfn.JsonPath.numberAt('$.plan.seq'),
      until: sfn.JsonPath.stringAt('$.plan.until'),
      execution: executionInput,
    }),
    resultPath: sfn.JsonPath.DISCARD,
    // Until the next due time: the plan's own wake-up. A timeout is the normal way on.
    taskTimeout: sfn.Timeout.at('$.plan.waitSeconds'),
  });
  // A failed Park Lambda is retried; its timeout (States.Timeout, which States.TaskFailed does not
  // match) is the normal way on, to plan again.
  retryTransient(park, ['States.TaskFailed']);
  park.addCatch(plan, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });

  const route = new sfn.Choice(scope, S.route)
    .when(
      sfn.Condition.and(
        sfn.Condition.stringEquals('$.plan.action', 'notify'),
        sfn.Condition.stringEquals('$.plan.notice', 'outreach'),
      ),
      notify(S.notifyOutreach, resources.outreach),
    )
    .when(
      sfn.Condition.and(
        sfn.Condition.stringEquals('$.plan.action', 'notify'),
        sfn.Condition.stringEquals('$.plan.notice', 'escalation'),
      ),
      notify(S.notifyEscalation, resources.escalation),
    )
    .when(sfn.Condition.stringEquals('$.plan.action', 'park'), park)
    .otherwise(new sfn.Succeed(scope, S.done));

  markNotified.next(plan);
  park.next(plan);
  return plan.next(route);
}
