/**
 * SQS batches with `ReportBatchItemFailures` (AWS Lambda Developer Guide, "Handling errors for an SQS
 * event source in Lambda"): each record is handled on its own, concurrently; the records whose
 * handling rejected are reported in `batchItemFailures`, so Lambda leaves only them on the queue.
 * `@middy/sqs-partial-batch-failure` turns the settled results into that answer (and, when the
 * handler throws, reports every record).
 */
import middy, { type MiddlewareObj } from '@middy/core';
import sqsPartialBatchFailure from '@middy/sqs-partial-batch-failure';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/** What to do with one record: resolve when it is done with, reject to leave it on the queue. */
export type RecordHandler = (record: SQSRecord) => Promise<void>;

/**
 * An SQS-triggered handler: `middlewares` (logging context, metrics), then
 * `@middy/sqs-partial-batch-failure` with its logger off: its default, `console.error(reason,
 * record)`, logs whole records, and the body of a create request holds secret keys. `forBatch` gets
 * the event once and answers how to handle each of its records; it logs its own failures, by message
 * id and error kind.
 *
 * @example
 * export const handler = sqsBatchHandler([logLambdaContext(logger)], () => (record) => handle(record));
 */
export function sqsBatchHandler(
  middlewares: MiddlewareObj[],
  forBatch: (event: SQSEvent) => RecordHandler,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return (
    middy<SQSEvent, SQSBatchResponse>()
      .use(middlewares)
      // Last, so its `after` runs first and the others see the batch response.
      .use(sqsPartialBatchFailure({ logger: () => undefined }))
      .handler(async (event) => {
        const handle = forBatch(event);
        const settled = await Promise.allSettled(event.Records.map((record) => handle(record)));
        // One settled result per record, in order: the middleware's input, which its `after` replaces
        // with the SQSBatchResponse this handler answers.
        return settled as unknown as SQSBatchResponse;
      })
  );
}
