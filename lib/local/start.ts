/**
 * `npm start`: the whole flow on one laptop. Variables are in the README's configuration table.
 */
import * as z from 'zod';
import { ConfigurationError, parseEnv } from '../config.js';
import { ZoneEmulator } from '../zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, SAMPLE_PROGRAM_LATENCY_MS, samplePrograms } from '../zone/emulator/sample.js';
import { HttpZoneTransport } from '../zone/httpTransport.js';
import { startLocalStack } from './stack.js';

const LocalEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(3000),
  HOST: z.string().default('127.0.0.1'),
  /** Require this bearer token on the local API. */
  LOCAL_API_TOKEN: z.string().optional(),
  /** 1: the emulator runs in debug mode (debug_info replaces the placeholders). */
  ZONE_DEBUG: z.enum(['0', '1', 'true', 'false']).default('0'),
  ZONE_PROGRAM_LATENCY_MS: z.coerce.number().int().min(0).default(SAMPLE_PROGRAM_LATENCY_MS),
  ZONE_RETENTION_SECONDS: z.coerce.number().int().min(1).default(86_400),
  /** Talk to a zone bridge over HTTP instead of the embedded emulator. */
  ZONE_BRIDGE_URL: z.url().optional(),
  ZONE_BRIDGE_TOKEN: z.string().optional(),
});

async function main(): Promise<void> {
  const env = parseEnv(LocalEnvSchema, process.env);
  const zone = env.ZONE_BRIDGE_URL
    ? new HttpZoneTransport({ baseUrl: env.ZONE_BRIDGE_URL, bearerToken: env.ZONE_BRIDGE_TOKEN })
    : new ZoneEmulator({
        archive: SAMPLE_ARCHIVE,
        programs: samplePrograms(env.ZONE_PROGRAM_LATENCY_MS),
        debug: env.ZONE_DEBUG === '1' || env.ZONE_DEBUG === 'true',
        retentionSeconds: env.ZONE_RETENTION_SECONDS,
      });
  const stack = await startLocalStack({
    port: env.PORT,
    host: env.HOST,
    bearerToken: env.LOCAL_API_TOKEN,
    env: process.env,
    zone,
  });
  const zoneName = env.ZONE_BRIDGE_URL ? `zone bridge ${env.ZONE_BRIDGE_URL}` : 'embedded zone emulator (sample configuration)';
  process.stderr.write(`wecom-zone-tasks listening on ${stack.url} with the ${zoneName}\n`);
  const stop = () => {
    stack.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const message = error instanceof ConfigurationError || (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE'
    ? (error as Error).message
    : `failed to start: ${(error as Error)?.name ?? 'error'}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
