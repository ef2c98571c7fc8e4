import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { cancellationReasons, documentClient, tableName } from './dynamo.js';

type TransactItems = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>;

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

export type Written =
  | { readonly status: 'created' }
  | { readonly status: 'exists'; readonly stored: Record<string, unknown> }
  | { readonly status: 'missing' }
  | { readonly status: 'stale'; readonly current: Record<string, unknown> };

/**
 * One transaction: `first` is the idempotency guard (a Put conditioned on its
 * key not existing, asking for ALL_OLD), then the rest. `missingIndex` names
 * an item whose failed condition means the parent does not exist.
 */
export async function writeOnce(items: TransactItems, missingIndex?: number): Promise<Written> {
  try {
    await documentClient.send(new TransactWriteCommand({ TransactItems: items }));
    return { status: 'created' };
  } catch (error) {
    const reasons = cancellationReasons(error);
    if (!reasons) throw error;
    if (reasons[0]?.Code === 'ConditionalCheckFailed' && reasons[0].Item) {
      return { status: 'exists', stored: reasons[0].Item };
    }
    const parent = missingIndex === undefined ? undefined : reasons[missingIndex];
    if (parent?.Code === 'ConditionalCheckFailed') {
      // The parent's condition failed: gone, or changed since it was read (its current state comes back).
      return parent.Item ? { status: 'stale', current: parent.Item } : { status: 'missing' };
    }
    if (missingIndex !== undefined && reasons.some((reason) => reason.Code === 'TransactionConflict')) {
      return { status: 'stale', current: {} };
    }
    throw error;
  }
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
