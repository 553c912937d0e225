/** Scheduled: resumes tasks whose poll message was lost. The logic is in `lib/poll/sweep.ts`. */
import { makeSweepHandler } from '../lib/api/routes.js';
import { awsDependencies } from '../lib/wiring/aws.js';

export const handler = makeSweepHandler(awsDependencies());
