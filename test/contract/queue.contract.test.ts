/**
 * The poll queue's contract, on every adapter: the embedded queue in memory, the embedded queue on
 * the durable SQLite database, and SQS (moto_server) with a redrive policy. What the poll chain
 * relies on: DelaySeconds, the visibility timeout, ChangeMessageVisibility, ApproximateReceiveCount,
 * deletion by receipt handle, long polling, and the dead-letter queue after maxReceiveCount receives.
 *
 * Times are in queue seconds: real seconds on SQS; the local queues run the same rules 10× faster.
 */
import { describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import type { PollQueue, QueueConsumer } from '../../lib/queue/port.js';
import { sqliteQueue } from '../../lib/queue/sqliteQueue.js';
import { sqsClient } from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';
import {
  type AdapterKind,
  AWS,
  createQueueWithDeadLetters,
  deadLetterBodies,
  MEMORY,
  SQLITE,
  tempDatabase,
} from './adapters.js';

const VISIBILITY_SECONDS = 2;
const MAX_RECEIVES = 3;
const LOCAL = { visibilityTimeoutSeconds: VISIBILITY_SECONDS, maxReceiveCount: MAX_RECEIVES, msPerSecond: 100 };

interface QueueUnderTest {
  queue: PollQueue & QueueConsumer;
  deadLetterBodies(): Promise<string[]>;
}

const adapters: { kind: AdapterKind; make: () => Promise<QueueUnderTest> }[] = [
  {
    kind: MEMORY,
    make: async () => {
      const queue = new EmbeddedQueue(LOCAL);
      return { queue, deadLetterBodies: async () => queue.deadLetters.map((letter) => letter.body) };
    },
  },
  {
    kind: SQLITE,
    make: async () => {
      const { queue } = sqliteQueue(tempDatabase(), LOCAL);
      return { queue, deadLetterBodies: async () => queue.deadLetters.map((letter) => letter.body) };
    },
  },
  {
    kind: AWS,
    make: async () => {
      const client = sqsClient();
      const { queueUrl, deadLetterUrl } = await createQueueWithDeadLetters(client, {
        visibilityTimeoutSeconds: VISIBILITY_SECONDS,
        maxReceiveCount: MAX_RECEIVES,
      });
      return {
        queue: new SqsTestQueue(client, queueUrl),
        deadLetterBodies: () => deadLetterBodies(client, deadLetterUrl),
      };
    },
  },
];

const bodyOf = (record: { body: string } | undefined) => JSON.parse(record?.body ?? 'null');

for (const { kind, make } of adapters) {
  describe.skipIf(!kind.available)(`PollQueue contract on ${kind.name}`, () => {
    it('delivers a message only after its DelaySeconds, with its receive count and send time', async () => {
      const { queue } = await make();
      const before = Date.now();
      await queue.sendPoll({ jobid: 'j1' }, 1);
      expect(await queue.receive(10, 0)).toEqual([]);
      const [record] = await queue.receive(10, 4);
      expect(bodyOf(record)).toEqual({ jobid: 'j1' });
      expect(record?.attributes.ApproximateReceiveCount).toBe('1');
      expect(Number(record?.attributes.SentTimestamp)).toBeGreaterThanOrEqual(before - 1000);
    });

    it('hides a received message for the visibility timeout, then delivers it again with one more receive', async () => {
      const { queue } = await make();
      await queue.sendPoll({ jobid: 'j2', chain: 1 }, 0);
      const [first] = await queue.receive(10, 2);
      expect(await queue.receive(10, 0)).toEqual([]);
      const [again] = await queue.receive(10, VISIBILITY_SECONDS + 3);
      expect(again?.messageId).toBe(first?.messageId);
      expect(bodyOf(again)).toEqual({ jobid: 'j2', chain: 1 });
      expect(again?.attributes.ApproximateReceiveCount).toBe('2');
    });

    it('holds a message back with ChangeMessageVisibility, or releases it at once with 0', async () => {
      const { queue } = await make();
      await queue.sendPoll({ jobid: 'j3' }, 0);
      const [first] = await queue.receive(10, 2);
      await queue.deferPoll(first?.receiptHandle ?? '', 0);
      const [second] = await queue.receive(10, 2);
      expect(second?.messageId).toBe(first?.messageId);
      await queue.deferPoll(second?.receiptHandle ?? '', 1);
      expect(await queue.receive(10, 0)).toEqual([]);
      const [third] = await queue.receive(10, 4);
      expect(third?.messageId).toBe(first?.messageId);
      expect(third?.attributes.ApproximateReceiveCount).toBe('3');
    });

    it('deletes by receipt handle; a deleted message cannot be held back any more', async () => {
      const { queue } = await make();
      await queue.sendPoll({ jobid: 'j4' }, 0);
      const [record] = await queue.receive(10, 2);
      await queue.delete(record?.receiptHandle ?? '');
      await expect(queue.deferPoll(record?.receiptHandle ?? '', 1)).rejects.toThrow();
      expect(await queue.receive(10, 1)).toEqual([]);
    });

    it('moves a message to the dead-letter queue after maxReceiveCount receives', async () => {
      const { queue, deadLetterBodies } = await make();
      await queue.sendPoll({ jobid: 'poison' }, 0);
      for (let i = 1; i <= MAX_RECEIVES; i++) {
        const [record] = await queue.receive(1, 2);
        expect(record?.attributes.ApproximateReceiveCount).toBe(String(i));
        await queue.deferPoll(record?.receiptHandle ?? '', 0);
      }
      expect(await queue.receive(1, 1)).toEqual([]);
      expect((await deadLetterBodies()).map((body) => JSON.parse(body))).toEqual([{ jobid: 'poison' }]);
    });

    it('receives at most the batch size, every message once per receive', async () => {
      const { queue } = await make();
      await Promise.all(Array.from({ length: 15 }, (_, i) => queue.sendPoll({ jobid: `b${i}` }, 0)));
      const seen = new Set<string>();
      for (let round = 0; round < 10 && seen.size < 15; round++) {
        const batch = await queue.receive(10, 1);
        expect(batch.length).toBeLessThanOrEqual(10);
        for (const record of batch) {
          expect(seen.has(record.messageId)).toBe(false);
          seen.add(record.messageId);
        }
      }
      expect(seen.size).toBe(15);
    });

    it('a long poll returns the message sent while it waits', async () => {
      const { queue } = await make();
      const waiting = queue.receive(10, 10);
      await new Promise((resolve) => setTimeout(resolve, 200));
      await queue.sendPoll({ jobid: 'late' }, 0);
      expect((await waiting).map(bodyOf)).toEqual([{ jobid: 'late' }]);
    });

    it('refuses a VisibilityTimeout above 12 h (43 200 s)', async () => {
      const { queue } = await make();
      await queue.sendPoll({ jobid: 'v' }, 0);
      const [record] = await queue.receive(10, 2);
      await expect(queue.deferPoll(record?.receiptHandle ?? '', 43_201)).rejects.toThrow();
      await queue.deferPoll(record?.receiptHandle ?? '', 0);
      expect((await queue.receive(10, 2)).map(bodyOf)).toEqual([{ jobid: 'v' }]);
    });

    it('refuses a DelaySeconds above 900', async () => {
      const { queue } = await make();
      await expect(queue.sendPoll({ jobid: 'x' }, 901)).rejects.toThrow();
    });
  });
}
