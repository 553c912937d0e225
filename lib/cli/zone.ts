/**
 * `zone`: the zone emulator alone over HTTP, as `npm run zone` (lib/zone/emulator/main.ts) runs it,
 * built from the same shared functions (configureEmulator, serveEmulator), until Ctrl-C / SIGTERM.
 */
import { CALLBACK_PATH, serveEmulator } from '../zone/emulator/server.js';
import { configureEmulator, parseZoneEnv, ZoneConfigError } from '../zone/emulator/settings.js';
import { EXIT, type ExitCode, UsageError, type ZoneOptions } from './args.js';
import type { CliIo } from './commands.js';

export async function zone(options: ZoneOptions, io: CliIo): Promise<ExitCode> {
  const portText = options.port ?? (io.env.ZONE_PORT || '4000');
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText.trim()) || port > 65_535) {
    throw new UsageError(
      `${options.port !== undefined ? '--port' : 'ZONE_PORT'}: must be an integer from 0 to 65535`,
      'zone',
    );
  }
  const host = options.host ?? (io.env.HOST || '127.0.0.1');
  let configured: Awaited<ReturnType<typeof configureEmulator>>;
  try {
    const env = parseZoneEnv(io.env);
    const files = {
      archive: options.archive ?? env.ZONE_ARCHIVE_FILE,
      programs: options.programs ?? env.ZONE_PROGRAMS_FILE,
    };
    configured = await configureEmulator(env, files);
  } catch (error) {
    if (error instanceof ZoneConfigError) throw new UsageError(error.message);
    throw error;
  }
  let served: Awaited<ReturnType<typeof serveEmulator>>;
  try {
    served = await serveEmulator(configured.emulator, { port, host });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException)?.code;
    if (code === 'EADDRINUSE') throw new UsageError(`port ${port} on ${host} is in use; choose another with --port`);
    if (code === 'EACCES') throw new UsageError(`not allowed to listen on port ${port}`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new UsageError(`--host / HOST: cannot listen on ${host} (${code})`);
    throw error;
  }
  configured.setCallbackUrl(`${served.url}${CALLBACK_PATH}`);
  // The same line as `npm run zone`: scripts and tests wait for "listening on http://…".
  io.stderr.write(`zone emulator listening on ${served.url} (${configured.summary})\n`);
  io.stderr.write(`point the API at it: ZONE_BRIDGE_URL=${served.url} npm start\n`);
  await new Promise<void>((resolve) => {
    if (io.signal.aborted) resolve();
    else io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  await served.close();
  return EXIT.ok;
}
