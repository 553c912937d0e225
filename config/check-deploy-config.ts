/**
 * Run by `config/serverless-config-check.cjs` before packaging: reads the stage's resolved
 * environment (a JSON object) on stdin and checks it as the functions will at start-up. Exit 1 with the problem,
 * naming the variable; never a value.
 */
import { text } from 'node:stream/consumers';
import { commonConfig, NotifyEnvSchema } from '../lib/config.js';
import { ConfigurationError, parseEnv } from '../lib/shared/env.js';
import { checkZoneTransportEnv } from '../lib/wiring/zone.js';

/**
 * The functions' roles may read secrets only under the stage's prefix (serverless.yml: SSM
 * `parameter/<service>/<stage>/*`, Secrets Manager `secret:<service>/<stage>/*`): a name elsewhere
 * would deploy and then fail at every call with AccessDenied.
 */
function checkSecretNames(env: Record<string, string>, prefix: string): void {
  // Every SSM SecureString the functions read: the corp secret, the bridge token, the callback secret.
  for (const variable of ['WECOM_CORP_SECRET_PARAM', 'ZONE_BRIDGE_TOKEN_PARAM', 'CALLBACK_SECRET_PARAM']) {
    const param = env[variable]?.trim();
    if (param && !param.startsWith(`/${prefix}`) && !param.includes(`:parameter/${prefix}`)) {
      throw new ConfigurationError(
        `invalid configuration: ${variable}: must be under /${prefix} (the functions may read only there)`,
      );
    }
  }
  // Many corps: the directory itself must lie under the prefix (the roles read and write only there).
  const corps = env.WECOM_CORPS_PARAM_PREFIX?.trim().replace(/\/+$/, '');
  if (corps && corps !== `/${prefix.replace(/\/$/, '')}` && !corps.startsWith(`/${prefix}`)) {
    throw new ConfigurationError(
      `invalid configuration: WECOM_CORPS_PARAM_PREFIX: must be /${prefix.replace(/\/$/, '')} or under it (the functions may read only there)`,
    );
  }
  const arn = env.WECOM_CORP_SECRET_ARN?.trim();
  if (arn && !arn.startsWith(prefix) && !arn.includes(`:secret:${prefix}`)) {
    throw new ConfigurationError(
      `invalid configuration: WECOM_CORP_SECRET_ARN: must name a secret under ${prefix} (the functions may read only there)`,
    );
  }
}

try {
  const { env, service, stage } = JSON.parse(await text(process.stdin)) as {
    env: Record<string, string>;
    service: string;
    stage: string;
  };
  // The settings every function reads, with their cross-checks (POLL_MAX_ATTEMPTS against the queue's
  // redrive count, …), then the zone transport's.
  commonConfig(env);
  parseEnv(NotifyEnvSchema, env);
  const settings = checkZoneTransportEnv(env, 'aws');
  checkSecretNames(env, `${service}/${stage}/`);
  process.stdout.write(`zone transport: ${settings.transport}\n`);
} catch (error) {
  process.stderr.write(
    `${error instanceof ConfigurationError ? error.message : `configuration check failed (${(error as Error)?.name})`}\n`,
  );
  process.exitCode = 1;
}
