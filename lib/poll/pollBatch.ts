/**
 * The SQS batch: every record is one poll step, run concurrently. A record that is waiting for its
 * next poll, or whose step threw, is reported in `batchItemFailures` so Lambda leaves it on the queue;
 * pending is a normal outcome here, not an error, so this does not go through an error-driven batch
 * processor (which would also throw when every record of a batch is merely pending).
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { errorKind } from '../log.js';
import { type PollDependencies, pollTaskRecord, RECEIPT_SLACK_MS } from './pollTask.js';

export async function pollBatch(event: SQSEvent, deps: PollDependencies): Promise<SQSBatchResponse> {
  // The batch was received just before this invocation: every hold counts from then (pollTask.ts).
  const receivedAt = (deps.now ?? Date.now)() - RECEIPT_SLACK_MS;
  const outcomes = await Promise.allSettled(
    event.Records.map((record) => pollTaskRecord({ ...record, receivedAt }, deps)),
  );
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  outcomes.forEach((outcome, index) => {
    const { messageId } = event.Records[index] ?? { messageId: '' };
    if (outcome.status === 'fulfilled' && outcome.value === 'done') return;
    if (outcome.status === 'rejected') {
      // Retried after the queue's visibility timeout; the claim's lease has expired by then.
      deps.logger.error('poll step failed; the message will be retried', {
        messageId,
        error: errorKind(outcome.reason),
      });
    }
    batchItemFailures.push({ itemIdentifier: messageId });
  });
  return { batchItemFailures };
}
