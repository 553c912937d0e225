/**
 * `npm run zone`: the zone emulator alone, over HTTP (the contract of the HTTP zone transport).
 *   npm run zone -- --archive examples/archive.json --programs examples/programs.json --port 4000
 * Files may also come from ZONE_ARCHIVE_FILE / ZONE_PROGRAMS_FILE; see docs/local.md.
 */
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { onStopSignal } from '../../local/signals.js';
import { CALLBACK_PATH, serveEmulator } from './server.js';
import { configureEmulator, parseZoneEnv, ZoneConfigError } from './settings.js';

const ServerEnvSchema = z.object({
  ZONE_PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  HOST: z.string().default('127.0.0.1'),
});

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      archive: { type: 'string' },
      programs: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
    },
    strict: true,
  });
  const serverEnv = ServerEnvSchema.safeParse({ ...process.env, ...(values.port ? { ZONE_PORT: values.port } : {}) });
  if (!serverEnv.success) throw new ZoneConfigError(`ZONE_PORT / --port: ${serverEnv.error.issues[0]?.message}`);
  const configured = await configureEmulator(parseZoneEnv(process.env), values);
  let served: Awaited<ReturnType<typeof serveEmulator>> | undefined;
  onStopSignal(() => served?.close());
  served = await serveEmulator(configured.emulator, {
    port: serverEnv.data.ZONE_PORT,
    host: values.host ?? serverEnv.data.HOST,
  });
  configured.setCallbackUrl(`${served.url}${CALLBACK_PATH}`);
  process.stderr.write(`zone emulator listening on ${served.url} (${configured.summary})\n`);
}

main().catch((error: unknown) => {
  const known = error instanceof ZoneConfigError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`${known ? (error as Error).message : `failed to start: ${(error as Error)?.message}`}\n`);
  process.exit(1);
});
