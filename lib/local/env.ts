/**
 * `npm start`'s settings (docs/configuration.md "`npm start` only"), checked all together before
 * anything starts, with the settings it shares with the functions (`commonConfig`, the zone
 * transport's) and the ones that depend on each other. Errors name the variable, never a value.
 */
import * as z from 'zod';
import { commonConfig, NotifyEnvSchema, secretEnv, ZONE_TRANSPORTS } from '../config.js';
import { ConfigurationError, parseEnv } from '../shared/env.js';
import { checkZoneTransportEnv } from '../wiring/zone.js';
import { parseZoneEnv } from '../zone/emulator/settings.js';

type Env = Record<string, string | undefined>;

export const LocalEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** Require this bearer token on the local API. */
  LOCAL_API_TOKEN: secretEnv('LOCAL_API_TOKEN').optional(),
  /** Where the embedded emulator also listens, for external programs' reports (0: any free port). */
  ZONE_PORT: z.coerce.number().int().min(0).max(65_535).default(0),
  /**
   * `emulator` (default; `bridge` when ZONE_BRIDGE_URL is set), or a real transport: `relay`, `bridge`,
   * `wecom`, with the settings the functions take (docs/reach-your-corp.md).
   */
  ZONE_TRANSPORT: z
    .enum(['emulator', ...ZONE_TRANSPORTS], { error: `must be one of emulator, ${ZONE_TRANSPORTS.join(', ')}` })
    .optional(),
  /** Talk to a zone bridge over HTTP instead of the embedded emulator. */
  ZONE_BRIDGE_URL: z.url().optional(),
  /** Signs completion callbacks (`callback_url`); on AWS the secret comes from SSM instead. */
  CALLBACK_SIGNING_SECRET: secretEnv('CALLBACK_SIGNING_SECRET')
    .pipe(z.string().min(16, 'must be at least 16 characters'))
    .optional(),
  /** AWS only: refused here, where it would be silently ignored. */
  CALLBACK_SECRET_PARAM: z.string().optional(),
  /** Where tasks, the poll queue, idempotency keys and budgets are kept (SQLite); `:memory:` keeps them in memory. */
  DATA_DIR: z.string().default('.data'),
  /** `full`: fsync every commit (survives a power cut); `normal`: survives a crash of the process. */
  DATA_SYNC: z.enum(['normal', 'full']).default('normal'),
});
export type LocalEnv = z.infer<typeof LocalEnvSchema> & { transport: 'emulator' | (typeof ZONE_TRANSPORTS)[number] };

/**
 * Every setting `npm start` reads, checked before it starts anything.
 *
 * @throws {ConfigurationError} naming each variable that is wrong or contradicts another
 */
export function checkLocalEnv(env: Env): LocalEnv {
  const local = parseEnv(LocalEnvSchema, env);
  const transport = local.ZONE_TRANSPORT ?? (local.ZONE_BRIDGE_URL ? 'bridge' : 'emulator');
  const problems: string[] = [];
  if (local.CALLBACK_SECRET_PARAM !== undefined) {
    problems.push(
      'CALLBACK_SECRET_PARAM: read on AWS only (an SSM parameter); npm start signs callbacks with CALLBACK_SIGNING_SECRET',
    );
  }
  if (local.ZONE_BRIDGE_URL !== undefined && transport !== 'bridge') {
    problems.push(`ZONE_BRIDGE_URL: only read with ZONE_TRANSPORT=bridge (it is ${transport})`);
  }
  for (const name of ['WECOM_CORPS_FILE', 'WECOM_CORPS_PARAM_PREFIX'] as const) {
    if (env[name]?.trim() && (transport === 'emulator' || transport === 'bridge')) {
      problems.push(`${name}: only read with ZONE_TRANSPORT=relay or wecom (it is ${transport})`);
    }
  }
  if (local.PORT !== 0 && local.PORT === local.ZONE_PORT) {
    problems.push(`ZONE_PORT: the API already listens on ${local.PORT} (PORT); choose another, or 0 for any free port`);
  }
  if (problems.length > 0) throw new ConfigurationError(`invalid configuration: ${problems.join('; ')}`);
  // What the functions check too: the poll schedule, budgets, WECOM_CORP_SECRET, the notifications.
  commonConfig(env, 'local');
  parseEnv(
    NotifyEnvSchema,
    Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'CALLBACK_SECRET_PARAM')),
  );
  if (transport === 'emulator') parseZoneEnv(env);
  else checkZoneTransportEnv({ ...env, ZONE_TRANSPORT: transport }, 'local');
  return { ...local, transport };
}
