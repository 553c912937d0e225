/**
 * A local stand-in for Lambda's SQS event source mapping with `ReportBatchItemFailures`: receive a
 * batch, invoke the handler, delete the records it did not report as failures. When the handler
 * throws, the whole batch stays and comes back after its visibility timeout, as on AWS.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { QueueConsumer } from '../queue/port.js';

export type SqsBatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | undefined>;

export interface EventSourceMappingOptions {
  consumer: QueueConsumer & { interrupt?(): void };
  handler: SqsBatchHandler;
  batchSize?: number;
  /** Batches in flight at once: the SQS event source's maximum concurrency. */
  concurrency?: number;
  waitSeconds?: number;
  /** Called when an invocation throws (the batch is retried after its visibility timeout). */
  onInvocationError?: (error: unknown) => void;
}

export interface RunningEventSourceMapping {
  stop(): Promise<void>;
  /** Handler invocations so far. */
  readonly invocations: number;
}

/** A minimal Lambda context for local invocations. */
export function localContext(functionName: string): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

export function startEventSourceMapping(options: EventSourceMappingOptions): RunningEventSourceMapping {
  const { consumer, handler, batchSize = 10, concurrency = 2, waitSeconds = 1 } = options;
  let running = true;
  let invocations = 0;

  async function pollLoop(): Promise<void> {
    while (running) {
      // In-process adapters answer without I/O: without this, zero-second waits would starve the
      // HTTP server of the same process. On AWS every hop is a network call anyway.
      await yieldToEventLoop();
      const records = await consumer.receive(batchSize, waitSeconds).catch((error: unknown) => {
        options.onInvocationError?.(error);
        return [];
      });
      if (records.length === 0) continue;
      invocations += 1;
      try {
        const response = await handler({ Records: records }, localContext('pollResult'));
        const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
        await Promise.all(
          records
            .filter((record) => !failed.has(record.messageId))
            .map((record) => consumer.delete(record.receiptHandle)),
        );
      } catch (error) {
        options.onInvocationError?.(error);
      }
    }
  }

  const loops = Array.from({ length: concurrency }, () => pollLoop());
  return {
    get invocations() {
      return invocations;
    },
    async stop() {
      running = false;
      consumer.interrupt?.();
      await Promise.all(loops);
    },
  };
}
