/** SQS-triggered poller: one poll step per record. The poll loop is in `lib/poll/pollTask.ts`. */
import { makePollResultHandler } from '../lib/handlers/pollResult.js';
import { pollDependencies } from '../lib/wiring/pollTasks.js';

export const handler = makePollResultHandler(pollDependencies());
