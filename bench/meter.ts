/**
 * Counting what the real poll and submit code asks of AWS, request by request, while it runs on the
 * virtual clock (`bench/simulation.ts`). Each port is wrapped: every call is counted as the
 * requests its AWS adapter makes for it (`lib/tasks/dynamoStore.ts`, `lib/budget/dynamoBudget.ts`,
 * `lib/queue/sqsQueue.ts`, `lib/notify/eventBridgePublisher.ts`), with DynamoDB units from the item
 * sizes as on-demand bills them (DynamoDB Developer Guide, "Read/write capacity mode": a write
 * request unit per 1 KB of the larger of the item before and after, at least one, also when the
 * condition fails; a strongly consistent read unit per 4 KB). `test/aws/costMeter.test.ts` checks the
 * counts against the real adapters on moto.
 *
 * Lambda's SQS event source is modelled by the simulation (`SimulationOptions.batch`): messages that
 * become visible within one {@link BATCH_TICK_MS} tick are one receive and one invocation, up to the
 * batch size (serverless.yml `pollBatchSize`), their steps concurrent, so the poller's
 * `CoalescingBudget` takes their budget as one block. Empty long-poll receives are a fixed monthly
 * cost of the event source, not of a task (see `docs/cost.md`).
 */
import { CoalescingBudget } from '../lib/budget/coalescingBudget.js';
import type { BudgetDecision, CallBudget } from '../lib/budget/port.js';
import type { CompletionNotifier } from '../lib/notify/notifyCompletion.js';
import type { PollMessage, PollQueue } from '../lib/queue/port.js';
import { itemBytes } from '../lib/tasks/itemSize.js';
import type { ClaimResult, PollOwner, PollStep, RescheduleStep, TaskStore } from '../lib/tasks/port.js';
import type { NotificationFields, TaskOutcome, TaskRecord } from '../lib/tasks/task.js';
import { ASSUMED_DURATION_MS } from './prices.js';
import type { Delivery, SimulationHooks } from './simulation.js';

/** Deliveries due within this tick share one receive and one invocation (up to the batch size). */
export const BATCH_TICK_MS = 100;

export interface AwsUsage {
  dynamoWriteRequests: number;
  dynamoWriteUnits: number;
  dynamoReadRequests: number;
  dynamoReadUnits: number;
  /** Of the writes: the task record's, and the budget counters'. */
  taskWrites: number;
  budgetWrites: number;
  sqsSend: number;
  sqsReceive: number;
  sqsChangeVisibility: number;
  sqsDelete: number;
  lambdaInvocations: number;
  lambdaGbSeconds: number;
  eventBridgeEvents: number;
  /** Zone result calls (polls). */
  polls: number;
}

export function emptyUsage(): AwsUsage {
  return {
    dynamoWriteRequests: 0,
    dynamoWriteUnits: 0,
    dynamoReadRequests: 0,
    dynamoReadUnits: 0,
    taskWrites: 0,
    budgetWrites: 0,
    sqsSend: 0,
    sqsReceive: 0,
    sqsChangeVisibility: 0,
    sqsDelete: 0,
    lambdaInvocations: 0,
    lambdaGbSeconds: 0,
    eventBridgeEvents: 0,
    polls: 0,
  };
}

/** Write units of one write touching an item of these sizes (bytes): 1 KB each, at least one. */
export function writeUnits(...bytes: number[]): number {
  return Math.max(1, Math.ceil(Math.max(0, ...bytes) / 1024));
}

/** Read units of one strongly consistent read of an item (or of none): 4 KB each, at least one. */
export function readUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 4096));
}

/**
 * The size of a budget counter item at its fullest: a window's 60 buckets plus the two kept past it
 * (`BUCKETS_PER_WINDOW`, `staleMarks`), each a bucket index and a running total. Fewer marks make a
 * smaller item; this is the larger, so budget writes are never undercounted.
 */
export function fullCounterBytes(corpId: string, windowSeconds: number): number {
  const firstBucket = Math.floor(Date.parse('2026-11-30T00:00:00Z') / ((windowSeconds * 1000) / 60));
  const marks: Record<string, number> = {};
  for (let i = 0; i < 62; i++) marks[String(firstBucket + i)] = 1_000_000 + i * 1000;
  return itemBytes({
    jobid: `budget#${corpId}#${windowSeconds}`,
    total: 1_062_000,
    marks,
    expires_at: 1_796_000_000,
    blocked_until: 1_796_000_000_000,
  });
}

