/**
 * Row 3: the create handler's own overhead on a 1000-message request: JSON body parsing, zod
 * validation, de-duplication, the task record, the embedded store and queue, the 202 response,
 * through the same middy handler the Lambda function runs. The zone answers at once from a fake
 * client (no serialisation, no I/O), so what is left is our code.
 *
 * Baseline: `JSON.parse` + `JSON.stringify` of the same body, the least any JSON API must do with it.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { commonConfig } from '../lib/config.js';
import { makeCreateTaskHandler } from '../lib/handlers/createTask.js';
import { localContext } from '../lib/local/eventSourceMapping.js';
import { createLogger, SERVICE_NAME } from '../lib/log.js';
import { DEFAULT_CLASSIFIER } from '../lib/poll/classify.js';
import type { CreateProgramTaskInput } from '../lib/protocol/zone.js';
import { EmbeddedQueue } from '../lib/queue/embeddedQueue.js';
import { MemoryIdempotencyStore } from '../lib/tasks/memoryIdempotencyStore.js';
import { MemoryTaskStore } from '../lib/tasks/memoryStore.js';
import type { ZoneClient } from '../lib/zone/client.js';
import { type BenchRow, formatMs, seededRandom, sink, summarize, timeInterleaved } from './stats.js';

const MESSAGE_COUNT = 1000;

/** A create_program_task request with 1000 distinct messages and 32-character keys, as the zone issues them. */
export function thousandMessageRequest(seed = 1000): CreateProgramTaskInput {
  const random = seededRandom(seed);
  const key = () => Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return {
    program_id: 'PROG_ID',
    ability_id: 'ABILITY_ID',
    msg_list: Array.from({ length: MESSAGE_COUNT }, (_, index) => ({
      msgid: `msg_${String(index).padStart(6, '0')}_${key().slice(0, 12)}`,
      encrypt_info: { secret_key: key() },
    })),
    escape_type: 1,
  };
}

/** The zone at zero latency: every task is created at once, with a fresh jobid. */
export function instantZone(): ZoneClient {
  let created = 0;
  return {
    async createProgramTask() {
      created += 1;
      return { errcode: 0, errmsg: 'ok', jobid: `bench_job_${created}`, fail_list: [] };
    },
    async getProgramTaskResult() {
      throw new Error('the create benchmark never polls');
    },
  };
}

/** An API Gateway HTTP API (payload 2.0) event carrying `body`, as `lib/local/apiServer.ts` builds them. */
export function postTasksEvent(body: string): APIGatewayProxyEventV2 {
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: 'POST /tasks',
    rawPath: '/tasks',
    rawQueryString: '',
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
    requestContext: {
      accountId: '000000000000',
      apiId: 'bench',
      domainName: 'localhost',
      domainPrefix: 'local',
      http: { method: 'POST', path: '/tasks', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'bench' },
      requestId: 'bench',
      routeKey: 'POST /tasks',
      stage: '$default',
      time: new Date(now).toISOString(),
      timeEpoch: now,
    },
    body,
    isBase64Encoded: false,
  };
}

export function silentLogger() {
  return createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));
}

export async function measureCreateHandler(): Promise<BenchRow> {
  const body = JSON.stringify(thousandMessageRequest());
  const event = postTasksEvent(body);
  const context = localContext('createTask');
  const common = commonConfig({});
  const handler = makeCreateTaskHandler({
    ...common,
    classifier: DEFAULT_CLASSIFIER,
    zone: instantZone(),
    store: new MemoryTaskStore(),
    idempotency: new MemoryIdempotencyStore(),
    queue: new EmbeddedQueue(),
    logger: silentLogger(),
  });

  // A benchmark of the error path would be worthless: check once that the request is accepted.
  const first = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  if (first.statusCode !== 202) throw new Error(`create handler answered ${first.statusCode}: ${first.body}`);

  // The retry-safe path too (a fresh Idempotency-Key each time: claim, fingerprint, complete), for the record.
  let keys = 0;
  const keyedEvent = () => {
    keys += 1;
    return { ...event, headers: { ...event.headers, 'idempotency-key': `bench-key-${keys}` } };
  };
  const keyedFirst = (await handler(keyedEvent(), context)) as APIGatewayProxyStructuredResultV2;
  if (keyedFirst.statusCode !== 202)
    throw new Error(`create handler with a key answered ${keyedFirst.statusCode}: ${keyedFirst.body}`);

  const samples = await timeInterleaved(
    {
      ours: async () => {
        const response = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
        sink.value += response.body?.length ?? 0;
      },
      withIdempotencyKey: async () => {
        const response = (await handler(keyedEvent(), context)) as APIGatewayProxyStructuredResultV2;
        sink.value += response.statusCode ?? 0;
      },
      baseline: () => (sink.value += JSON.stringify(JSON.parse(body)).length),
    },
    { warmupRounds: 200, rounds: 1500 },
  );
  const ours = summarize(samples.ours);
  const baseline = summarize(samples.baseline);
  const ratio = ours.median / baseline.median;
  return {
    row: '3. create handler, 1000-message request',
    ours: `median ${formatMs(ours.median)}, p99 ${formatMs(ours.p99)}`,
    baseline: `median ${formatMs(baseline.median)}, p99 ${formatMs(baseline.p99)}`,
    ratio,
    goal: 'median ≤ 3×',
    met: ratio <= 3,
    detail: {
      bodyBytes: Buffer.byteLength(body),
      oursMs: ours,
      baselineMs: baseline,
      p99Ratio: ours.p99 / baseline.p99,
      withIdempotencyKeyMs: summarize(samples.withIdempotencyKey),
    },
  };
}
