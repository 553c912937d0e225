/**
 * The scheduled sweeper (`functions/sweepOverdue.ts`): resumes tasks whose poll message was lost.
 * The logic is in `lib/poll/sweep.ts`.
 */
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { logLambdaContext } from '../log.js';
import { type SweepDependencies, type SweepReport, sweepOverdue } from '../poll/sweep.js';

/** The scheduled sweeper: resumes orphaned tasks. */
export function makeSweepHandler(deps: SweepDependencies): (event: unknown, context: Context) => Promise<SweepReport> {
  return middy<unknown, SweepReport>()
    .use(logLambdaContext(deps.logger))
    .handler(() => sweepOverdue(deps));
}
