/**
 * Run by `config/serverless-config-check.cjs` before packaging: reads the stage's resolved
 * environment (a JSON object) on stdin and checks it as the functions will. Exit 1 with the problem,
 * naming the variable; never a value.
 */
import { text } from 'node:stream/consumers';
import { ConfigurationError } from '../lib/config.js';
import { checkZoneTransportEnv } from '../lib/wiring/zone.js';

try {
  const env = JSON.parse(await text(process.stdin)) as Record<string, string>;
  const settings = checkZoneTransportEnv(env, 'aws');
  process.stdout.write(`zone transport: ${settings.transport}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigurationError ? error.message : `configuration check failed (${(error as Error)?.name})`}\n`);
  process.exitCode = 1;
}
