import { GetCommand, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { backoff } from '../../core/backoff.js';
import { type Fetched, mergePage, type Sortable, type StreamPosition } from '../../core/paging.js';
import {
  type HoldActor,
  type HoldChange,
  heldAfter,
  holdRefusal,
  TASK_SHARDS,
  type TaskStatus,
  taskIndexKeys,
} from '../../core/staff/tasks.js';
import { auditPut } from '../audit.js';
import { cancellationReasons, documentClient, tableName } from '../dynamo.js';
import type { TransactItems } from '../idempotent.js';

export interface TaskRecord {
  readonly taskId: string;
  readonly kind: string;
  readonly siteId: string;
  readonly dueAt: string;
  readonly createdAt: string;
  readonly status: 'open' | 'completed';
  readonly contactId?: string;
  readonly outcome?: string;
  readonly [field: string]: unknown;
}

/** Fields that may be listed: ids, site, kind, times and state. Never contact details. */
const LISTED = [
  'taskId',
  'kind',
  'siteId',
  'dueAt',
  'status',
  'createdAt',
  'kioskId',
  /** A kiosk contact task's dispense event: which request it answers. */
  'eventId',
  'enrollmentId',
  'urgent',
  'escalatedAt',
  'completedAt',
  'outcome',
  'heldBy',
  'heldSince',
  'doNotContact',
] as const;

/** A task as lists show it: the listed fields only, never contact details. */
export function summaryOf(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    LISTED.filter((field) => item[field] !== undefined).map((field) => [field, item[field]]),
  );
}

/**
 * What a task list may be narrowed to. Site, kind and holder are filters (a page reads past the tasks
 * they leave out, until it has `limit` or the shard ends); overdue is a key condition on `dueAt`.
 */
export interface TaskFilter {
  readonly siteId?: string;
  readonly kind?: string;
  readonly heldBy?: string;
  /** Only tasks due before this time (ISO 8601): overdue ones. */
  readonly dueBefore?: string;
}

function filterQuery(filter: TaskFilter) {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const filters: string[] = [];
  const equal = (attribute: string, value: string | undefined) => {
    if (value === undefined) return;
    names[`#${attribute}`] = attribute;
    values[`:${attribute}`] = value;
    filters.push(`#${attribute} = :${attribute}`);
  };
  equal('siteId', filter.siteId);
  equal('kind', filter.kind);
  equal('heldBy', filter.heldBy);
  if (filter.dueBefore !== undefined) values[':dueBefore'] = filter.dueBefore;
  return {
    condition: filter.dueBefore !== undefined ? 'dueAt < :dueBefore' : undefined,
    filter: filters.length ? filters.join(' AND ') : undefined,
    names: filters.length ? names : undefined,
    values,
  };
}

export const TASK_INDEX = 'byStatusShard';

/** One stream per (status, shard), in this order; a cursor holds one position per stream. */
export function taskStreams(statuses: readonly TaskStatus[]): { status: TaskStatus; shard: number }[] {
  return statuses.flatMap((status) => Array.from({ length: TASK_SHARDS }, (_, shard) => ({ status, shard })));
}

/** Up to `limit` items of one shard of a status after `position`, in due order, and whether more follow. */
async function fetchStream(
  stream: { status: TaskStatus; shard: number },
  position: StreamPosition,
  limit: number,
  extra: {
    condition?: string;
    filter?: string;
    values?: Record<string, unknown>;
    names?: Record<string, string>;
  } = {},
): Promise<Fetched<Record<string, unknown> & Sortable>> {
  const partition = `${stream.status}#${stream.shard}`;
  const items: (Record<string, unknown> & Sortable)[] = [];
  let startKey: Record<string, unknown> | undefined =
    position === 'start' || position === 'done'
      ? undefined
      : { statusShard: partition, dueAt: position[0], taskId: position[1] };
  for (;;) {
    const page = await documentClient.send(
      new QueryCommand({
        TableName: tableName('tasks'),
        IndexName: TASK_INDEX,
        KeyConditionExpression: `statusShard = :partition${extra.condition ? ` AND ${extra.condition}` : ''}`,
        ...(extra.filter ? { FilterExpression: extra.filter } : {}),
        ...(extra.names ? { ExpressionAttributeNames: extra.names } : {}),
        ExpressionAttributeValues: { ':partition': partition, ...extra.values },
        ExclusiveStartKey: startKey,
        Limit: limit - items.length,
      }),
    );
    items.push(...((page.Items ?? []) as (Record<string, unknown> & Sortable)[]));
    startKey = page.LastEvaluatedKey;
    // A page may stop short (1 MB, or filtered items): go on until `limit` items or the end.
    if (!startKey || items.length >= limit) return { items, more: Boolean(startKey) };
  }
}

