/** `GET /openapi.json`: the API's OpenAPI document. Needs no AWS resource, so no `awsDependencies()`. */
import { makeOpenApiHandler } from '../lib/api/openapi.js';
import { createLogger } from '../lib/log.js';

export const handler = makeOpenApiHandler({ logger: createLogger() });
