/** `GET /tasks/{jobid}`: the task's status and result. */
import { makeGetTaskHandler } from '../lib/handlers/getTask.js';
import { readDependencies } from '../lib/wiring/readTasks.js';

export const handler = makeGetTaskHandler(readDependencies());
