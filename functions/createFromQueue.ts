/** SQS-triggered: each message is a create request. The logic is in `lib/api/eventSources.ts`. */
import { makeCreateFromQueueHandler } from '../lib/api/eventSources.js';
import { awsDependencies } from '../lib/wiring/aws.js';

export const handler = makeCreateFromQueueHandler(awsDependencies());
