/**
 * `zone` (also `npm run zone`): the zone emulator alone over HTTP until Ctrl-C / SIGTERM, started
 * as `npm start` starts its embedded one (`startEmulator`).
 */
import { isBlank } from '../shared/env.js';
import { ZoneConfigError } from '../zone/emulator/settings.js';
import { type StartedEmulator, startEmulator } from '../zone/emulator/start.js';
import { EXIT, type ExitCode, UsageError, type ZoneOptions } from './args.js';
import type { CliIo } from './commands.js';

export async function zone(options: ZoneOptions, io: CliIo): Promise<ExitCode> {
  const portText = options.port ?? (isBlank(io.env.ZONE_PORT) ? '4000' : (io.env.ZONE_PORT as string));
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText.trim()) || port > 65_535) {
    throw new UsageError(
      `${options.port !== undefined ? '--port' : 'ZONE_PORT'}: must be an integer from 0 to 65535`,
      'zone',
    );
  }
  const host = options.host ?? (isBlank(io.env.HOST) ? '127.0.0.1' : (io.env.HOST as string).trim());
  let served: StartedEmulator;
  try {
    served = await startEmulator(io.env, { archive: options.archive, programs: options.programs, port, host });
  } catch (error) {
    if (error instanceof ZoneConfigError) throw new UsageError(error.message);
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is in use; choose another with --port`);
    if (code === 'EACCES') throw new UsageError(`not allowed to listen on port ${port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`--host / HOST: cannot listen on ${host} (${code})`);
    throw error;
  }
  // The same line as `npm run zone`: scripts and tests wait for "listening on http://…".
  io.stderr.write(`zone emulator listening on ${served.url} (${served.summary})\n`);
  io.stderr.write(`point the API at it: ZONE_BRIDGE_URL=${served.url} npm start\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await served.close();
  return EXIT.ok;
}
