/**
 * The one way to start the zone emulator over HTTP, shared by `npm start` (the embedded emulator,
 * `lib/local/start.ts`) and `npm run zone` / `wecom-zone-tasks zone` (`lib/cli/zone.ts`): the
 * ZONE_* settings parsed (`parseZoneEnv`), the archive and programs loaded, the server listening, and
 * the callback URL external programs report to set from the address it got.
 */
import type { Env } from '../../shared/env.js';
import type { ZoneEmulator } from './emulator.js';
import { CALLBACK_PATH, serveEmulator } from './server.js';
import { configureEmulator, parseZoneEnv } from './settings.js';

export interface StartedEmulator {
  emulator: ZoneEmulator;
  /** `http://host:port`, the port the server got (0 asks for any free one). */
  url: string;
  /** For the start-up line: which archive and programs are loaded. */
  summary: string;
  close(): Promise<void>;
}

/**
 * Start the emulator. `archive` / `programs` (command-line options) win over ZONE_ARCHIVE_FILE /
 * ZONE_PROGRAMS_FILE. Throws ZoneConfigError for a wrong setting or file (naming it), and the
 * server's listen error (`EADDRINUSE`, `EACCES` …) as it comes.
 *
 * @example
 * const zone = await startEmulator(process.env, { port: 4000, host: '127.0.0.1' });
 */
export async function startEmulator(
  env: Env,
  options: { archive?: string; programs?: string; port: number; host: string },
): Promise<StartedEmulator> {
  const configured = await configureEmulator(parseZoneEnv(env), {
    archive: options.archive,
    programs: options.programs,
  });
  const served = await serveEmulator(configured.emulator, { port: options.port, host: options.host });
  configured.setCallbackUrl(`${served.url}${CALLBACK_PATH}`);
  return { emulator: configured.emulator, url: served.url, summary: configured.summary, close: () => served.close() };
}