export interface TaskPage {
  readonly tasks: Record<string, unknown>[];
  /** Where the next page starts; undefined on the last page. */
  readonly positions?: StreamPosition[];
}

/**
 * One page of tasks of the given statuses in due order: each shard is read from its own position
 * for at most `limit` items, and the shards are merged (functions/core/paging.ts).
 */
export async function listTaskPage(
  statuses: readonly TaskStatus[],
  limit: number,
  positions?: readonly StreamPosition[],
  filter: TaskFilter = {},
): Promise<TaskPage> {
  const streams = taskStreams(statuses);
  const from = positions ?? streams.map((): StreamPosition => 'start');
  const query = filterQuery(filter);
  const fetched = await Promise.all(
    streams.map((stream, s) =>
      from[s] === 'done'
        ? Promise.resolve({ items: [], more: false })
        : fetchStream(stream, from[s] as StreamPosition, limit, query),
    ),
  );
  const page = mergePage(fetched, from, limit);
  return {
    tasks: page.items.map(summaryOf),
    positions: page.more ? page.positions : undefined,
  };
}

export async function getTask(taskId: string): Promise<TaskRecord | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('tasks'), Key: { taskId }, ConsistentRead: true }),
  );
  return out.Item as TaskRecord | undefined;
}

export async function getContact(contactId: string): Promise<{ sealed: string } | undefined> {
  const out = await documentClient.send(
    new GetCommand({ TableName: tableName('contacts'), Key: { contactId } }),
  );
  return out.Item as { sealed: string } | undefined;
}

export type CompleteOutcome =
  | { readonly status: 'completed'; readonly task: TaskRecord }
  | { readonly status: 'already'; readonly task: TaskRecord }
  | { readonly status: 'missing' };

/**
 * Closes an open task, in one transaction with `alongside` (the report counters of its outcome,
 * which depend on the task as read): conditioned on the task being still open. A task completed
 * meanwhile comes back as it is; a concurrent transaction on the same counters is tried again.
 */
export async function completeTask(
  taskId: string,
  outcome: string,
  actor: string,
  at: Date,
  alongside: (task: TaskRecord) => TransactItems = () => [],
): Promise<CompleteOutcome> {
  for (let attempt = 1; ; attempt += 1) {
    const task = await getTask(taskId);
    if (!task) return { status: 'missing' };
    if (task.status !== 'open') return { status: 'already', task };
    const completed = {
      ...task,
      status: 'completed' as const,
      statusShard: taskIndexKeys(taskId, 'completed').statusShard,
      outcome,
      completedAt: at.toISOString(),
      completedBy: actor,
    };
    try {
      await updateTaskWith(
        taskId,
        {
          UpdateExpression:
            'SET #status = :completed, statusShard = :shard, outcome = :outcome, completedAt = :at, completedBy = :actor',
          ConditionExpression: 'attribute_exists(taskId) AND #status = :open',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':completed': 'completed',
            ':shard': completed.statusShard,
            ':open': 'open',
            ':outcome': outcome,
            ':at': completed.completedAt,
            ':actor': actor,
          },
        },
        alongside(task),
      );
      return { status: 'completed', task: completed };
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (!reasons) throw error;
      // Completed meanwhile: read it again and answer from what it is now.
      if (reasons[0]?.Code === 'ConditionalCheckFailed') continue;
      if (attempt >= MAX_COMPLETE_ATTEMPTS) throw error;
      await backoff(attempt);
    }
  }
}

type TaskUpdate = Omit<NonNullable<TransactItems[number]['Update']>, 'TableName' | 'Key'>;

/** One transaction: a conditional update of the task, and the items written with it. */
function updateTaskWith(taskId: string, update: TaskUpdate, alongside: TransactItems) {
  return documentClient.send(
    new TransactWriteCommand({
      TransactItems: [
        { Update: { TableName: tableName('tasks'), Key: { taskId }, ...update } },
        ...alongside,
      ],
    }),
  );
}

/** A completion cancelled by concurrent transactions (the same counters) is tried this often. */
const MAX_COMPLETE_ATTEMPTS = 8;

/**
 * Kiosk contact tasks open and not escalated yet (follow-up tasks of enrollments are escalated by
 * their workflow): those past their escalation time, and when the next one falls due.
 */
export async function kioskEscalations(now: Date): Promise<{ due: TaskRecord[]; nextAt?: string }> {
  const found = await Promise.all(
    taskStreams(['open']).map(async (stream) => {
      const items: TaskRecord[] = [];
      let position: StreamPosition = 'start';
      for (;;) {
        const page = await fetchStream(stream, position, 100, {
          filter: '#source = :kiosk AND attribute_not_exists(escalatedAt)',
          names: { '#source': 'source' },
          values: { ':kiosk': 'kiosk' },
        });
        items.push(...(page.items as unknown as TaskRecord[]));
        const last = page.items.at(-1);
        if (!page.more || !last) return items;
        position = [last.dueAt, last.taskId];
      }
    }),
  );
  const pending = found.flat();
  const at = now.toISOString();
  const due = pending.filter((task) => String(task.escalateAt) <= at);
  const later = pending.map((task) => String(task.escalateAt)).filter((escalateAt) => escalateAt > at);
  return { due, nextAt: later.sort()[0] };
}

