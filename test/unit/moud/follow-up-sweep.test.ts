/**
 * The follow-up sweep's supply-gap part, with mocked DynamoDB and Step Functions: the workflow parks
 * until its next checkpoint only, so supply gaps are found here, from the sparse index bySupplyDue
 * (only follow-ups whose supply check has fallen due), and only those follow-ups are woken.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { handler } from '../../../functions/follow-up-sweep/handler.js';
import { lambdaContext } from '../../support/events.js';
import { silenceLogger, stubEnvironment, TABLE } from '../handlers/fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);
const sfn = mockClient(SFNClient);
const NOW = new Date('2026-11-20T15:00:00.000Z');

type Run = { done: Record<string, number>; failed: number; nextDueAt?: string };
const sweep = () => (handler as unknown as (e: unknown, c: unknown) => Promise<Run>)({}, lambdaContext);

/** What the sparse index holds: follow-ups whose supply check is due by now, and the next one ahead. */
let supplyDue: { enrollmentId: string; supplyDueAt: string }[];
let supplyAhead: { enrollmentId: string; supplyDueAt: string } | undefined;
let queries: QueryCommandInput[];

beforeEach(() => {
  ddb.reset();
  sfn.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  silenceLogger();
  supplyDue = [];
  supplyAhead = undefined;
  queries = [];
  ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
    queries.push(input);
    const items =
      input.IndexName === 'bySupplyDue'
        ? input.Limit === 1
          ? supplyAhead
            ? [supplyAhead]
            : []
          : supplyDue
        : []; // byFollowUpDue: nobody overdue, nothing ahead
    return { Items: items, Count: items.length, ScannedCount: items.length };
  });
  ddb.on(UpdateCommand).callsFake((input: UpdateCommandInput) => ({
    Attributes: { enrollmentId: input.Key?.enrollmentId, parkToken: `token-${input.Key?.enrollmentId}` },
  }));
  sfn.on(SendTaskSuccessCommand).resolves({});
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the supply sweep', () => {
  it('asks the sparse index only for running follow-ups whose supply check has fallen due by now', async () => {
    await sweep();

    const dueQuery = queries.find((query) => query.IndexName === 'bySupplyDue' && query.Limit !== 1);
    expect(dueQuery).toMatchObject({
      TableName: TABLE.enrollments,
      KeyConditionExpression: 'followUpActive = :yes AND supplyDueAt <= :now',
      ExpressionAttributeValues: { ':yes': 'yes', ':now': NOW.toISOString() },
    });
  });

  it('wakes each follow-up in a gap, and only those, claiming each once under a condition', async () => {
    supplyDue = [
      { enrollmentId: 'E-gap-1', supplyDueAt: '2026-11-20T09:00:00.000Z' },
      { enrollmentId: 'E-gap-2', supplyDueAt: '2026-11-20T14:59:00.000Z' },
    ];

    const run = await sweep();

    expect(run.done.supplyWakes).toBe(2);
    const claims = ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
    expect(claims.map((claim) => claim.Key)).toEqual([
      { enrollmentId: 'E-gap-1' },
      { enrollmentId: 'E-gap-2' },
    ]);
    expect(claims[0]).toMatchObject({
      UpdateExpression: 'SET parkedUntil = :now REMOVE supplyDueAt ADD changeSeq :one',
      ConditionExpression: 'followUpActive = :yes AND supplyDueAt = :due',
      ExpressionAttributeValues: { ':due': '2026-11-20T09:00:00.000Z', ':now': NOW.toISOString() },
    });
    expect(sfn.commandCalls(SendTaskSuccessCommand).map((call) => call.args[0].input.taskToken)).toEqual([
      'token-E-gap-1',
      'token-E-gap-2',
    ]);
  });

  it('does not wake a follow-up whose supply check moved or was judged since the index was read', async () => {
    supplyDue = [{ enrollmentId: 'E-moved', supplyDueAt: '2026-11-20T09:00:00.000Z' }];
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'moved', $metadata: {} }));

    const run = await sweep();

    expect(run.done.supplyWakes).toBe(0);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });

  it('wakes nobody when no supply check is due, and says when the next one falls due', async () => {
    supplyAhead = { enrollmentId: 'E-later', supplyDueAt: '2026-11-23T09:00:00.000Z' };

    const run = await sweep();

    expect(run.done.supplyWakes).toBe(0);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
    expect(run.nextDueAt).toBe('2026-11-23T09:00:00.000Z');
  });
});
