/**
 * The SQS-triggered poller: one poll step per record (`functions/pollResult.ts`).
 */
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logLambdaContext } from '../log.js';
import { publishMetrics } from '../metrics.js';
import { pollBatch } from '../poll/pollBatch.js';
import type { PollDependencies } from '../poll/pollTask.js';
import { sqsBatchHandler } from '../queue/batchItemFailures.js';

/** The SQS-triggered poller (`ReportBatchItemFailures`). */
export function makePollResultHandler(
  deps: PollDependencies,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return sqsBatchHandler([logLambdaContext(deps.logger), publishMetrics(deps.metrics, deps.logger)], (event) =>
    pollBatch(event, deps),
  );
}
