/**
 * The queue- and schedule-driven handlers: the SQS poller and the sweeper.
 */
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { logLambdaContext } from '../log.js';
import { publishMetrics } from '../metrics.js';
import { pollBatch } from '../poll/pollBatch.js';
import type { PollDependencies } from '../poll/pollTask.js';
import { type SweepDependencies, type SweepReport, sweepOverdue } from '../poll/sweep.js';
import { sqsBatchHandler } from '../queue/batchItemFailures.js';

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
  return sqsBatchHandler([logLambdaContext(deps.logger), publishMetrics(deps.metrics, deps.logger)], (event) =>
    pollBatch(event, deps),
  );
}
