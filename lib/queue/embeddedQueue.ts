/**
 * The embedded queue for one process. It behaves like an SQS standard queue where the poll chain
 * depends on it: DelaySeconds, a visibility timeout on receive, ChangeMessageVisibility by receipt
 * handle (a stale handle is refused), ApproximateReceiveCount, long polling, a redrive to a
 * dead-letter list after `maxReceiveCount` receives, and a retention period after which a message
 * is dropped. Where the messages live is a {@link QueueStorage}: in memory (tests), or in the
 * durable local database (`npm start`, `sqliteQueue.ts`).
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import scheduleDefaults from '../../config/poll-schedule.json' with { type: 'json' };
import { ReceiptHandleInvalidError, VisibilityLimitError } from './errors.js';
import {
  MAX_DELAY_SECONDS,
  MAX_VISIBILITY_SECONDS,
  type PollMessage,
  type PollQueue,
  type QueueConsumer,
} from './port.js';

export interface EmbeddedQueueOptions {
  /** Default visibility timeout of a received message, as the queue's attribute. */
  visibilityTimeoutSeconds?: number;
  /** Redrive: a message received more often than this moves to `deadLetters`. */
  maxReceiveCount?: number;
  /** Milliseconds per queue second: 1000 is real time; tests may run the same schedule faster. */
  msPerSecond?: number;
  /** MessageRetentionPeriod: a message older than this is dropped (the poll queue's, 2 days, by default). */
  retentionSeconds?: number;
  /** The dead-letter queue's retention (14 days, as `serverless.yml` declares it). */
  deadLetterRetentionSeconds?: number;
  /** The clock (epoch ms); tests move it by hand. */
  now?: () => number;
}

export interface StoredMessage {
  messageId: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number;
  /** Only the latest receipt handle may change visibility or delete. */
  receiptHandle: string | undefined;
}

export interface DeadLetter {
  messageId: string;
  body: string;
  receiveCount: number;
}

/** Where an embedded queue keeps its messages. Each method is one atomic step. */
export interface QueueStorage {
  add(message: StoredMessage): void;
  /**
   * Receive up to `max` messages visible at `now`: each gets a new receipt handle, one more receive
   * and `visibleUntil`; one already received `maxReceiveCount` times moves to the dead letters instead.
   */
  receive(now: number, max: number, visibleUntil: number, maxReceiveCount: number): StoredMessage[];
  /** False when `receiptHandle` is not the latest handle of a stored message. */
  changeVisibility(receiptHandle: string, visibleAt: number): boolean;
  deleteByReceiptHandle(receiptHandle: string): void;
  /** Earliest `visibleAt` of any stored message (Infinity when empty). */
  nextVisibleAt(): number;
  size(): number;
  deadLetters(): DeadLetter[];
  /** Drop messages sent before `messagesSentBefore` and dead letters sent before `deadLettersSentBefore`. */
  purge(messagesSentBefore: number, deadLettersSentBefore: number): number;
}

/** The dead-letter queue's MessageRetentionPeriod in `serverless.yml` (14 days). */
export const DEAD_LETTER_RETENTION_SECONDS = 1_209_600;

/** How many recent sends `EmbeddedQueue.sent` keeps (a bounded log, so a long-running server stays flat). */
export const SENT_LOG_SIZE = 10_000;

export class EmbeddedQueue implements PollQueue, QueueConsumer {
  readonly queueArn = 'arn:aws:sqs:local:000000000000:local-poll-queue';
  /** The most recent SendMessage calls (up to {@link SENT_LOG_SIZE}), in order: what a test counts to prove the poller never re-sends. */
  readonly sent: { body: string; delaySeconds: number }[] = [];
  /** Every SendMessage so far. */
  sentCount = 0;

  readonly #storage: QueueStorage;
  readonly #waiters = new Set<() => void>();
  #interruptions = 0;
  readonly #visibilityTimeoutSeconds: number;
  readonly #maxReceiveCount: number;
  readonly #msPerSecond: number;
  readonly #retentionSeconds: number;
  readonly #deadLetterRetentionSeconds: number;
  readonly #now: () => number;
  /**
   * When each receipt handle this queue handed out was received (the 12 h of visibility count from
   * it). Handles live only as long as the process that received them, so this stays in memory.
   */
  readonly #receivedAt = new Map<string, number>();

