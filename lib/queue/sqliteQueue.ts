/**
 * The poll queue's messages in the durable local database (`npm start`): a message survives a
 * restart or a crash with its delay, visibility, receive count and receipt handle, and a dead letter
 * stays a dead letter. Each step is one statement or one transaction, so a crash never leaves a
 * message half received.
 */
import { randomUUID } from 'node:crypto';
import type { LocalDatabase } from '../shared/database.js';
import {
  type DeadLetter,
  EmbeddedQueue,
  type EmbeddedQueueOptions,
  type QueueStorage,
  type StoredMessage,
} from './embeddedQueue.js';

interface MessageRow {
  message_id: string;
  body: string;
  sent_at: number;
  visible_at: number;
  receive_count: number;
  first_received_at: number;
  receipt_handle: string | null;
}

function toMessage(row: MessageRow): StoredMessage {
  return {
    messageId: row.message_id,
    body: row.body,
    sentAt: row.sent_at,
    visibleAt: row.visible_at,
    receiveCount: row.receive_count,
    firstReceivedAt: row.first_received_at,
    receiptHandle: row.receipt_handle ?? undefined,
  };
}

export class SqliteQueueStorage implements QueueStorage {
  constructor(readonly db: LocalDatabase) {}

  add(message: StoredMessage): void {
    this.db.run(
      `INSERT INTO queue_messages (message_id, body, sent_at, visible_at, receive_count, first_received_at, receipt_handle, leased)
       VALUES (:id, :body, :sentAt, :visibleAt, 0, 0, NULL, 0)`,
      { id: message.messageId, body: message.body, sentAt: message.sentAt, visibleAt: message.visibleAt },
    );
  }

  receive(now: number, max: number, visibleUntil: number, maxReceiveCount: number): StoredMessage[] {
    return this.db.transaction(() => {
      const received: StoredMessage[] = [];
      for (;;) {
        const rows = this.db.all<MessageRow>(
          'SELECT * FROM queue_messages WHERE visible_at <= :now ORDER BY visible_at LIMIT :n',
          {
            now,
            n: max - received.length,
          },
        );
        let redriven = 0;
        for (const row of rows) {
          if (row.receive_count >= maxReceiveCount) {
            this.db.run(
              `INSERT OR REPLACE INTO queue_dead_letters (message_id, body, sent_at, receive_count) VALUES (:id, :body, :sentAt, :count)`,
              { id: row.message_id, body: row.body, sentAt: row.sent_at, count: row.receive_count },
            );
            this.db.run('DELETE FROM queue_messages WHERE message_id = :id', { id: row.message_id });
            redriven += 1;
            continue;
          }
          const message = toMessage(row);
          message.receiveCount += 1;
          message.firstReceivedAt ||= now;
          message.receiptHandle = randomUUID();
          message.visibleAt = visibleUntil;
          this.db.run(
            `UPDATE queue_messages SET receive_count = :count, first_received_at = :first, receipt_handle = :handle,
               visible_at = :visibleAt, leased = 1
             WHERE message_id = :id`,
            {
              id: message.messageId,
              count: message.receiveCount,
              first: message.firstReceivedAt,
              handle: message.receiptHandle,
              visibleAt: visibleUntil,
            },
          );
          received.push(message);
        }
        // Dead letters do not count towards `max`: look again for the places they freed.
        if (redriven === 0 || received.length >= max) return received;
      }
    });
  }

  changeVisibility(receiptHandle: string, visibleAt: number): boolean {
    const { changes } = this.db.run(
      'UPDATE queue_messages SET visible_at = :visibleAt, leased = 0 WHERE receipt_handle = :handle',
      {
        handle: receiptHandle,
        visibleAt,
      },
    );
    return changes === 1;
  }

  deleteByReceiptHandle(receiptHandle: string): void {
    this.db.run('DELETE FROM queue_messages WHERE receipt_handle = :handle', { handle: receiptHandle });
  }

  nextVisibleAt(): number {
    return (
      this.db.get<{ next: number | null }>('SELECT min(visible_at) AS next FROM queue_messages')?.next ??
      Number.POSITIVE_INFINITY
    );
  }

  size(): number {
    return this.db.get<{ n: number }>('SELECT count(*) AS n FROM queue_messages')?.n ?? 0;
  }

  deadLetters(): DeadLetter[] {
    return this.db
      .all<{ message_id: string; body: string; receive_count: number }>(
        'SELECT message_id, body, receive_count FROM queue_dead_letters ORDER BY rowid',
      )
      .map((row) => ({ messageId: row.message_id, body: row.body, receiveCount: row.receive_count }));
  }

  purge(messagesSentBefore: number, deadLettersSentBefore: number): number {
    return this.db.transaction(
      () =>
        this.db.run('DELETE FROM queue_messages WHERE sent_at <= :before', { before: messagesSentBefore }).changes +
        this.db.run('DELETE FROM queue_dead_letters WHERE sent_at <= :before', { before: deadLettersSentBefore })
          .changes,
    );
  }

  /**
   * At start-up: messages hidden by a receive belong to a consumer of a process that no longer runs
   * (this process owns the database alone), so they are visible again at once instead of after the
   * visibility timeout. Messages held back by ChangeMessageVisibility keep their time. Returns how many.
   */
  releaseLeased(now: number): number {
    return this.db.run(
      'UPDATE queue_messages SET visible_at = :now, leased = 0 WHERE leased = 1 AND visible_at > :now',
      { now },
    ).changes;
  }
}

/** The embedded queue on the durable local database. */
export function sqliteQueue(
  db: LocalDatabase,
  options: EmbeddedQueueOptions = {},
): { queue: EmbeddedQueue; storage: SqliteQueueStorage } {
  const storage = new SqliteQueueStorage(db);
  return { queue: new EmbeddedQueue(options, storage), storage };
}
