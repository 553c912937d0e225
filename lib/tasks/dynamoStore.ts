/**
 * The DynamoDB task store: one item per jobid, every step a conditional write. Items are the task
 * record plus `pending_shard` while PENDING (the sweeper's index, below); reads are parsed with the
 * record's schema, so an item this code did not write is refused, never passed on as a task.
 */

import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { TaskExistsError } from './errors.js';
import { RESERVED_KEY_PREFIX } from './jobid.js';
import type { ClaimResult, PollStep, RescheduleStep, TaskStore } from './port.js';
import { type NotificationFields, type TaskOutcome, type TaskRecord, TaskRecordSchema } from './task.js';

/** The sparse index of PENDING tasks by next poll time (serverless.yml declares it). */
export const PENDING_INDEX = 'pending-by-next-poll';

/**
 * Shards of the sweeper's index: a PENDING item carries `pending_shard` (`P0`…`P7`), its partition
 * in the index; the finish write removes it, so only PENDING tasks are in the index. Sharding spreads
 * the index's writes over partitions. An attribute of the item, never of the record.
 */
export const PENDING_SHARDS = 8;

/** A stable shard for a jobid. */
export function pendingShard(jobid: string): string {
  let hash = 0;
  for (let i = 0; i < jobid.length; i++) hash = (hash * 31 + jobid.charCodeAt(i)) >>> 0;
  return `P${hash % PENDING_SHARDS}`;
}

/** The record an item holds (the index attribute left out), parsed. */
function recordOf(item: Record<string, unknown>): TaskRecord {
  const { pending_shard: _index, ...record } = item;
  return TaskRecordSchema.parse(record);
}

/**
 * The record of an item read by jobid: undefined when there is none, or when the key is one of the
 * call budget's counters (`budget#…`), which share the table and are no task.
 */
function taskOf(item: Record<string, unknown> | undefined): TaskRecord | undefined {
  if (item === undefined || String(item.jobid).startsWith(RESERVED_KEY_PREFIX)) return undefined;
  return recordOf(item);
}

/**
 * A conditional write's end: the new item (`ReturnValues: ALL_NEW`), or, when the condition failed,
 * the item as it was (`ReturnValuesOnConditionCheckFailure: ALL_OLD`; undefined when there is none).
 */
type ConditionalWrite =
  | { written: true; item: Record<string, unknown> }
  | { written: false; old: Record<string, unknown> | undefined };

export class DynamoTaskStore implements TaskStore {
  readonly #documents: DynamoDBDocumentClient;

