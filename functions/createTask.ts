/** `POST /tasks`: create a zone task. The logic is in `lib/handlers/createTask.ts` and `lib/create/submitTask.ts`. */
import { makeCreateTaskHandler } from '../lib/handlers/createTask.js';
import { createDependencies } from '../lib/wiring/createTasks.js';

export const handler = makeCreateTaskHandler(createDependencies());
