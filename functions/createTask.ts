/** `POST /tasks`: create a zone task. The logic is in `lib/api/routes.ts` and `lib/tasks/submitTask.ts`. */
import { makeCreateTaskHandler } from '../lib/api/createTaskRoute.js';
import { createDependencies } from '../lib/wiring/createTasks.js';

export const handler = makeCreateTaskHandler(createDependencies());
