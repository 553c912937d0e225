/** `GET /openapi.json`: the API's OpenAPI document. Needs no AWS resource, so no dependency builder. */
import { makeOpenApiHandler } from '../lib/handlers/openapi.js';
import { createLogger } from '../lib/log.js';

export const handler = makeOpenApiHandler({ logger: createLogger() });
