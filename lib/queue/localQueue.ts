/**
 * The embedded queue for one process. It behaves like an SQS standard queue where the poll chain
 * depends on it: DelaySeconds, a visibility timeout on receive, ChangeMessageVisibility by receipt
 * handle (a stale handle is refused), ApproximateReceiveCount, long polling, and a redrive to a
 * dead-letter list after `maxReceiveCount` receives.
 */
import { randomUUID } from 'node:crypto';
import type { SQSRecord } from 'aws-lambda';
import { MAX_DELAY_SECONDS, MAX_VISIBILITY_SECONDS, type PollMessage, type PollQueue, type QueueConsumer } from './port.js';

export interface LocalQueueOptions {
  /** Default visibility timeout of a received message, as the queue's attribute. */
  visibilityTimeoutSeconds?: number;
  /** Redrive: a message received more often than this moves to `deadLetters`. */
  maxReceiveCount?: number;
  /** Milliseconds per queue second: 1000 is real time; tests may run the same schedule faster. */
  msPerSecond?: number;
  /** The clock (epoch ms); tests move it by hand. */
  now?: () => number;
}

interface StoredMessage {
  messageId: string;
  body: string;
  sentAt: number;
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number;
  /** When the latest receive happened: its visibility may total 12 h from then. */
  receivedAt: number;
  /** Only the latest receipt handle may change visibility or delete. */
  receiptHandle: string | undefined;
}

/**
 * Raised like SQS's InvalidParameterValue "Total VisibilityTimeout for the message is beyond the
 * limit [43200 seconds]": a message may stay invisible at most 12 h from its receipt, in total.
 */
export class VisibilityLimitError extends RangeError {
  override readonly name = 'VisibilityLimitError';
}

/** Raised like SQS's ReceiptHandleIsInvalid / MessageNotInflight. */
export class ReceiptHandleInvalidError extends Error {
  override readonly name = 'ReceiptHandleInvalidError';
}

export class LocalQueue implements PollQueue, QueueConsumer {
  readonly queueArn = 'arn:aws:sqs:local:000000000000:local-poll-queue';
  /** Every SendMessage, in order: what a test counts to prove the poller never re-sends. */
  readonly sent: { body: string; delaySeconds: number }[] = [];
  readonly deadLetters: { messageId: string; body: string; receiveCount: number }[] = [];

  readonly #messages = new Map<string, StoredMessage>();
  readonly #waiters = new Set<() => void>();
  #interruptions = 0;
  readonly #visibilityTimeoutSeconds: number;
  readonly #maxReceiveCount: number;
  readonly #msPerSecond: number;
  readonly #now: () => number;

  constructor(options: LocalQueueOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#visibilityTimeoutSeconds = options.visibilityTimeoutSeconds ?? 180;
    this.#maxReceiveCount = options.maxReceiveCount ?? Number.POSITIVE_INFINITY;
    this.#msPerSecond = options.msPerSecond ?? 1000;
  }

  async sendPoll(message: PollMessage, delaySeconds: number): Promise<void> {
    this.sendRaw(JSON.stringify(message), delaySeconds);
  }

  /** SendMessage with any body (tests use it to deliver malformed messages). */
  sendRaw(body: string, delaySeconds = 0): string {
    checkSeconds('DelaySeconds', delaySeconds, MAX_DELAY_SECONDS);
    const now = this.#now();
    const messageId = randomUUID();
    this.#messages.set(messageId, {
      messageId,
      body,
      sentAt: now,
      visibleAt: now + delaySeconds * this.#msPerSecond,
      receiveCount: 0,
      firstReceivedAt: 0,
      receivedAt: 0,
      receiptHandle: undefined,
    });
    this.sent.push({ body, delaySeconds });
    this.#wake();
    return messageId;
  }

  async deferPoll(receiptHandle: string, delaySeconds: number): Promise<void> {
    checkSeconds('VisibilityTimeout', delaySeconds, MAX_VISIBILITY_SECONDS);
    const message = this.#byReceiptHandle(receiptHandle);
    const now = this.#now();
    if (now + delaySeconds * this.#msPerSecond > message.receivedAt + MAX_VISIBILITY_SECONDS * this.#msPerSecond) {
      throw new VisibilityLimitError(
        `Value ${delaySeconds} for parameter VisibilityTimeout is invalid. Reason: Total VisibilityTimeout for the message is beyond the limit [${MAX_VISIBILITY_SECONDS} seconds]`,
      );
    }
    message.visibleAt = now + delaySeconds * this.#msPerSecond;
    this.#wake();
  }

  async receive(maxMessages: number, waitSeconds: number): Promise<SQSRecord[]> {
    const waitUntil = this.#now() + waitSeconds * this.#msPerSecond;
    const interruptions = this.#interruptions;
    for (;;) {
      const records = this.#receiveVisible(maxMessages);
      const now = this.#now();
      if (records.length > 0 || now >= waitUntil || interruptions !== this.#interruptions) return records;
      await this.#sleepUntil(Math.min(waitUntil, this.#nextVisibleAt()));
    }
  }

  async delete(receiptHandle: string): Promise<void> {
    for (const message of this.#messages.values()) {
      if (message.receiptHandle === receiptHandle) this.#messages.delete(message.messageId);
    }
  }

  /** Messages stored (visible, delayed or in flight), as SQS's approximate counts add up. */
  get size(): number {
    return this.#messages.size;
  }

  /** End every long poll now (empty-handed), so a stopping consumer returns at once. */
  interrupt(): void {
    this.#interruptions += 1;
    this.#wake();
  }

  #receiveVisible(maxMessages: number): SQSRecord[] {
    const now = this.#now();
    const records: SQSRecord[] = [];
    for (const message of this.#messages.values()) {
      if (records.length >= maxMessages) break;
      if (message.visibleAt > now) continue;
      if (message.receiveCount >= this.#maxReceiveCount) {
        this.#messages.delete(message.messageId);
        this.deadLetters.push({ messageId: message.messageId, body: message.body, receiveCount: message.receiveCount });
        continue;
      }
      message.receiveCount += 1;
      message.firstReceivedAt ||= now;
      message.receivedAt = now;
      message.receiptHandle = randomUUID();
      message.visibleAt = now + this.#visibilityTimeoutSeconds * this.#msPerSecond;
      records.push(this.#record(message));
    }
    return records;
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

  #byReceiptHandle(receiptHandle: string): StoredMessage {
    for (const message of this.#messages.values()) {
      if (message.receiptHandle === receiptHandle) return message;
    }
    throw new ReceiptHandleInvalidError('the receipt handle is not the latest of a message in flight');
  }

  #nextVisibleAt(): number {
    let next = Number.POSITIVE_INFINITY;
    for (const message of this.#messages.values()) next = Math.min(next, message.visibleAt);
    return next;
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

function checkSeconds(name: string, seconds: number, max: number): void {
  if (!Number.isInteger(seconds) || seconds < 0 || seconds > max) {
    throw new RangeError(`${name} must be an integer from 0 to ${max}, got ${seconds}`);
  }
}
