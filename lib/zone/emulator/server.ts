/**
 * The emulator over HTTP: the contract the HTTP zone transport speaks.
 *   POST /<api_name>                   body: the request JSON → 200 with the response JSON
 *   POST /program_async_job_call_back  body: {job_info, errcode, result} (an analysis program reports)
 * A transport-level failure answers 4xx/5xx with `{sdk_code, message}`.
 */

import { createServer } from 'node:http';
import { SDK_CODE } from '../../protocol/errcodes.js';
import { BodyTooLargeError, close, listen, readBody, sendJson } from '../../shared/nodeHttp.js';
import { ZoneTransportError } from '../errors.js';
import type { ZoneEmulator } from './emulator.js';

export interface ServedEmulator {
  url: string;
  close(): Promise<void>;
}

export const CALLBACK_PATH = '/program_async_job_call_back';

export async function serveEmulator(
  emulator: ZoneEmulator,
  options: { port?: number; host?: string } = {},
): Promise<ServedEmulator> {
  const server = createServer(async (request, response) => {
    if (request.method !== 'POST') {
      sendJson(response, 405, { sdk_code: SDK_CODE.badHttpStatus, message: 'only POST is served' }, { allow: 'POST' });
      return;
    }
    let body: string;
    try {
      body = (await readBody(request)).toString('utf8');
    } catch (error) {
      const status = error instanceof BodyTooLargeError ? 413 : 400;
      sendJson(response, status, { sdk_code: SDK_CODE.internal, message: 'the request body could not be read' });
      return;
    }
    const path = new URL(request.url ?? '/', 'http://zone').pathname;
    if (path === CALLBACK_PATH) {
      let report: unknown;
      try {
        report = JSON.parse(body);
      } catch {
        sendJson(response, 400, { sdk_code: SDK_CODE.invalidJson, message: 'the body is not valid JSON' });
        return;
      }
      sendJson(response, 200, emulator.programAsyncJobCallBack(report));
      return;
    }
    try {
      const answer = await emulator.invoke(decodeURIComponent(path.slice(1)), body);
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(answer);
    } catch (error) {
      if (error instanceof ZoneTransportError && error.sdkCode === SDK_CODE.networkFailure) {
        // A network failure, as the client sees one: the connection drops without an answer.
        response.destroy();
        return;
      }
      if (error instanceof ZoneTransportError) {
        const status = error.sdkCode === SDK_CODE.unknownApi ? 404 : 400;
        sendJson(response, status, { sdk_code: error.sdkCode, message: error.message });
        return;
      }
      sendJson(response, 500, { sdk_code: SDK_CODE.internal, message: 'internal error' });
    }
  });
  const url = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return { url, close: () => close(server) };
}
