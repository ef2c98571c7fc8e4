import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { SiteSource } from '../core/sites.js';
import { documentClient, tableName } from './dynamo.js';
import type { TransactItems } from './idempotent.js';

const COUNTERS: Record<SiteSource, string> = {
  kiosk: 'kiosks',
  useReport: 'useReports',
  enrollment: 'enrollments',
};

/**
 * The site's entry, moved in the same transaction as the fact that uses it: first seen (when, in
 * what, which id, by whom) is set once; the count of its source goes up by one.
 */
export function siteUse(
  siteId: string,
  source: SiteSource,
  ref: string,
  actor: string | undefined,
  at: Date,
): TransactItems[number] {
  return {
    Update: {
      TableName: tableName('sites'),
      Key: { siteId },
      UpdateExpression:
        'SET firstSeenAt = if_not_exists(firstSeenAt, :at), firstSeenIn = if_not_exists(firstSeenIn, :source), ' +
        'firstSeenRef = if_not_exists(firstSeenRef, :ref), firstSeenBy = if_not_exists(firstSeenBy, :actor), ' +
        'lastSeenAt = :at ADD #count :one',
      ExpressionAttributeNames: { '#count': COUNTERS[source] },
      ExpressionAttributeValues: {
        ':at': at.toISOString(),
        ':source': source,
        ':ref': ref,
        ':actor': actor ?? 'unknown',
        ':one': 1,
      },
    },
  };
}

/** One page of the sites table (a scan: a program has tens to hundreds of sites). */
export async function listSites(
  limit: number,
  after?: string,
): Promise<{ items: Record<string, unknown>[]; last?: string }> {
  const out = await documentClient.send(
    new ScanCommand({
      TableName: tableName('sites'),
      Limit: limit,
      ExclusiveStartKey: after === undefined ? undefined : { siteId: after },
    }),
  );
  return { items: out.Items ?? [], last: out.LastEvaluatedKey?.siteId as string | undefined };
}
