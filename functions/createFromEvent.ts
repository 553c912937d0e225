/** EventBridge-triggered: `CreateProgramTask` events create tasks. The logic is in `lib/api/eventSources.ts`. */
import { makeCreateFromEventHandler } from '../lib/api/eventSources.js';
import { createFromEventDependencies } from '../lib/wiring/createTasks.js';

export const handler = makeCreateFromEventHandler(createFromEventDependencies());
