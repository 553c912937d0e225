import { describe, expect, it } from 'vitest';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import { ReceiptHandleInvalidError } from '../../lib/queue/errors.js';

// 1 queue second = 20 ms, so SQS timing rules are checked without waiting whole seconds.
const fast = () => new EmbeddedQueue({ visibilityTimeoutSeconds: 5, msPerSecond: 20, maxReceiveCount: 3 });

describe('the embedded queue behaves like SQS where the poll chain depends on it', () => {
  it('delivers a message only after its DelaySeconds', async () => {
    const queue = fast();
    await queue.sendPoll({ jobid: 'a' }, 2);
    expect(await queue.receive(10, 0)).toEqual([]);
    const started = Date.now();
    const [record] = await queue.receive(10, 5);
    expect(Date.now() - started).toBeGreaterThanOrEqual(30);
    expect(JSON.parse(record?.body ?? '')).toEqual({ jobid: 'a' });
  });

  it('hides a received message for the visibility timeout, then delivers it again with a higher receive count', async () => {
    const queue = fast();
    await queue.sendPoll({ jobid: 'a' }, 0);
    const [first] = await queue.receive(10, 0);
    expect(await queue.receive(10, 0)).toEqual([]);
    const [again] = await queue.receive(10, 10);
    expect(again?.messageId).toBe(first?.messageId);
    expect(again?.attributes.ApproximateReceiveCount).toBe('2');
  });

  it('ChangeMessageVisibility holds the message for the new time and refuses a stale receipt handle', async () => {
    const queue = fast();
    await queue.sendPoll({ jobid: 'a' }, 0);
    const [first] = await queue.receive(10, 0);
    await queue.deferPoll(first?.receiptHandle ?? '', 0);
    const [second] = await queue.receive(10, 0);
    expect(second?.messageId).toBe(first?.messageId);
    await expect(queue.deferPoll(first?.receiptHandle ?? '', 1)).rejects.toBeInstanceOf(ReceiptHandleInvalidError);
    await expect(queue.deferPoll(second?.receiptHandle ?? '', 43_201)).rejects.toThrow(/VisibilityTimeout/);
  });

  it('refuses a DelaySeconds SQS would refuse', async () => {
    await expect(fast().sendPoll({ jobid: 'a' }, 901)).rejects.toThrow(/DelaySeconds/);
  });

  it('moves a message to the dead letters after maxReceiveCount receives', async () => {
    const queue = fast();
    await queue.sendPoll({ jobid: 'a' }, 0);
    for (let i = 0; i < 3; i++) {
      const [record] = await queue.receive(1, 0);
      await queue.deferPoll(record?.receiptHandle ?? '', 0);
    }
    expect(await queue.receive(1, 0)).toEqual([]);
    expect(queue.deadLetters).toHaveLength(1);
    expect(queue.size).toBe(0);
  });

  it('deletes by receipt handle', async () => {
    const queue = fast();
    await queue.sendPoll({ jobid: 'a' }, 0);
    const [record] = await queue.receive(1, 0);
    await queue.delete(record?.receiptHandle ?? '');
    expect(queue.size).toBe(0);
  });
});