export interface MeterOptions {
  /** Lambda memory of the poller (MB), from serverless.yml. */
  memoryMb: number;
  /** Budget windows (seconds) the DynamoDB adapter keeps a counter for. */
  budgetWindowSeconds: readonly number[];
}

/** The wrappers and the tally of one simulated run. */
export class AwsMeter {
  readonly usage = emptyUsage();
  /** Deliveries per batch of Lambda's event source. */
  readonly #batches = new Map<number, { messages: number; zoneCalls: number; deletes: number }>();

  constructor(readonly options: MeterOptions) {}

  hooks(): SimulationHooks {
    return {
      wrapStore: (store) => new MeteredTaskStore(store, this.usage),
      // As the poller wires it (`lib/wiring/pollTasks.ts`): a batch's requests as one block.
      wrapBudget: (budget) =>
        new CoalescingBudget(new MeteredBudget(budget, this.usage, this.options.budgetWindowSeconds), {
          windowMs: 0,
        }),
      wrapQueue: (queue) => new MeteredQueue(queue, this.usage),
      notifier: this.notifier(),
      onDelivery: (delivery) => this.#deliver(delivery),
    };
  }

  /** The completion event of every finished task, published once (PutEvents with one entry). */
  notifier(): CompletionNotifier {
    return {
      publisher: {
        publish: async () => {
          this.usage.eventBridgeEvents += 1;
        },
      },
    };
  }

  #deliver(delivery: Delivery): void {
    this.usage.polls += delivery.zoneCalls;
    const entry = this.#batches.get(delivery.batch) ?? { messages: 0, zoneCalls: 0, deletes: 0 };
    entry.messages += 1;
    entry.zoneCalls += delivery.zoneCalls;
    if (delivery.outcome === 'done') entry.deletes += 1;
    this.#batches.set(delivery.batch, entry);
  }

  /** Turn the batches into receives, invocations, deletes and GB-seconds. Call once, at the end. */
  settleBatches(): AwsUsage {
    const { memoryMb } = this.options;
    for (const { zoneCalls, deletes } of this.#batches.values()) {
      this.usage.sqsReceive += 1;
      this.usage.lambdaInvocations += 1;
      // The event source deletes a batch's handled records with one DeleteMessageBatch.
      if (deletes > 0) this.usage.sqsDelete += 1;
      // A batch's records run concurrently: the invocation lasts as long as its slowest record.
      const ms = zoneCalls > 0 ? ASSUMED_DURATION_MS.zoneCall : ASSUMED_DURATION_MS.noZoneCall;
      this.usage.lambdaGbSeconds += (memoryMb / 1024) * (ms / 1000);
    }
    this.#batches.clear();
    return this.usage;
  }
}

function countWrite(usage: AwsUsage, kind: 'task' | 'budget', units: number): void {
  usage.dynamoWriteRequests += 1;
  usage.dynamoWriteUnits += units;
  if (kind === 'task') usage.taskWrites += 1;
  else usage.budgetWrites += 1;
}

function countRead(usage: AwsUsage, units: number): void {
  usage.dynamoReadRequests += 1;
  usage.dynamoReadUnits += units;
}

/** The sweeper's index attribute the DynamoDB adapter adds to a PENDING task's item (`dynamoStore.ts`). */
const SHARD_BYTES = itemBytes({ pending_shard: 'P0' });
const sizeOf = (task: TaskRecord | undefined) =>
  task ? itemBytes(task) + (task.status === 'PENDING' ? SHARD_BYTES : 0) : 0;

/** The task store, counted as `DynamoTaskStore` sends it: one UpdateItem per step, a GetItem per read. */
export class MeteredTaskStore implements TaskStore {
  readonly #sizer: (jobid: string) => Promise<TaskRecord | undefined>;

  constructor(
    readonly inner: TaskStore,
    readonly usage: AwsUsage,
    /** How the meter reads an item to size a write (default: the inner store; a test passes its own, so the meter's reads are not counted as the code's). */
    sizer?: (jobid: string) => Promise<TaskRecord | undefined>,
  ) {
    this.#sizer = sizer ?? ((jobid) => inner.get(jobid));
  }

