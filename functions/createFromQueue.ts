/** SQS-triggered: each message is a create request. The logic is in `lib/api/eventSources.ts`. */
import { makeCreateFromQueueHandler } from '../lib/api/eventSources.js';
import { createDependencies } from '../lib/wiring/createTasks.js';

export const handler = makeCreateFromQueueHandler(createDependencies());