  constructor(
    client: DynamoDBClient,
    readonly tableName: string,
  ) {
    this.#documents = DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  }

  async create(task: TaskRecord): Promise<void> {
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...task, ...(task.status === 'PENDING' ? { pending_shard: pendingShard(task.jobid) } : {}) },
          ConditionExpression: 'attribute_not_exists(jobid)',
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new TaskExistsError(task.jobid);
      throw error;
    }
  }

  async get(jobid: string): Promise<TaskRecord | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.tableName, Key: { jobid }, ConsistentRead: true }),
    );
    return taskOf(Item);
  }

  async claimPoll(jobid: string, chain: number, now: number, leaseUntil: number): Promise<ClaimResult> {
    const write = await this.#conditionalUpdate({
      Key: { jobid },
      UpdateExpression: 'SET attempts = attempts + :one, next_poll_at = :lease, updated_at = :at',
      ConditionExpression: '#status = :pending AND #chain = :chain AND next_poll_at <= :now',
      ExpressionAttributeNames: { '#status': 'status', '#chain': 'chain' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':lease': leaseUntil,
        ':at': new Date(now).toISOString(),
        ':pending': 'PENDING',
        ':chain': chain,
        ':now': now,
      },
      ReturnValues: 'ALL_NEW',
      // The loser learns why from the item as it was, without a second read.
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    return write.written ? { claimed: true, task: recordOf(write.item) } : { claimed: false, task: taskOf(write.old) };
  }

  async releaseClaim(jobid: string, step: PollStep, nextPollAt: number): Promise<boolean> {
    const update = 'SET attempts = attempts - :one, next_poll_at = :next';
    return (await this.#stepUpdate(jobid, step, update, { ':one': 1, ':next': nextPollAt })).written;
  }

  async reschedule(jobid: string, step: RescheduleStep): Promise<boolean> {
    const update = 'SET next_poll_at = :next, updated_at = :at, last_errcode = :last, transient_streak = :streak';
    const values = {
      ':next': step.nextPollAt,
      ':at': new Date(step.now).toISOString(),
      ':last': step.lastErrcode,
      ':streak': step.transientStreak,
    };
    return (await this.#stepUpdate(jobid, step, update, values)).written;
  }

  async finish(jobid: string, step: PollStep, outcome: TaskOutcome): Promise<boolean> {
    const at = new Date(step.now).toISOString();
    const fields: Record<string, unknown> = { ...outcome, updated_at: at, completed_at: at };
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets: string[] = [];
    for (const [field, value] of Object.entries(fields)) {
      if (value === undefined) continue;
      names[`#${field}`] = field;
      values[`:${field}`] = value;
      sets.push(`#${field} = :${field}`);
    }
    const update = `SET ${sets.join(', ')} REMOVE pending_shard`;
    return (await this.#stepUpdate(jobid, step, update, values, names)).written;
  }

  async findOverdue(cutoff: number, limit: number): Promise<TaskRecord[]> {
    const shards = Array.from({ length: PENDING_SHARDS }, (_, shard) => `P${shard}`);
    const pages = await Promise.all(
      shards.map((shard) =>
        this.#documents.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: PENDING_INDEX,
            KeyConditionExpression: 'pending_shard = :shard AND next_poll_at < :cutoff',
            ExpressionAttributeValues: { ':shard': shard, ':cutoff': cutoff },
            Limit: limit,
          }),
        ),
      ),
    );
    return pages
      .flatMap((page) => (page.Items ?? []).map(recordOf))
      .sort((a, b) => a.next_poll_at - b.next_poll_at)
      .slice(0, limit);
  }

  async resumeChain(jobid: string, seenNextPollAt: number, now: number): Promise<number | undefined> {
    const write = await this.#conditionalUpdate({
      Key: { jobid },
      UpdateExpression: 'SET #chain = #chain + :one, next_poll_at = :now, updated_at = :at',
      ConditionExpression: '#status = :pending AND next_poll_at = :seen',
      ExpressionAttributeNames: { '#status': 'status', '#chain': 'chain' },
      ExpressionAttributeValues: {
        ':one': 1,
        ':now': now,
        ':at': new Date(now).toISOString(),
        ':pending': 'PENDING',
        ':seen': seenNextPollAt,
      },
      ReturnValues: 'ALL_NEW',
    });
    return write.written ? recordOf(write.item).chain : undefined;
  }

  async recordNotification(jobid: string, fields: NotificationFields): Promise<void> {
    const entries = Object.entries(fields).filter(([, value]) => value !== undefined);
    if (entries.length === 0) return;
    await this.#conditionalUpdate({
      Key: { jobid },
      UpdateExpression: `SET ${entries.map(([field]) => `#${field} = :${field}`).join(', ')}`,
      // attribute_exists: `<>` holds on a missing attribute, so without it a notification recorded
      // after the record expired (TTL) would create a stray partial item.
      ConditionExpression: 'attribute_exists(jobid) AND #status <> :pending',
      ExpressionAttributeNames: {
        '#status': 'status',
        ...Object.fromEntries(entries.map(([field]) => [`#${field}`, field])),
      },
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ...Object.fromEntries(entries.map(([field, value]) => [`:${field}`, value])),
      },
    });
  }

  /** An update allowed only to the poll step that holds the task's current attempt. */
  #stepUpdate(
    jobid: string,
    step: PollStep,
    updateExpression: string,
    values: Record<string, unknown>,
    names: Record<string, string> = {},
  ) {
    return this.#conditionalUpdate({
      Key: { jobid },
      UpdateExpression: updateExpression,
      ConditionExpression: '#stepStatus = :pending AND attempts = :attempt',
      ExpressionAttributeNames: { ...names, '#stepStatus': 'status' },
      ExpressionAttributeValues: { ...values, ':pending': 'PENDING', ':attempt': step.attempt },
    });
  }

  /**
   * The new item (with `ReturnValues: ALL_NEW`), or, when the condition failed, the item as it was
   * (with `ReturnValuesOnConditionCheckFailure: ALL_OLD`): one round trip, no second read.
   */
  async #conditionalUpdate(
    input: Omit<ConstructorParameters<typeof UpdateCommand>[0], 'TableName'>,
  ): Promise<ConditionalWrite> {
    try {
      const { Attributes } = await this.#documents.send(new UpdateCommand({ ...input, TableName: this.tableName }));
      return { written: true, item: Attributes ?? {} };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException)
        return { written: false, old: error.Item === undefined ? undefined : unmarshall(error.Item) };
      throw error;
    }
  }
}
