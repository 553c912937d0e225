/**
 * The queue- and schedule-driven handlers: the SQS poller and the sweeper.
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logLambdaContext } from '../log.js';
import { flushMetrics } from '../metrics.js';
import { pollBatch } from '../poll/pollBatch.js';
import type { PollDependencies } from '../poll/pollTask.js';
import { type SweepDependencies, type SweepReport, sweepOverdue } from '../poll/sweep.js';

/** The scheduled sweeper: resumes orphaned tasks. */
export function makeSweepHandler(deps: SweepDependencies): (event: unknown, context: Context) => Promise<SweepReport> {
  return middy<unknown, SweepReport>()
    .use(logLambdaContext(deps.logger))
    .handler(() => sweepOverdue(deps));
}

/** The SQS-triggered poller (`ReportBatchItemFailures`). */
export function makePollResultHandler(
  deps: PollDependencies,
): (event: SQSEvent, context: Context) => Promise<SQSBatchResponse> {
  return middy<SQSEvent, SQSBatchResponse>()
    .use(logLambdaContext(deps.logger))
    .use(flushMetrics(deps.metrics, deps.logger))
    .handler((event) => pollBatch(event, deps));
}
