/**
 * The call budget on DynamoDB, shared by every Lambda: one counter item per corp and window
 * (`budget#<corp>#<seconds>`, in the tasks table, expiring by TTL) holding the sliding window's
 * `total` and bucket `marks` (`port.ts`). A grant is one conditional UpdateItem, `total < marks[first]
 * + limit`, plus `attribute_not_exists` on the buckets this caller may not have seen yet; concurrent
 * grants do not spoil each other's conditions, so there is no read-modify-write race and no retry
 * storm. The windows are taken shortest first; if a longer one refuses, the shorter ones are given
 * back, so a refused call never consumes budget. The memory adapter does the same steps.
 */
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import {
  assessWindow,
  BUCKETS_PER_WINDOW,
  type BudgetDecision,
  type BudgetWindow,
  bucketMs,
  bucketOf,
  budgetCounterKey,
  byLength,
  type CallBudget,
  counterExpiresAt,
  DEFAULT_BUDGET_WINDOWS,
  staleMarks,
  type WindowCounter,
  WindowCounterSchema,
} from './port.js';

/** What this caller last saw of a counter, and when (epoch ms, its own clock). */
interface Snapshot {
  counter: WindowCounter;
  seenAt: number;
}

/** Conditional writes tried before a call is refused for contention alone. */
const MAX_STEPS = 6;
/** Stale marks dropped per write, so the item stays about one window of buckets. */
const PRUNE_PER_WRITE = 8;

export class DynamoCallBudget implements CallBudget {
  readonly windows: readonly BudgetWindow[];
  readonly #documents: DynamoDBDocumentClient;
  /** Counters seen by this container: a warm Lambda grants with one write. */
  readonly #seen = new Map<string, Snapshot>();

  constructor(
    client: DynamoDBClient,
    /** The tasks table: budget keys start with `budget#`, which no stored jobid does (`jobid.ts`). */
    readonly tableName: string,
    windows: readonly BudgetWindow[] = DEFAULT_BUDGET_WINDOWS,
  ) {
    this.windows = byLength(windows);
    this.#documents = DynamoDBDocumentClient.from(client);
  }

