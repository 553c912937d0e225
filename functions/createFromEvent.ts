/** EventBridge-triggered: `CreateProgramTask` events create tasks. The logic is in `lib/api/eventSources.ts`. */
import { makeCreateFromEventHandler } from '../lib/api/eventSources.js';
import { awsDependencies } from '../lib/wiring/aws.js';

export const handler = makeCreateFromEventHandler(awsDependencies());