  constructor(options: EmbeddedQueueOptions = {}, storage: QueueStorage = new MemoryQueueStorage()) {
    this.#storage = storage;
    this.#now = options.now ?? Date.now;
    this.#visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 180;
    this.#maxReceiveCount = options.maxReceiveCount ?? Number.POSITIVE_INFINITY;
    this.#msPerSecond = options.msPerSecond ?? 1000;
    this.#retentionSeconds = options.retentionSeconds ?? scheduleDefaults.queueRetentionSeconds;
    this.#deadLetterRetentionSeconds = options.deadLetterRetentionSeconds ?? DEAD_LETTER_RETENTION_SECONDS;
  }

  async sendPoll(message: PollMessage, delaySeconds: number): Promise<void> {
    this.sendRaw(JSON.stringify(message), delaySeconds);
  }

  /** SendMessage with any body (tests use it to deliver malformed messages). */
  sendRaw(body: string, delaySeconds = 0): string {
    checkSeconds('DelaySeconds', delaySeconds, MAX_DELAY_SECONDS);
    const now = this.#now();
    const messageId = randomUUID();
    this.#storage.add({
      messageId,
      body,
      sentAt: now,
      visibleAt: now + delaySeconds * this.#msPerSecond,
      receiveCount: 0,
      firstReceivedAt: 0,
      receiptHandle: undefined,
    });
    this.sentCount += 1;
    this.sent.push({ body, delaySeconds });
    // Drop the older half at once: amortised O(1) per send.
    if (this.sent.length > SENT_LOG_SIZE) this.sent.splice(0, this.sent.length - SENT_LOG_SIZE / 2);
    this.#wake();
    return messageId;
  }

  async deferPoll(receiptHandle: string, delaySeconds: number): Promise<void> {
    checkSeconds('VisibilityTimeout', delaySeconds, MAX_VISIBILITY_SECONDS);
    const now = this.#now();
    const receivedAt = this.#receivedAt.get(receiptHandle);
    if (
      receivedAt !== undefined &&
      now + delaySeconds * this.#msPerSecond > receivedAt + MAX_VISIBILITY_SECONDS * this.#msPerSecond
    ) {
      throw new VisibilityLimitError(
        `Value ${delaySeconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_SECONDS} seconds]`,
      );
    }
    if (!this.#storage.changeVisibility(receiptHandle, now + delaySeconds * this.#msPerSecond)) {
      throw new ReceiptHandleInvalidError('the receipt handle is not the latest of a message in flight');
    }
    this.#wake();
  }

  async receive(maxMessages: number, waitSeconds: number): Promise<SQSRecord[]> {
    const waitUntil = this.#now() + waitSeconds * this.#msPerSecond;
    const interruptions = this.#interruptions;
    for (;;) {
      const now = this.#now();
      const received = this.#storage.receive(
        now,
        maxMessages,
        now + this.#visibilityTimeoutSeconds * this.#msPerSecond,
        this.#maxReceiveCount,
      );
      this.#noteReceipts(received, now);
      if (received.length > 0 || now >= waitUntil || interruptions !== this.#interruptions) {
        return received.map((message) => this.#record(message));
      }
      await this.#sleepUntil(Math.min(waitUntil, this.#storage.nextVisibleAt()));
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    this.#receivedAt.delete(receiptHandle);
    this.#storage.deleteByReceiptHandle(receiptHandle);
  }

  /** Messages stored (visible, delayed or in flight), as SQS's approximate counts add up. */
  get size(): number {
    return this.#storage.size();
  }

  /** Messages moved to the dead-letter queue after `maxReceiveCount` receives (kept for its retention). */
  get deadLetters(): DeadLetter[] {
    return this.#storage.deadLetters();
  }

  /**
   * Drop what SQS would have dropped by `now`: messages older than the retention period, dead
   * letters older than the dead-letter queue's. Returns how many.
   */
  async purgeExpired(now: number): Promise<number> {
    return this.#storage.purge(
      now - this.#retentionSeconds * this.#msPerSecond,
      now - this.#deadLetterRetentionSeconds * this.#msPerSecond,
    );
  }

  /** End every long poll now (empty-handed), so a stopping consumer returns at once. */
  interrupt(): void {
    this.#interruptions += 1;
    this.#wake();
  }

  #noteReceipts(received: StoredMessage[], now: number): void {
    for (const message of received) if (message.receiptHandle) this.#receivedAt.set(message.receiptHandle, now);
    // A handle past its 12 h can change nothing any more: forget it.
    if (this.#receivedAt.size > 10_000) {
      for (const [handle, at] of this.#receivedAt)
        if (at + MAX_VISIBILITY_SECONDS * this.#msPerSecond < now) this.#receivedAt.delete(handle);
    }
  }

  #record(message: StoredMessage): SQSRecord {
    return {
      messageId: message.messageId,
      receiptHandle: message.receiptHandle ?? '',
      body: message.body,
      attributes: {
        ApproximateReceiveCount: String(message.receiveCount),
        SentTimestamp: String(message.sentAt),
        SenderId: 'local',
        ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
      },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: this.queueArn,
      awsRegion: 'local',
    };
  }

  #sleepUntil(time: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, time - this.#now()));
      this.#waiters.add(done);
    });
  }

  #wake(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }
}