  async tryAcquire(corpId: string, now: number): Promise<BudgetDecision> {
    const taken: BudgetWindow[] = [];
    for (const window of this.windows) {
      const refusal = await this.#take(corpId, window, now);
      if (refusal === undefined) {
        taken.push(window);
        continue;
      }
      await Promise.all(taken.map((done) => this.#giveBack(corpId, done)));
      return refusal;
    }
    return { granted: true };
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    const shortest = this.windows[0];
    if (!shortest) return;
    const until = now + shortest.seconds * 1000;
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobid: budgetCounterKey(corpId, shortest) },
          UpdateExpression: 'SET blocked_until = :until, expires_at = :expires',
          // Never shortens a longer block.
          ConditionExpression: 'attribute_not_exists(blocked_until) OR blocked_until < :until',
          ExpressionAttributeValues: { ':until': until, ':expires': counterExpiresAt(shortest, until) },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    this.#seen.delete(budgetCounterKey(corpId, shortest));
  }

  /** One grant as a conditional write; undefined when granted, else the refusal. */
  async #take(
    corpId: string,
    window: BudgetWindow,
    now: number,
  ): Promise<Exclude<BudgetDecision, { granted: true }> | undefined> {
    const key = budgetCounterKey(corpId, window);
    let snapshot = this.#seen.get(key);
    let fresh = false;
    for (let step = 0; step < MAX_STEPS; step++) {
      if (snapshot === undefined) {
        snapshot = await this.#read(key, now);
        fresh = true;
      }
      const decision = assessWindow(snapshot.counter, window, now);
      if (!decision.granted) {
        // A refusal on an old view may be out of date (a grant given back since): look again once.
        if (!fresh) {
          snapshot = undefined;
          continue;
        }
        return decision;
      }
      const current = bucketOf(window, now);
      // Buckets from one before the view was taken (a caller's clock may lag) to now may have
      // gained a first call since: the write holds only if they have not, or if they are after `first`.
      const unseenFrom = Math.max(current - BUCKETS_PER_WINDOW, bucketOf(window, snapshot.seenAt) - 1);
      const unseenTo = decision.first === undefined ? current : Math.min(current, decision.first - 1);
      const names: Record<string, string> = { '#total': 'total', '#marks': 'marks', '#now': `${current}` };
      const values: Record<string, unknown> = { ':one': 1, ':now': now, ':expires': counterExpiresAt(window, now) };
      const conditions = ['(attribute_not_exists(blocked_until) OR blocked_until <= :now)'];
      if (decision.first !== undefined) {
        names['#first'] = `${decision.first}`;
        values[':threshold'] = (snapshot.counter.marks[String(decision.first)] ?? 0) + window.limit;
        conditions.push('#total < :threshold', 'attribute_exists(#marks.#first)');
      }
      for (let bucket = unseenFrom; bucket <= unseenTo; bucket++) {
        names[`#u${bucket - unseenFrom}`] = `${bucket}`;
        conditions.push(`attribute_not_exists(#marks.#u${bucket - unseenFrom})`);
      }
      const removals = staleMarks(snapshot.counter, window, now).slice(0, PRUNE_PER_WRITE);
      removals.forEach((bucket, index) => {
        names[`#old${index}`] = bucket;
      });
      try {
        const { Attributes } = await this.#documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { jobid: key },
            UpdateExpression:
              'SET #total = #total + :one, #marks.#now = if_not_exists(#marks.#now, #total), expires_at = :expires' +
              (removals.length > 0 ? ` REMOVE ${removals.map((_, index) => `#marks.#old${index}`).join(', ')}` : ''),
            ConditionExpression: conditions.join(' AND '),
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_NEW',
            // Lost the race: the counter as it is now comes back with the refusal, no second read.
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        this.#seen.set(key, { counter: asCounter(Attributes), seenAt: now });
        return undefined;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        // A counter item without its counts (a 45009 block alone) is read again, which creates them.
        const old = error.Item === undefined ? undefined : unmarshall(error.Item);
        snapshot =
          old?.total === undefined || old.marks === undefined ? undefined : { counter: asCounter(old), seenAt: now };
        fresh = snapshot !== undefined;
      }
    }
    // Lost the race every time: the counter is that busy; wait one bucket.
    return { granted: false, retryAt: now + bucketMs(window), reason: 'budget' };
  }

  /** The counter as stored now (created empty when missing, so updates can add to it). */
  async #read(key: string, now: number): Promise<Snapshot> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.tableName, Key: { jobid: key }, ConsistentRead: true }),
    );
    if (Item?.total === undefined || Item.marks === undefined) {
      const { Attributes } = await this.#documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { jobid: key },
          UpdateExpression: 'SET #total = if_not_exists(#total, :zero), #marks = if_not_exists(#marks, :empty)',
          ExpressionAttributeNames: { '#total': 'total', '#marks': 'marks' },
          ExpressionAttributeValues: { ':zero': 0, ':empty': {} },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { counter: asCounter(Attributes), seenAt: now };
    }
    return { counter: asCounter(Item), seenAt: now };
  }

  async #giveBack(corpId: string, window: BudgetWindow): Promise<void> {
    const key = budgetCounterKey(corpId, window);
    await this.#documents.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { jobid: key },
        UpdateExpression: 'SET #total = #total - :one',
        ExpressionAttributeNames: { '#total': 'total' },
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    this.#seen.delete(key);
  }
}

/** The counter an item holds (the key and `expires_at` left out), parsed; an absent item is an empty counter. */
function asCounter(item: Record<string, unknown> | undefined): WindowCounter {
  const { total = 0, marks = {}, blocked_until } = item ?? {};
  return WindowCounterSchema.parse({ total, marks, blocked_until });
}
