/**
 * A local stand-in for API Gateway's HTTP API: turns node:http requests into payload-2.0 events for
 * the same route handlers the Lambda functions run, and their results back into responses.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import type { HttpHandler } from '../http/middleware.js';
import { REPEATED_HEADER_SEPARATOR } from '../http/request.js';
import { BodyTooLargeError, readBody, sendJson } from '../shared/nodeHttp.js';
import { localContext } from './eventSourceMapping.js';

export interface Route {
  method: 'GET' | 'POST';
  /** e.g. `/tasks/{jobid}`: one path parameter per `{name}` segment. */
  path: string;
  handler: HttpHandler;
  /** Served without the bearer token (the API document, public on AWS too). */
  public?: boolean;
}

export interface ApiServerOptions {
  routes: Route[];
  /** When set, every request must carry `Authorization: Bearer <token>`. */
  bearerToken?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function matchRoute(route: Route, path: string): Record<string, string> | undefined {
  const want = route.path.split('/');
  const have = path.split('/');
  if (want.length !== have.length) return undefined;
  const parameters: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const segment = want[i] ?? '';
    const actual = have[i] ?? '';
    if (segment.startsWith('{') && segment.endsWith('}')) {
      if (actual === '') return undefined;
      try {
        parameters[segment.slice(1, -1)] = decodeURIComponent(actual);
      } catch {
        parameters[segment.slice(1, -1)] = actual;
      }
    } else if (segment !== actual) return undefined;
  }
  return parameters;
}

/** The request target as a URL; undefined for a target that is not one (absolute-form with a bad host...). */
function requestUrl(request: IncomingMessage): URL | undefined {
  try {
    return new URL(request.url ?? '/', 'http://localhost');
  } catch {
    return undefined;
  }
}

/**
 * The request's headers as API Gateway's HTTP API hands them to a function (payload 2.0): lower-case
 * names, a repeated header's values joined with "," (Node's own `request.headers` joins most with
 * ", " and keeps only the first of some, such as Authorization, which would answer differently).
 */
function eventHeaders(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(request.headersDistinct)) {
    if (values !== undefined) headers[name] = values.join(REPEATED_HEADER_SEPARATOR);
  }
  return headers;
}

function toEvent(
  request: IncomingMessage,
  url: URL,
  route: Route,
  pathParameters: Record<string, string>,
  body: Buffer,
): APIGatewayProxyEventV2 {
  const headers = eventHeaders(request);
  // As API Gateway does: text stays text, anything that is not valid UTF-8 arrives base64-encoded.
  let text: string | undefined;
  try {
    text = utf8.decode(body);
  } catch {
    text = undefined;
  }
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `${route.method} ${route.path}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    pathParameters,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: `${route.method} ${route.path}`,
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body: body.length === 0 ? undefined : (text ?? body.toString('base64')),
    isBase64Encoded: body.length > 0 && text === undefined,
  };
}

export function createApiServer(options: ApiServerOptions): Server {
  return createServer(async (request, response) => {
    try {
      const url = requestUrl(request);
      if (!url) {
        sendJson(response, 400, { error: 'invalid_request', message: 'the request target is not a valid URL' });
        return;
      }
      const path = url.pathname;
      const candidates = options.routes
        .map((route) => ({ route, parameters: matchRoute(route, path) }))
        .filter((match) => match.parameters !== undefined);
      const match = candidates.find((candidate) => candidate.route.method === request.method);
      // As on AWS: public routes (the API document) need no credentials, every other request does.
      if (
        options.bearerToken &&
        !match?.route.public &&
        eventHeaders(request).authorization !== `Bearer ${options.bearerToken}`
      ) {
        sendJson(
          response,
          401,
          { error: 'unauthorized', message: 'a valid bearer token is required' },
          { 'www-authenticate': 'Bearer' },
        );
        return;
      }
      if (!match) {
        if (candidates.length > 0) {
          const allow = candidates.map((candidate) => candidate.route.method).join(', ');
          sendJson(
            response,
            405,
            { error: 'method_not_allowed', message: `${request.method} is not allowed here` },
            { allow },
          );
        } else sendJson(response, 404, { error: 'not_found', message: `no route for ${request.method} ${path}` });
        return;
      }
      let body: Buffer;
      try {
        body = await readBody(request);
      } catch (error) {
        if (error instanceof BodyTooLargeError) {
          sendJson(response, 413, { error: 'payload_too_large', message: error.message });
          return;
        }
        throw error;
      }
      const result = await match.route.handler(
        toEvent(request, url, match.route, match.parameters ?? {}, body),
        localContext('api'),
      );
      writeResult(response, result);
    } catch {
      if (!response.headersSent)
        sendJson(response, 500, { error: 'internal_error', message: 'the request could not be completed' });
      else response.destroy();
    }
  });
}

function writeResult(response: import('node:http').ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result === 'string') {
    sendJson(response, 200, JSON.parse(result));
    return;
  }
  const body = result.isBase64Encoded && result.body ? Buffer.from(result.body, 'base64') : (result.body ?? '');
  const headers: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  headers['content-length'] = Buffer.byteLength(body);
  response.writeHead(result.statusCode ?? 200, headers);
  response.end(body);
}