/**
 * Marks a kiosk contact task escalated, and writes `alsoWrite` (its notice, its counters) in the same
 * transaction, conditioned on the task being open and not escalated yet: a re-run or a concurrent
 * completion writes nothing. False when nothing was written: the task was completed or escalated
 * meanwhile, or another transaction held one of the items (the relay's next run finds it still due).
 */
export async function markEscalated(taskId: string, at: Date, alsoWrite: TransactItems): Promise<boolean> {
  try {
    await updateTaskWith(
      taskId,
      {
        UpdateExpression: 'SET escalatedAt = :at',
        ConditionExpression: '#status = :open AND attribute_not_exists(escalatedAt)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':at': at.toISOString(), ':open': 'open' },
      },
      alsoWrite,
    );
    return true;
  } catch (error) {
    if (cancellationReasons(error)) return false;
    throw error;
  }
}

export type HoldOutcome =
  | { readonly status: 'changed' | 'already'; readonly task: Record<string, unknown> }
  | { readonly status: 'completed' | 'held'; readonly task: Record<string, unknown> }
  | { readonly status: 'missing' };

/** How many times a change of holder is tried when a concurrent transaction on the task cancels it. */
const HOLD_ATTEMPTS = 8;

/** The conditional update of one change of holder (functions/core/staff/tasks.ts `holdRefusal` says why one fails). */
function holdUpdate(taskId: string, change: HoldChange, actor: HoldActor, at: Date) {
  const names = { '#status': 'status' };
  const open = { ':open': 'open' };
  const base = { TableName: tableName('tasks'), Key: { taskId }, ExpressionAttributeNames: names };
  switch (change.kind) {
    case 'claim':
      return {
        ...base,
        UpdateExpression: 'SET heldBy = :me, heldSince = :at',
        ConditionExpression: '#status = :open AND attribute_not_exists(heldBy)',
        ExpressionAttributeValues: { ...open, ':me': actor.id, ':at': at.toISOString() },
      };
    case 'handover':
      return {
        ...base,
        UpdateExpression: 'SET heldBy = :to, heldSince = :at, handedOverBy = :me',
        ConditionExpression: actor.admin
          ? '#status = :open AND (attribute_not_exists(heldBy) OR heldBy <> :to)'
          : '#status = :open AND (attribute_not_exists(heldBy) OR (heldBy = :me AND heldBy <> :to))',
        ExpressionAttributeValues: { ...open, ':me': actor.id, ':to': change.to, ':at': at.toISOString() },
      };
    case 'release':
      return {
        ...base,
        UpdateExpression: 'REMOVE heldBy, heldSince, handedOverBy',
        ConditionExpression: actor.admin
          ? '#status = :open AND attribute_exists(heldBy)'
          : '#status = :open AND heldBy = :me',
        ExpressionAttributeValues: actor.admin ? open : { ...open, ':me': actor.id },
      };
  }
}

/**
 * Claims, hands over or releases an open task, and records who did it in the audit trail in the same
 * transaction. The task is read first: a change that is refused, or already made (the same request
 * again), writes nothing. The write is conditioned on what the rules need, so a change made meanwhile
 * by someone else is read again and judged again; a transaction cancelled by a concurrent one is tried again.
 */
export async function changeHolder(
  taskId: string,
  change: HoldChange,
  actor: HoldActor,
  at: Date,
): Promise<HoldOutcome> {
  const audit = auditPut(
    `task:${taskId}`,
    actor.id,
    change.kind,
    at,
    change.kind === 'handover' ? { to: change.to } : {},
  );
  for (let attempt = 1; ; attempt += 1) {
    const task = await getTask(taskId);
    const refusal = holdRefusal(task, change, actor);
    if (!task || refusal === 'missing') return { status: 'missing' };
    if (refusal) return { status: refusal, task: summaryOf(task) };
    try {
      await documentClient.send(
        new TransactWriteCommand({
          TransactItems: [{ Update: holdUpdate(taskId, change, actor, at) }, { Put: audit }],
        }),
      );
      return { status: 'changed', task: summaryOf(heldAfter(task, change, actor, at)) };
    } catch (error) {
      // Cancelled: the task changed since it was read (judge it again), or a concurrent transaction.
      if (!cancellationReasons(error) || attempt >= HOLD_ATTEMPTS) throw error;
      if (attempt > 1) await backoff(attempt);
    }
  }
}
