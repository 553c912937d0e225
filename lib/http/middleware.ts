/**
 * middy middleware for the HTTP routes.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Log } from '../log.js';
import { errorKind } from '../log.js';
import { HttpError } from './errors.js';
import { errorResponse, internalErrorResponse } from './response.js';

/**
 * Goes last in the chain: an {@link HttpError} becomes its JSON answer; anything else is logged by
 * kind and answered 500 without detail (the message of a foreign error is never echoed).
 *
 * @example
 * middy(handler).use(jsonErrorHandler({ logger }))
 */
export function jsonErrorHandler(options: {
  logger: Log;
}): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context> {
  return {
    onError: async (request) => {
      const { error } = request;
      if (error instanceof HttpError) {
        if (error.statusCode >= 500)
          options.logger.warn('request failed upstream', { code: error.code, status: error.statusCode });
        request.response = errorResponse(error);
        return;
      }
      options.logger.error('unexpected error', { error: errorKind(error), requestId: request.context?.awsRequestId });
      request.response = internalErrorResponse();
    },
  };
}
