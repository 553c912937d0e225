/** Scheduled: resumes tasks whose poll message was lost. The logic is in `lib/poll/sweep.ts`. */
import { makeSweepHandler } from '../lib/handlers/sweepOverdue.js';
import { sweepDependencies } from '../lib/wiring/sweepTasks.js';

export const handler = makeSweepHandler(sweepDependencies());
