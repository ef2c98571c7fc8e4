import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, tableName } from './dynamo.js';

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
  /** Random, per enrollment: makes its task ids opaque (core/tasks.ts enrollmentTaskId). */
  readonly taskKey?: string;
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
