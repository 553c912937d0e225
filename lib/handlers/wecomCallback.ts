/**
 * `GET|POST /wecom/callback/{suite_id}`: WeCom's command callback of a suite (lib/corps/callback.ts),
 * as a middy handler for API Gateway and the local server. Public on purpose: WeCom cannot sign with
 * SigV4; the message signature (Token) and AES (EncodingAESKey) are the authentication.
 */
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { CallbackReceiver } from '../corps/callback.js';
import type { HttpHandler } from '../http/middleware.js';
import { type Log, logLambdaContext } from '../log.js';

/** The path of a suite's callback URL (enter `https://<api>/wecom/callback/<suite_id>` in the provider console). */
export const WECOM_CALLBACK_PATH = '/wecom/callback/{suite_id}';

/**
 * The query as WeCom sent it, each value URL-decoded once (doc 14961: "参数值需要做Urldecode处理").
 * A `+` stays a `+`: echostr is base64, where `+` is a digit, not a space.
 */
export function callbackQuery(rawQueryString: string | undefined): Record<string, string> {
  const query: Record<string, string> = {};
  for (const pair of (rawQueryString ?? '').split('&')) {
    if (!pair) continue;
    const at = pair.indexOf('=');
    const name = at < 0 ? pair : pair.slice(0, at);
    const value = at < 0 ? '' : pair.slice(at + 1);
    try {
      query[decodeURIComponent(name)] = decodeURIComponent(value);
    } catch {
      // Not valid percent-encoding: left out, so the check names the parameter as missing.
    }
  }
  return query;
}

export function makeWecomCallbackHandler(deps: { callbacks: CallbackReceiver; logger: Log }): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyResultV2>()
    .use(logLambdaContext(deps.logger))
    .handler(async (event) => {
      const body =
        event.body === undefined
          ? undefined
          : event.isBase64Encoded
            ? Buffer.from(event.body, 'base64').toString('utf8')
            : event.body;
      const answer = await deps.callbacks.handle({
        method: event.requestContext.http.method,
        suiteId: event.pathParameters?.suite_id ?? '',
        query: callbackQuery(event.rawQueryString),
        body,
      });
      return {
        statusCode: answer.statusCode,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: answer.body,
      };
    });
}
