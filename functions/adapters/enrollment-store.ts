import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, isConditionalCheckFailed, queryAll, tableName } from './dynamo.js';

export interface EnrollmentRecord {
  readonly enrollmentId: string;
  readonly participantRef: string;
  readonly siteId: string;
  readonly enrolledOn: string;
  readonly enrolledAt: string;
  readonly medication: string;
  readonly overdosesPrior12m: number;
  readonly consentOutreach: boolean;
  readonly consentPart2: boolean;
  readonly fingerprint: string;
  readonly contactId?: string;
  readonly doseDays?: Set<string>;
  readonly injectionDays?: Set<string>;
  readonly visitDays?: Set<string>;
  readonly judged?: Set<string>;
  readonly openTasks?: Set<string>;
  readonly endedOn?: string;
  readonly endReason?: string;
  readonly eventSeq?: number;
  readonly retained?: Record<string, boolean>;
  readonly changeSeq?: number;
  readonly parkToken?: string;
  readonly followUpEndedAt?: string;
}

export async function getEnrollment(enrollmentId: string): Promise<EnrollmentRecord | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('enrollments'), Key: { enrollmentId }, ConsistentRead: true }),
  );
  return out.Item as EnrollmentRecord | undefined;
}

/**
 * Tells the follow-up workflow that something changed: bumps `changeSeq` and
 * hands back the token of the parked execution, if any. The Park step stores
 * its token only if `changeSeq` is what its plan saw, so a change is never missed.
 */
export async function touchEnrollment(
  enrollmentId: string,
  closedTaskId?: string,
): Promise<string | undefined> {
  const out = await documentClient.send(
    new UpdateCommand({
      TableName: tableName('enrollments'),
      Key: { enrollmentId },
      UpdateExpression: closedTaskId ? 'ADD changeSeq :one DELETE openTasks :closed' : 'ADD changeSeq :one',
      ConditionExpression: 'attribute_exists(enrollmentId)',
      ExpressionAttributeValues: {
        ':one': 1,
        ...(closedTaskId ? { ':closed': new Set([closedTaskId]) } : {}),
      },
      ReturnValues: 'ALL_NEW',
    }),
  );
  return (out.Attributes as EnrollmentRecord | undefined)?.parkToken;
}

export interface RunningFollowUp {
  readonly enrollmentId: string;
  readonly executionName?: string;
  readonly restarts?: number;
  readonly parkedUntil: string;
}

/** Follow-ups still running that should have been heard from before `before` (the sparse index). */
export async function overdueFollowUps(before: string): Promise<RunningFollowUp[]> {
  return (await queryAll({
    TableName: tableName('enrollments'),
    IndexName: 'byFollowUpDue',
    KeyConditionExpression: 'followUpActive = :yes AND parkedUntil < :before',
    ExpressionAttributeValues: { ':yes': 'yes', ':before': before },
    ProjectionExpression: 'enrollmentId, executionName, restarts, parkedUntil',
  })) as unknown as RunningFollowUp[];
}

/** When the earliest running follow-up should next be heard from. */
export async function nextFollowUpDue(): Promise<string | undefined> {
  const out = await documentClient.send(
    new QueryCommand({
      TableName: tableName('enrollments'),
      IndexName: 'byFollowUpDue',
      KeyConditionExpression: 'followUpActive = :yes',
      ExpressionAttributeValues: { ':yes': 'yes' },
      ProjectionExpression: 'parkedUntil',
      Limit: 1,
    }),
  );
  return out.Items?.[0]?.parkedUntil as string | undefined;
}

/**
 * Claims the restart of a follow-up under a new execution name, once: only if the
 * enrollment still names the execution found dead and the follow-up still runs. The
 * sweep looks again at `retryAt` if the new execution is not heard from either.
 */
export async function claimRestart(
  followUp: RunningFollowUp,
  name: string,
  retryAt: string,
): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName('enrollments'),
        Key: { enrollmentId: followUp.enrollmentId },
        UpdateExpression: 'SET executionName = :name, parkedUntil = :retryAt ADD restarts :one',
        ConditionExpression:
          'followUpActive = :yes AND (executionName = :old OR (attribute_not_exists(executionName) AND :old = :id))',
        ExpressionAttributeValues: {
          ':name': name,
          ':retryAt': retryAt,
          ':one': 1,
          ':yes': 'yes',
          ':old': followUp.executionName ?? followUp.enrollmentId,
          ':id': followUp.enrollmentId,
        },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionalCheckFailed(error)) return false;
    throw error;
  }
}