/** The queue's messages in this process's memory: gone when it exits. */
export class MemoryQueueStorage implements QueueStorage {
  readonly #messages = new Map<string, StoredMessage>();
  /** The latest receipt handle of each received message. */
  readonly #byHandle = new Map<string, StoredMessage>();
  readonly #deadLetters: (DeadLetter & { sentAt: number })[] = [];

  add(message: StoredMessage): void {
    this.#messages.set(message.messageId, { ...message });
  }

  receive(now: number, max: number, visibleUntil: number, maxReceiveCount: number): StoredMessage[] {
    const received: StoredMessage[] = [];
    for (const message of this.#messages.values()) {
      if (received.length >= max) break;
      if (message.visibleAt > now) continue;
      if (message.receiveCount >= maxReceiveCount) {
        this.#remove(message);
        this.#deadLetters.push({
          messageId: message.messageId,
          body: message.body,
          receiveCount: message.receiveCount,
          sentAt: message.sentAt,
        });
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ||= now;
      if (message.receiptHandle) this.#byHandle.delete(message.receiptHandle);
      message.receiptHandle = randomUUID();
      this.#byHandle.set(message.receiptHandle, message);
      message.visibleAt = visibleUntil;
      received.push({ ...message });
    }
    return received;
  }

  changeVisibility(receiptHandle: string, visibleAt: number): boolean {
    const message = this.#byHandle.get(receiptHandle);
    if (!message) return false;
    message.visibleAt = visibleAt;
    return true;
  }

  deleteByReceiptHandle(receiptHandle: string): void {
    const message = this.#byHandle.get(receiptHandle);
    if (message) this.#remove(message);
  }

  nextVisibleAt(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.#messages.values()) next = Math.min(next, message.visibleAt);
    return next;
  }

  size(): number {
    return this.#messages.size;
  }

  deadLetters(): DeadLetter[] {
    return this.#deadLetters.map(({ messageId, body, receiveCount }) => ({ messageId, body, receiveCount }));
  }

  purge(messagesSentBefore: number, deadLettersSentBefore: number): number {
    let dropped = 0;
    for (const message of this.#messages.values()) {
      if (message.sentAt > messagesSentBefore) continue;
      this.#remove(message);
      dropped += 1;
    }
    const kept = this.#deadLetters.filter((letter) => letter.sentAt > deadLettersSentBefore);
    dropped += this.#deadLetters.length - kept.length;
    this.#deadLetters.splice(0, this.#deadLetters.length, ...kept);
    return dropped;
  }

  #remove(message: StoredMessage): void {
    this.#messages.delete(message.messageId);
    if (message.receiptHandle) this.#byHandle.delete(message.receiptHandle);
  }
}

function checkSeconds(name: string, seconds: number, max: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > max) {
    throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${seconds}`);
  }
}
