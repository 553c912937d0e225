/**
 * `ZONE_TIMEOUT_MS`, how long one zone call may take, declared once for every transport: the bridge
 * (`lib/config.ts` ZoneTransportEnvSchema) and the two WeCom transports (`lib/zone/wecom/env.ts`)
 * include this schema's shape.
 */
import * as z from 'zod';
import { unsetIfBlank } from '../shared/env.js';

/** A zone call must end well inside createTask's 25 s (API Gateway gives up at 29 s) and the poller's 30 s. */
export const MAX_ZONE_TIMEOUT_MS = 20_000;

/** The default zone call timeout, in milliseconds. */
export const DEFAULT_ZONE_TIMEOUT_MS = 10_000;

export const ZoneTimeoutEnvSchema = z.object({
  ZONE_TIMEOUT_MS: unsetIfBlank(
    z.coerce
      .number()
      .int()
      .min(100)
      .max(
        MAX_ZONE_TIMEOUT_MS,
        `must be at most ${MAX_ZONE_TIMEOUT_MS}: a zone call must end inside createTask's 25 s timeout (API Gateway gives up at 29 s)`,
      )
      .default(DEFAULT_ZONE_TIMEOUT_MS),
  ),
});
