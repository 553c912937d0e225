/**
 * `npm start`: the whole flow on one machine. Variables are in docs/configuration.md.
 *   npm start -- --archive my-archive.json --programs my-programs.json      (the embedded emulator)
 *   ZONE_TRANSPORT=relay WECOM_CORP_ID=… WECOM_CORP_SECRET_FILE=… WECOM_RELAY_PROGRAM_ID=… npm start
 *   ZONE_TRANSPORT=relay WECOM_CORPS_FILE=examples/corps.json WECOM_RELAY_PROGRAM_ID=… npm start   (many corps)
 * Every transport the functions have (relay, bridge, wecom) is available here with the same settings,
 * checked by the same code (`checkZoneTransportEnv`); the emulator stays the default.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../log.js';
import { DataDirError } from '../shared/database.js';
import { ConfigurationError, parseEnv } from '../shared/env.js';
import { onStopSignal } from '../shared/signals.js';
import { suiteCallbacks } from '../wiring/suiteCallbacks.js';
import { zoneAccess, zoneTransport } from '../wiring/zone.js';
import { type StartedEmulator, startEmulator } from '../zone/emulator/start.js';
import type { ZoneTransport } from '../zone/port.js';
import { usesCorpDirectory } from '../zone/wecom/env.js';
import { checkLocalEnv } from './env.js';
import { type LocalStackOptions, startLocalStack } from './stack.js';

async function main(): Promise<void> {
  const { values: files } = parseArgs({
    options: { archive: { type: 'string' }, programs: { type: 'string' } },
    strict: true,
  });
  // Every setting, before anything listens: a wrong or contradictory one stops here, naming it.
  const env = checkLocalEnv(process.env);
  let zone: ZoneTransport | undefined;
  let access: LocalStackOptions['access'];
  let served: StartedEmulator | undefined;
  let zoneName: string;
  const { transport } = env;
  const logger = createLogger();
  // From here on a signal stops whatever has started (an emulator, then the stack).
  let stopping: (() => Promise<unknown>)[] = [];
  onStopSignal(async () => {
    await Promise.all(stopping.map((stop) => stop()));
  });
  if (transport === 'emulator') {
    served = await startEmulator(process.env, { ...files, port: env.ZONE_PORT, host: env.HOST });
    stopping.push(() => served?.close() ?? Promise.resolve());
    zone = served.emulator;
    zoneName = `embedded zone emulator at ${served.url} (${served.summary})`;
  } else if (transport !== 'bridge' && usesCorpDirectory(process.env)) {
    // Many corps from the credentials file; what callbacks bring is kept beside the state (0600).
    const transportEnv = { ...process.env, ZONE_TRANSPORT: transport };
    const dataDir = env.DATA_DIR === ':memory:' ? undefined : env.DATA_DIR;
    const corps = await checkCorpsFile(process.env.WECOM_CORPS_FILE ?? '');
    const { openLocalCorpStore } = await import('../corps/localStore.js');
    const localCorpStore = (path: string) => openLocalCorpStore(path, dataDir);
    access = ({ budget }) => {
      const built = zoneAccess(transportEnv, logger, { budget, localCorpStore }, 'local');
      return { ...built, callbacks: suiteCallbacks(built, logger) };
    };
    zoneName = `${transport} transport (WeCom API, ${corps} from ${process.env.WECOM_CORPS_FILE}; callbacks at /wecom/callback/{suite_id})`;
  } else {
    zone = zoneTransport({ ...process.env, ZONE_TRANSPORT: transport }, logger, {}, 'local');
    if (transport !== 'bridge') await checkCorpSecret({ ...process.env, ZONE_TRANSPORT: transport });
    zoneName =
      transport === 'bridge'
        ? `zone bridge ${env.ZONE_BRIDGE_URL}`
        : `${transport} transport (WeCom API, corp ${process.env.WECOM_CORP_ID})`;
  }
  const stack = await startLocalStack({
    port: env.PORT,
    host: env.HOST,
    bearerToken: env.LOCAL_API_TOKEN,
    callbackSecret: env.CALLBACK_SIGNING_SECRET,
    env: process.env,
    zone,
    access,
    logger,
    dataDir: env.DATA_DIR === ':memory:' ? undefined : env.DATA_DIR,
    dataSync: env.DATA_SYNC,
  });
  stopping = [() => stack.stop(), ...stopping];
  const recovered =
    stack.state.recoveredMessages > 0
      ? `; ${stack.state.recoveredMessages} poll messages of the previous run back in the queue`
      : '';
  process.stderr.write(
    `state: ${stack.state.durable ? `${stack.state.location} (durable${recovered})` : 'in memory (DATA_DIR=:memory:, lost on exit)'}\n`,
  );
  process.stderr.write(`wecom-zone-tasks listening on ${stack.url} with the ${zoneName}\n`);
}

/** Read the credentials file before listening: a wrong field stops start-up, naming it (never a value). */
async function checkCorpsFile(path: string): Promise<string> {
  const { readCorpsFile } = await import('../corps/localStore.js');
  const { CredentialStoreError } = await import('../corps/port.js');
  try {
    const file = readCorpsFile(path);
    const count = Object.keys(file.corps).length;
    return `${count} corp${count === 1 ? '' : 's'} and ${Object.keys(file.suites).length} suite(s)`;
  } catch (error) {
    if (error instanceof CredentialStoreError)
      throw new ConfigurationError(`invalid configuration: WECOM_CORPS_FILE: ${error.message}`);
    throw error;
  }
}

/**
 * One machine serves one operator: read the corp secret once before listening, so a missing or empty
 * secret file stops start-up naming it instead of failing every task later.
 */
async function checkCorpSecret(env: Record<string, string | undefined>): Promise<void> {
  const { corpSecretSource, RelayEnvSchema, WecomEnvSchema } = await import('../zone/wecom/config.js');
  const settings = parseEnv(env.ZONE_TRANSPORT === 'relay' ? RelayEnvSchema : WecomEnvSchema, env);
  const source = corpSecretSource(settings);
  try {
    await source.get();
  } catch (error) {
    throw new ConfigurationError(
      `invalid configuration: the corp secret (${source.location}): ${(error as Error).message}`,
    );
  }
}

main().catch((error: unknown) => {
  const known =
    // ZoneConfigError (a ZONE_* setting, an emulator file) is a ConfigurationError too.
    error instanceof ConfigurationError ||
    error instanceof DataDirError ||
    // A system call's error (listen on a bad HOST or PORT, getaddrinfo): its message names the
    // call and the address, never a secret.
    typeof (error as NodeJS.ErrnoException)?.syscall === 'string' ||
    (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
  const syscall = (error as NodeJS.ErrnoException)?.syscall;
  const hint = syscall === 'listen' || syscall === 'getaddrinfo' ? ' (check HOST and PORT)' : '';
  process.stderr.write(
    `${known ? `${(error as Error).message}${hint}` : `failed to start: ${(error as Error)?.name ?? 'error'}`}\n`,
  );
  process.exit(1);
});
