/**
 * The SQS-triggered poller: one poll step per record (`functions/pollResult.ts`).
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logLambdaContext } from '../log.js';
import { flushMetrics } from '../metrics.js';
import { pollBatch } from '../poll/pollBatch.js';
import type { PollDependencies } from '../poll/pollTask.js';

/** The SQS-triggered poller (`ReportBatchItemFailures`). */
export function makePollResultHandler(
  deps: PollDependencies,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(logLambdaContext(deps.logger))
    .use(flushMetrics(deps.metrics, deps.logger))
    .handler((event) => pollBatch(event, deps));
}
