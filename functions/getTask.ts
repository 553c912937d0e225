/** `GET /tasks/{jobid}`: the task's status and result. */
import { makeGetTaskHandler } from '../lib/api/routes.js';
import { awsDependencies } from '../lib/wiring/aws.js';

export const handler = makeGetTaskHandler(awsDependencies());
