/**
 * The async-program mapping of WeCom's HTTPS API (`ZONE_TRANSPORT=wecom`), for a provider whose own
 * zone program runs the task loop inside the zone. Most providers want the relay transport
 * (`relayTransport.ts`) instead: docs/reach-your-corp.md "Which transport".
 * `create_program_task` becomes `async_program_task` to a configured zone program, with the request
 * as `request_data`; `get_program_task_result` becomes `async_program_result` (see `protocol.ts`).
 * Tokens, secrets and refresh-and-replay: {@link WecomApiClient}.
 */

import { SDK_CODE } from '../../protocol/errcodes.js';
import { ZONE_API } from '../../protocol/zone.js';
import { ZoneTransportError } from '../errors.js';
import type { ZoneTransport } from '../port.js';
import { WecomApiClient, type WecomApiClientOptions, type WecomApiStats } from './apiClient.js';
import {
  AsyncProgramResultAnswerSchema,
  AsyncProgramTaskAnswerSchema,
  asyncProgramTaskBody,
  toCreateProgramTaskResponse,
  toGetProgramTaskResultResponse,
  WECOM_PATH,
  type WecomProgram,
} from './protocol.js';

export { WecomCredentialsError } from './apiClient.js';

export interface WecomHttpsTransportOptions extends WecomApiClientOptions {
  /** The zone program (and its ability) that receives the create request as `request_data`. */
  zoneProgram: WecomProgram;
}

export class WecomHttpsTransport implements ZoneTransport {
  readonly #api: WecomApiClient;
  readonly #zoneProgram: WecomProgram;

  constructor(options: WecomHttpsTransportOptions) {
    this.#api = new WecomApiClient(options);
    this.#zoneProgram = options.zoneProgram;
  }

  get stats(): WecomApiStats {
    return this.#api.stats;
  }

  async invoke(apiName: string, requestJson: string): Promise<string> {
    switch (apiName) {
      case ZONE_API.createProgramTask: {
        parseRequest(apiName, requestJson);
        const answer = await this.#api.post(
          apiName,
          WECOM_PATH.asyncProgramTask,
          asyncProgramTaskBody(this.#zoneProgram, requestJson),
        );
        return toCreateProgramTaskResponse(parseAnswer(apiName, answer, AsyncProgramTaskAnswerSchema));
      }
      case ZONE_API.getProgramTaskResult: {
        const { jobid } = parseJobid(apiName, requestJson);
        const answer = await this.#api.post(apiName, WECOM_PATH.asyncProgramResult, JSON.stringify({ jobid }));
        return toGetProgramTaskResultResponse(parseAnswer(apiName, answer, AsyncProgramResultAnswerSchema));
      }
      default:
        throw new ZoneTransportError(SDK_CODE.unknownApi, `unknown zone API: ${apiName}`, 'not_sent');
    }
  }
}

function parseAnswer<T>(
  what: string,
  answer: unknown,
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
): T {
  const parsed = schema.safeParse(answer);
  if (!parsed.success)
    throw new ZoneTransportError(SDK_CODE.invalidJson, `${what}: WeCom's answer does not follow the protocol`);
  return parsed.data;
}

/** The request as a JSON value; a transport error (nothing sent) when it is not JSON. */
export function parseRequest(apiName: string, requestJson: string): unknown {
  try {
    return JSON.parse(requestJson);
  } catch {
    throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the request is not valid JSON`, 'not_sent');
  }
}

/** The `jobid` of a `get_program_task_result` request. */
export function parseJobid(apiName: string, requestJson: string): { jobid: string } {
  const request = parseRequest(apiName, requestJson);
  const jobid = request !== null && typeof request === 'object' ? (request as { jobid?: unknown }).jobid : undefined;
  if (typeof jobid !== 'string' || jobid === '')
    throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the request has no jobid`, 'not_sent');
  return { jobid };
}
