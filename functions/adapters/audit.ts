import { randomUUID } from 'node:crypto';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient, queryAll, tableName } from './dynamo.js';

/** An audit entry: who did what to which subject, when. Kept apart, append-only. */
export function auditPut(
  subject: string,
  actor: string,
  action: string,
  at: Date,
  details: Record<string, string> = {},
) {
  return {
    TableName: tableName('audit'),
    Item: {
      subject,
      entryId: `${at.toISOString()}#${randomUUID()}`,
      actor,
      action,
      at: at.toISOString(),
      ...details,
    },
  };
}

export async function recordAudit(
  subject: string,
  actor: string,
  action: string,
  at: Date,
  details?: Record<string, string>,
) {
  await documentClient.send(new PutCommand(auditPut(subject, actor, action, at, details)));
}

/** Every audit entry about `subject`, oldest first (entry ids start with their time). */
export async function auditEntries(subject: string): Promise<Record<string, unknown>[]> {
  return queryAll({
    TableName: tableName('audit'),
    KeyConditionExpression: 'subject = :subject',
    ExpressionAttributeValues: { ':subject': subject },
    ConsistentRead: true,
  });
}
