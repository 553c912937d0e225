/** `GET /tasks/{jobid}`: the task's status and result. */
import { makeGetTaskHandler } from '../lib/api/getTaskRoute.js';
import { readDependencies } from '../lib/wiring/readTasks.js';

export const handler = makeGetTaskHandler(readDependencies());
