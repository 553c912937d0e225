/**
 * middy middleware for the HTTP routes.
 */
import type { MiddlewareObj } from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import type { Log } from '../log.js';
import { errorKind } from '../log.js';
import type { HttpError } from './errors.js';
import { errorResponse, internalErrorResponse } from './response.js';

/**
 * Goes last in the chain: an error `answer` knows (the table of `lib/api/errors.ts`) becomes its
 * JSON answer; anything else is logged by kind and answered 500 without detail (the message of a
 * foreign error is never echoed).
 *
 * @example
 * middy(handler).use(jsonErrorHandler({ logger, answer: errorAnswer }))
 */
export function jsonErrorHandler(options: {
  logger: Log;
  /** The answer of an error, or undefined for one that is answered 500 without detail. */
  answer: (error: unknown) => HttpError | undefined;
}): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyResultV2, Error, Context> {
  return {
    onError: async (request) => {
      const answer = options.answer(request.error);
      if (answer) {
        if (answer.statusCode >= 500)
          options.logger.warn('request failed upstream', { code: answer.code, status: answer.statusCode });
        request.response = errorResponse(answer);
        return;
      }
      const { error } = request;
      options.logger.error('unexpected error', { error: errorKind(error), requestId: request.context?.awsRequestId });
      request.response = internalErrorResponse();
    },
  };
}

/** An HTTP route's Lambda handler (HTTP API payload 2.0; REST API and ALB events fit too). */
export type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;
