/** SQS-triggered: each message is a create request. The logic is in `lib/handlers/createFromQueue.ts`. */
import { makeCreateFromQueueHandler } from '../lib/handlers/createFromQueue.js';
import { createDependencies } from '../lib/wiring/createTasks.js';

export const handler = makeCreateFromQueueHandler(createDependencies());
