/**
 * `GET /openapi.json` (`functions/openapi.ts`): the API's OpenAPI document, built once per container
 * from the schemas in `lib/api/openapi.ts`. Needs no AWS resource.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { errorAnswer } from '../api/errors.js';
import { openApiDocument } from '../api/openapi.js';
import { type HttpHandler, jsonErrorHandler } from '../http/middleware.js';
import { jsonResponse } from '../http/response.js';
import type { Log } from '../log.js';

/**
 * `GET /openapi.json` → 200, the document. Needs no AWS resource.
 *
 * @example
 * export const handler = makeOpenApiHandler({ logger: createLogger() });
 */
export function makeOpenApiHandler(deps: { logger: Log }): HttpHandler {
  const document = openApiDocument();
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(jsonErrorHandler({ logger: deps.logger, answer: errorAnswer }))
    .handler(async () => jsonResponse(200, document, { 'cache-control': 'public, max-age=300' }));
}
