/**
 * Runs an analysis program that lives in its own process, over HTTP, as the zone calls a program:
 *   POST <program url>  {ability_id, job_info, data}   (+ header x-zone-callback-url)
 * The program either answers at once with its report `{errcode, result}` (synchronous), or accepts
 * (202, or any 2xx without a report) and reports later by POSTing `{job_info, errcode, result}` to
 * the callback URL, which mirrors the SDK's `program_async_job_call_back`.
 */
import { ProgramReportSchema } from '../../protocol/zone.js';
import type { ProgramRunner } from './emulator.js';

export const CALLBACK_URL_HEADER = 'x-zone-callback-url';

export interface HttpProgramRunnerOptions {
  /** Where programs report; read at each call, since the emulator's server may start later. */
  callbackUrl: () => string | undefined;
  /** How long a program may take to accept (or answer) a call. */
  timeoutMs?: number;
}

export class ProgramCallError extends Error {
  override readonly name = 'ProgramCallError';
}

export function httpProgramRunner(options: HttpProgramRunnerOptions): ProgramRunner {
  return async (call, ability) => {
    if (ability.handler.type !== 'http')
      throw new ProgramCallError(`ability ${ability.ability_id} is not an HTTP program`);
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    const callbackUrl = options.callbackUrl();
    if (callbackUrl) headers[CALLBACK_URL_HEADER] = callbackUrl;
    let response: Response;
    try {
      response = await fetch(ability.handler.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(call),
        signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
      });
    } catch (error) {
      throw new ProgramCallError(`program ${ability.handler.url} unreachable (${(error as Error).name})`);
    }
    const text = await response.text();
    if (!response.ok) throw new ProgramCallError(`program answered HTTP ${response.status}`);
    if (response.status === 202 || text.trim() === '') return undefined;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new ProgramCallError('program answered with invalid JSON');
    }
    const report = ProgramReportSchema.safeParse(body);
    return report.success ? report.data : undefined;
  };
}