  async create(task: TaskRecord): Promise<void> {
    countWrite(this.usage, 'task', writeUnits(sizeOf(task)));
    await this.inner.create(task);
  }

  async get(jobid: string): Promise<TaskRecord | undefined> {
    const task = await this.inner.get(jobid);
    countRead(this.usage, readUnits(sizeOf(task)));
    return task;
  }

  async claimPoll(
    jobid: string,
    chain: number,
    now: number,
    leaseUntil: number,
    owner?: PollOwner,
  ): Promise<ClaimResult> {
    const before = await this.#sizer(jobid);
    const result = await this.inner.claimPoll(jobid, chain, now, leaseUntil, owner);
    // A refused claim learns why from the same request (ReturnValuesOnConditionCheckFailure: ALL_OLD).
    countWrite(this.usage, 'task', writeUnits(sizeOf(before), sizeOf(result.task)));
    return result;
  }

  async releaseClaim(jobid: string, step: PollStep, nextPollAt: number): Promise<boolean> {
    return this.#update(jobid, () => this.inner.releaseClaim(jobid, step, nextPollAt));
  }

  async reschedule(jobid: string, step: RescheduleStep): Promise<boolean> {
    return this.#update(jobid, () => this.inner.reschedule(jobid, step));
  }

  async finish(jobid: string, step: PollStep, outcome: TaskOutcome): Promise<boolean> {
    return this.#update(jobid, () => this.inner.finish(jobid, step, outcome));
  }

  findOverdue(cutoff: number, limit: number): Promise<TaskRecord[]> {
    return this.inner.findOverdue(cutoff, limit);
  }

  resumeChain(jobid: string, seenNextPollAt: number, now: number): Promise<number | undefined> {
    return this.inner.resumeChain(jobid, seenNextPollAt, now);
  }

  async recordNotification(jobid: string, fields: NotificationFields): Promise<void> {
    await this.#update(jobid, async () => {
      await this.inner.recordNotification(jobid, fields);
      return true;
    });
  }

  async #update<T>(jobid: string, write: () => Promise<T>): Promise<T> {
    const before = await this.#sizer(jobid);
    const result = await write();
    countWrite(this.usage, 'task', writeUnits(sizeOf(before), sizeOf(await this.#sizer(jobid))));
    return result;
  }
}

/**
 * The call budget, counted as `DynamoCallBudget` sends it from a warm container: a grant is one
 * conditional UpdateItem per window (counter items at their fullest size); a refusal re-reads the
 * counter once; a WeCom block is one UpdateItem. A cold container's first GetItem per counter, and
 * retries under contention, are left out (they depend on the containers, not on the tasks).
 */
export class MeteredBudget implements CallBudget {
  readonly #unitsPerWindow: number[];

  constructor(
    readonly inner: CallBudget,
    readonly usage: AwsUsage,
    windowSeconds: readonly number[],
  ) {
    this.#unitsPerWindow = windowSeconds.map((seconds) => writeUnits(fullCounterBytes('corp-a', seconds)));
  }

  async tryAcquire(corpId: string, now: number, count = 1): Promise<BudgetDecision> {
    const decision = await this.inner.tryAcquire(corpId, now, count);
    if (decision.granted) for (const units of this.#unitsPerWindow) countWrite(this.usage, 'budget', units);
    else countRead(this.usage, 1);
    return decision;
  }

  async exhaust(corpId: string, now: number): Promise<void> {
    countWrite(this.usage, 'budget', this.#unitsPerWindow[0] ?? 1);
    await this.inner.exhaust(corpId, now);
  }
}

/** The poll queue, counted as `SqsPollQueue` sends it. */
export class MeteredQueue implements PollQueue {
  constructor(
    readonly inner: PollQueue,
    readonly usage: AwsUsage,
  ) {}

  async sendPoll(message: PollMessage, delaySeconds: number): Promise<void> {
    this.usage.sqsSend += 1;
    await this.inner.sendPoll(message, delaySeconds);
  }

  async deferPoll(receiptHandle: string, delaySeconds: number): Promise<void> {
    this.usage.sqsChangeVisibility += 1;
    await this.inner.deferPoll(receiptHandle, delaySeconds);
  }
}
