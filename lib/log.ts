/**
 * The logging port: what the lib needs of a logger. Powertools Logger satisfies it. Log ids, counts,
 * codes and timings only: never a secret_key, chat text, debug_info, rendered input or response_data.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { MiddlewareObj } from '@middy/core';

type LogAttributes = Record<string, unknown>;

export interface Log {
  debug(message: string, attributes?: LogAttributes): void;
  info(message: string, attributes?: LogAttributes): void;
  warn(message: string, attributes?: LogAttributes): void;
  error(message: string, attributes?: LogAttributes | Error): void;
  /** The Powertools Logger behind it, when there is one (for the Lambda-context middleware). */
  readonly powertools?: Logger;
}

export const SERVICE_NAME = 'wecom-zone-tasks';

/** The structured JSON logger every function and the local stack use (level: POWERTOOLS_LOG_LEVEL). */
export function createLogger(logger: Logger = new Logger({ serviceName: SERVICE_NAME })): Log {
  return {
    powertools: logger,
    debug: (message, attributes) => logger.debug(message, attributes ?? {}),
    info: (message, attributes) => logger.info(message, attributes ?? {}),
    warn: (message, attributes) => logger.warn(message, attributes ?? {}),
    error: (message, attributes) =>
      attributes instanceof Error ? logger.error(message, attributes) : logger.error(message, attributes ?? {}),
  };
}

/**
 * middy middleware: every line an invocation logs carries its request id (and the function's name,
 * memory and cold-start flag), through Powertools' own `injectLambdaContext`. Never logs the event.
 *
 * @example
 * middy(handler).use(logLambdaContext(deps.logger))
 */
export function logLambdaContext(log: Log): MiddlewareObj {
  return log.powertools ? injectLambdaContext(log.powertools, { resetKeys: true }) : { before: async () => undefined };
}

/** The name of an error, never its whole text: messages of foreign errors are not ours to vouch for. */
export function errorKind(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}
