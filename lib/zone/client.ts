/**
 * Typed calls of the two zone interfaces over any {@link ZoneTransport}.
 */

import { SDK_CODE } from '../protocol/errcodes.js';
import {
  type CreateProgramTaskRequest,
  type CreateProgramTaskResponse,
  CreateProgramTaskResponseSchema,
  type GetProgramTaskResultResponse,
  GetProgramTaskResultResponseSchema,
  ZONE_API,
} from '../protocol/zone.js';
import { ZoneTransportError } from './errors.js';
import type { ZoneTransport } from './port.js';

export interface ZoneClient {
  /** `corpId`: the corp whose zone creates the task (several corps served); ignored by one-corp transports. */
  createProgramTask(request: CreateProgramTaskRequest, corpId?: string): Promise<CreateProgramTaskResponse>;
  getProgramTaskResult(jobid: string, corpId?: string): Promise<GetProgramTaskResultResponse>;
}

function parseResponse<T>(
  apiName: string,
  json: string,
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } },
): T {
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch {
    throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the zone answered with invalid JSON`);
  }
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    throw new ZoneTransportError(SDK_CODE.invalidJson, `${apiName}: the zone's answer does not follow the protocol`);
  }
  return parsed.data;
}

/**
 * @example
 * const zone = zoneClient(new HttpZoneTransport({ baseUrl: 'http://127.0.0.1:4000' }));
 * const { jobid } = await zone.createProgramTask(request);
 */
export function zoneClient(transport: ZoneTransport): ZoneClient {
  return {
    async createProgramTask(request, corpId) {
      const json = await transport.invoke(
        ZONE_API.createProgramTask,
        JSON.stringify(request),
        corpId === undefined ? undefined : { corpId },
      );
      return parseResponse(ZONE_API.createProgramTask, json, CreateProgramTaskResponseSchema);
    },
    async getProgramTaskResult(jobid, corpId) {
      const json = await transport.invoke(
        ZONE_API.getProgramTaskResult,
        JSON.stringify({ jobid }),
        corpId === undefined ? undefined : { corpId },
      );
      return parseResponse(ZONE_API.getProgramTaskResult, json, GetProgramTaskResultResponseSchema);
    },
  };
}
