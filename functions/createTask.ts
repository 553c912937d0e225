/** `POST /tasks`: create a zone task. The logic is in `lib/api/routes.ts` and `lib/tasks/submitTask.ts`. */
import { makeCreateTaskHandler } from '../lib/api/routes.js';
import { awsDependencies } from '../lib/wiring/aws.js';

export const handler = makeCreateTaskHandler(awsDependencies());
