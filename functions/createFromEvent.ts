/** EventBridge-triggered: `CreateProgramTask` events create tasks. The logic is in `lib/handlers/createFromEvent.ts`. */
import { makeCreateFromEventHandler } from '../lib/handlers/createFromEvent.js';
import { createFromEventDependencies } from '../lib/wiring/createTasks.js';

export const handler = makeCreateFromEventHandler(createFromEventDependencies());
