/**
 * The SQS batch: every record is one poll step, run concurrently. A record that is waiting for its
 * next poll, or whose step threw, is rejected, so it is reported in `batchItemFailures` and Lambda
 * leaves it on the queue (`lib/queue/batchItemFailures.ts`); waiting is a normal outcome, logged as nothing.
 */
import type { SQSEvent } from 'aws-lambda';
import { errorKind } from '../log.js';
import type { RecordHandler } from '../queue/batchItemFailures.js';
import { type PollDependencies, pollTaskRecord, RECEIPT_SLACK_MS } from './pollTask.js';

/** A record whose task waits for its next poll: its message stays on the queue, held back until then. */
export class WaitingForNextPoll extends Error {
  override readonly name = 'WaitingForNextPoll';
}

/** How to poll each record of `event`: resolves when the task's message is done with. */
export function pollBatch(_event: SQSEvent, deps: PollDependencies): RecordHandler {
  // The batch was received just before this invocation: every hold counts from then (pollTask.ts).
  const receivedAt = (deps.now ?? Date.now)() - RECEIPT_SLACK_MS;
  return async (record) => {
    let outcome: Awaited<ReturnType<typeof pollTaskRecord>>;
    try {
      outcome = await pollTaskRecord({ ...record, receivedAt }, deps);
    } catch (error) {
      // Retried after the queue's visibility timeout; the claim's lease has expired by then.
      deps.logger.error('poll step failed; the message will be retried', {
        messageId: record.messageId,
        error: errorKind(error),
      });
      throw error;
    }
    if (outcome !== 'done') throw new WaitingForNextPoll(record.messageId);
  };
}
