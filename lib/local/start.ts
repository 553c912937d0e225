/**
 * `npm start`: the whole flow on one machine. Variables are in the README's configuration table.
 *   npm start -- --archive my-archive.json --programs my-programs.json      (the embedded emulator)
 *   ZONE_TRANSPORT=relay WECOM_CORP_ID=… WECOM_CORP_SECRET_FILE=… WECOM_RELAY_PROGRAM_ID=… npm start
 * Every transport the functions have (relay, bridge, wecom) is available here with the same settings,
 * checked by the same code (`checkZoneTransportEnv`); the emulator stays the default.
 */
import { parseArgs } from 'node:util';
import { ConfigurationError } from '../config.js';
import { CALLBACK_PATH, type ServedEmulator, serveEmulator } from '../zone/emulator/server.js';
import { configureEmulator, parseZoneEnv, ZoneConfigError } from '../zone/emulator/settings.js';
import { createLogger } from '../log.js';
import { zoneTransport } from '../wiring/zone.js';
import type { ZoneTransport } from '../zone/port.js';
import { checkLocalEnv } from './env.js';
import { onStopSignal } from './signals.js';
import { startLocalStack } from './stack.js';

async function main(): Promise<void> {
  const { values: files } = parseArgs({
    options: { archive: { type: 'string' }, programs: { type: 'string' } },
    strict: true,
  });
  // Every setting, before anything listens: a wrong or contradictory one stops here, naming it.
  const env = checkLocalEnv(process.env);
  let zone: ZoneTransport;
  let served: ServedEmulator | undefined;
  let zoneName: string;
  const { transport } = env;
  const logger = createLogger();
  // From here on a signal stops whatever has started (an emulator, then the stack).
  let stopping: (() => Promise<unknown>)[] = [];
  onStopSignal(async () => {
    await Promise.all(stopping.map((stop) => stop()));
  });
  if (transport === 'emulator') {
    const configured = await configureEmulator(parseZoneEnv(process.env), files);
    served = await serveEmulator(configured.emulator, { port: env.ZONE_PORT, host: env.HOST });
    stopping.push(() => served?.close() ?? Promise.resolve());
    configured.setCallbackUrl(`${served.url}${CALLBACK_PATH}`);
    zone = configured.emulator;
    zoneName = `embedded zone emulator at ${served.url} (${configured.summary})`;
  } else {
    zone = zoneTransport({ ...process.env, ZONE_TRANSPORT: transport }, logger, {}, 'local');
    zoneName = transport === 'bridge' ? `zone bridge ${env.ZONE_BRIDGE_URL}` : `${transport} transport (WeCom API, corp ${process.env.WECOM_CORP_ID})`;
  }
  const stack = await startLocalStack({
    port: env.PORT,
    host: env.HOST,
    bearerToken: env.LOCAL_API_TOKEN,
    callbackSecret: env.CALLBACK_SIGNING_SECRET,
    env: process.env,
    zone,
    logger,
  });
  stopping = [() => stack.stop(), ...stopping];
  process.stderr.write(`wecom-zone-tasks listening on ${stack.url} with the ${zoneName}\n`);
}

main().catch((error: unknown) => {
  const known =
    error instanceof ConfigurationError ||
    error instanceof ZoneConfigError ||
    ['EADDRINUSE', 'EACCES'].includes((error as NodeJS.ErrnoException)?.code ?? '') ||
    (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`${known ? (error as Error).message : `failed to start: ${(error as Error)?.name ?? 'error'}`}\n`);
  process.exit(1);
});
