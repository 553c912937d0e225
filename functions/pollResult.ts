/** SQS-triggered poller: one poll step per record. The poll loop is in `lib/poll/pollTask.ts`. */
import { makePollResultHandler } from '../lib/api/routes.js';
import { awsDependencies } from '../lib/wiring/aws.js';

export const handler = makePollResultHandler(awsDependencies());
