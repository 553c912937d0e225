/**
 * Issue 13 over real HTTP through the local stack (the handlers the Lambda functions run): a failure
 * after the zone created a task, repeated headers, jobids of every shape, callbacks without a secret,
 * WeCom's rate limit, and the item limit on the in-memory stores as on DynamoDB.
 */
import { request as httpRequest } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCreateTaskHandler } from '../../lib/handlers/createTask.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, type Log, SERVICE_NAME } from '../../lib/log.js';
import { PowertoolsTaskMetrics } from '../../lib/metrics.js';
import { ERRCODE } from '../../lib/protocol/errcodes.js';
import { MemoryIdempotencyStore } from '../../lib/tasks/memoryIdempotencyStore.js';
import { MemoryTaskStore } from '../../lib/tasks/memoryStore.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import type { ZoneTransport } from '../../lib/zone/port.js';
import { DOC_EXAMPLE_REQUEST, waitFor } from '../support/fixtures.js';

const silent = () => createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));

let stack: LocalStack | undefined;
afterEach(async () => {
  await stack?.stop();
  stack = undefined;
});

/** A zone that creates as the emulator does, under the jobid the test chooses, and counts creates. */
function zoneWithJobids(jobids: string[]): ZoneTransport & { creates: number } {
  const emulator = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) });
  const zone = {
    creates: 0,
    async invoke(apiName: string, requestJson: string): Promise<string> {
      if (apiName !== 'create_program_task') return emulator.invoke(apiName, requestJson);
      zone.creates += 1;
      const answer = JSON.parse(await emulator.invoke(apiName, requestJson)) as { jobid: string };
      const jobid = jobids.shift() ?? answer.jobid;
      aliases.set(jobid, answer.jobid);
      return JSON.stringify({ ...answer, jobid });
    },
  };
  const aliases = new Map<string, string>();
  const original = zone.invoke;
  zone.invoke = async (apiName, requestJson) => {
    if (apiName === 'get_program_task_result') {
      const { jobid } = JSON.parse(requestJson) as { jobid: string };
      return emulator.invoke(apiName, JSON.stringify({ jobid: aliases.get(jobid) ?? jobid }));
    }
    return original(apiName, requestJson);
  };
  return zone;
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('a failure after the zone created the task never says "safe to retry"', () => {
  it('the record cannot be written: 502 task_not_recorded naming the jobid; a retry with the key gets the same answer, and the zone made one task', async () => {
    const zone = zoneWithJobids(['untracked-1']);
    const store = new MemoryTaskStore();
    store.create = async () => {
      throw Object.assign(new Error('throttled'), { name: 'ProvisionedThroughputExceededException' });
    };
    stack = await startLocalStack({ zone, store, logger: silent(), sweepEverySeconds: 0 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await post(stack.url, DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'after-zone-1' });
      expect(answer.status).toBe(502);
      expect(answer.body).toMatchObject({ error: 'task_not_recorded', jobid: 'untracked-1' });
      expect(answer.body.message).toMatch(
        /the zone created task untracked-1, but it could not be recorded here .*submitting again creates another zone task/,
      );
      expect(answer.body.message).not.toMatch(/safe to retry/);
      if (attempt === 1) expect(answer.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(zone.creates).toBe(1);
  });

  it('a store that fails once is tried again: the task is recorded and answered 202', async () => {
    const zone = zoneWithJobids([]);
    const store = new MemoryTaskStore();
    const create = store.create.bind(store);
    let failures = 1;
    store.create = async (task) => {
      if (failures-- > 0) throw new Error('timeout');
      return create(task);
    };
    stack = await startLocalStack({ zone, store, logger: silent(), sweepEverySeconds: 0 });
    const answer = await post(stack.url, DOC_EXAMPLE_REQUEST);
    expect(answer.status).toBe(202);
    expect(await store.get(answer.body.jobid as string)).toMatchObject({ status: 'PENDING' });
  });

  it('every later step failing (the key record, the poll message, the metrics, the log): still 202, and the task is recorded', async () => {
    const zone = zoneWithJobids([]);
    const store = new MemoryTaskStore();
    const idempotency = new MemoryIdempotencyStore();
    idempotency.complete = async () => {
      throw new Error('idempotency table down');
    };
    const logger: Log = {
      ...silent(),
      info: () => {
        throw new Error('log sink down');
      },
    };
    stack = await startLocalStack({ zone, store, idempotency, logger, sweepEverySeconds: 0 });
    stack.queue.sendPoll = async () => {
      throw new Error('SQS down');
    };
    const metrics = new PowertoolsTaskMetrics(new Metrics({ namespace: 'test' }));
    metrics.taskCreated = () => {
      throw new Error('metrics down');
    };
    metrics.powertools.publishStoredMetrics = () => {
      throw new Error('cannot publish');
    };
    const handler = makeCreateTaskHandler({ ...stack.deps, logger, metrics });
    const result = await handler(
      {
        version: '2.0',
        routeKey: 'POST /tasks',
        rawPath: '/tasks',
        rawQueryString: '',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'late-failures' },
        body: JSON.stringify(DOC_EXAMPLE_REQUEST),
        isBase64Encoded: false,
        requestContext: { requestId: 'r', http: { method: 'POST', path: '/tasks' } },
      } as never,
      { awsRequestId: 'r' } as never,
    );
    expect(result).toMatchObject({ statusCode: 202 });
    const { jobid } = JSON.parse((result as { body: string }).body) as { jobid: string };
    expect(await store.get(jobid)).toMatchObject({ status: 'PENDING' });
    expect(zone.creates).toBe(1);
  });

  it('a jobid the service cannot store: 502 task_not_recorded, without echoing it', async () => {
    for (const jobid of ['bad\u0007id', 'x'.repeat(1025), 'budget#corp-a#60']) {
      const zone = zoneWithJobids([jobid]);
      stack = await startLocalStack({ zone, logger: silent(), sweepEverySeconds: 0 });
      const answer = await post(stack.url, DOC_EXAMPLE_REQUEST);
      expect(answer.status).toBe(502);
      expect(answer.body).toMatchObject({ error: 'task_not_recorded' });
      expect(answer.body).not.toHaveProperty('jobid');
      expect(JSON.stringify(answer.body)).not.toContain(jobid.slice(0, 20));
      await stack.stop();
      stack = undefined;
    }
  });

  it('a zone call that fails in a way we did not foresee: 502 zone_outcome_unknown, kept with the key', async () => {
    let creates = 0;
    const zone: ZoneTransport = {
      async invoke() {
        creates += 1;
        throw new TypeError('socket hang up, somewhere');
      },
    };
    stack = await startLocalStack({ zone, logger: silent(), sweepEverySeconds: 0 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await post(stack.url, DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'unknown-1' });
      expect(answer.status).toBe(502);
      expect(answer.body).toMatchObject({ error: 'zone_outcome_unknown' });
      expect(answer.body.message).toMatch(/may have created the task/);
    }
    expect(creates).toBe(1);
  });
});

describe('jobids: every jobid the API hands out in `location` reads back with GET', () => {
  for (const jobid of ['Yx3+a/Q==', 'x'.repeat(130), '任务/1?#%', '~tilde', 'plain_Jobid-1']) {
    it(`${JSON.stringify(jobid.length > 20 ? `${jobid.slice(0, 10)}… (${jobid.length})` : jobid)}`, async () => {
      stack = await startLocalStack({
        zone: zoneWithJobids([jobid]),
        logger: silent(),
        sweepEverySeconds: 0,
        schedule: { firstDelaySeconds: 0 },
      });
      const created = await post(stack.url, DOC_EXAMPLE_REQUEST);
      expect(created.status).toBe(202);
      expect(created.body.jobid).toBe(jobid);
      const location = created.headers.get('location') ?? '';
      // Only unreserved characters: API Gateway decodes %2F before routing, so it could never match.
      expect(location).toMatch(/^\/tasks\/[A-Za-z0-9_~-]+$/);
      const read = await fetch(`${stack.url}${location}`);
      expect(read.status).toBe(200);
      expect(((await read.json()) as { jobid: string }).jobid).toBe(jobid);
    });
  }

  it('refuses a path that is no jobid form with a 400 that says how to write one', async () => {
    stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0 });
    for (const path of ['bad%20id!', '~!!', '~', `${'x'.repeat(1025)}`]) {
      const response = await fetch(`${stack.url}/tasks/${path}`);
      expect(response.status, path).toBe(400);
      expect(((await response.json()) as { message: string }).message).toMatch(
        /use the location POST \/tasks answered/,
      );
    }
  });
});

/** POST with a header sent twice, as two header lines (fetch would join them itself). */
function postWithRepeatedHeader(
  url: string,
  name: string,
  values: string[],
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const target = new URL(`${url}/tasks`);
    const body = JSON.stringify(DOC_EXAMPLE_REQUEST);
    const request = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', [name]: values },
      },
      (response) => {
        let text = '';
        response.on('data', (chunk) => {
          text += String(chunk);
        });
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

describe('repeated headers answer locally as on API Gateway (payload 2.0 joins them with ",")', () => {
  it('two Idempotency-Key headers: 400 naming the header, locally and in the Lambda handler alike; no task', async () => {
    const zone = zoneWithJobids([]);
    stack = await startLocalStack({ zone, logger: silent(), sweepEverySeconds: 0 });
    const local = await postWithRepeatedHeader(stack.url, 'idempotency-key', ['k1', 'k2']);
    const handler = makeCreateTaskHandler(stack.deps);
    const onLambda = await handler(
      {
        version: '2.0',
        routeKey: 'POST /tasks',
        rawPath: '/tasks',
        rawQueryString: '',
        // What API Gateway hands the function for the same request.
        headers: { 'content-type': 'application/json', 'idempotency-key': 'k1,k2' },
        body: JSON.stringify(DOC_EXAMPLE_REQUEST),
        isBase64Encoded: false,
        requestContext: { requestId: 'r', http: { method: 'POST', path: '/tasks' } },
      } as never,
      { awsRequestId: 'r' } as never,
    );
    expect(local).toMatchObject({
      status: 400,
      body: { error: 'invalid_request', message: expect.stringMatching(/^Idempotency-Key: sent more than once/) },
    });
    expect({
      status: (onLambda as { statusCode: number }).statusCode,
      body: JSON.parse((onLambda as { body: string }).body),
    }).toEqual(local);
    expect(zone.creates).toBe(0);
  });

  it('two Content-Type headers: 400 naming the header; two Authorization headers: 401, as with a wrong one', async () => {
    stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0, bearerToken: 'secret-token' });
    // Node keeps only the first Authorization header; API Gateway would pass both, joined.
    const auth = await postWithRepeatedHeader(stack.url, 'authorization', ['Bearer secret-token', 'Bearer other']);
    expect(auth.status).toBe(401);
    await stack.stop();
    stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0 });
    const repeated = await postWithRepeatedHeader(stack.url, 'content-type', ['application/json', 'application/json']);
    expect(repeated).toMatchObject({
      status: 400,
      body: { message: expect.stringMatching(/^Content-Type: sent more than once/) },
    });
  });
});

describe('callbacks and rate limits name what happened, under npm start as on AWS', () => {
  it('callback_url without a local signing secret names CALLBACK_SIGNING_SECRET, not the AWS setting', async () => {
    stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0 });
    const answer = await post(stack.url, { ...DOC_EXAMPLE_REQUEST, callback_url: 'http://127.0.0.1:9/hook' });
    expect(answer).toMatchObject({ status: 400, body: { message: expect.stringMatching(/CALLBACK_SIGNING_SECRET/) } });
    expect(answer.body.message).not.toMatch(/CALLBACK_SECRET_PARAM/);
  });

  it('WeCom answering 45009: 503 zone_rate_limited with errcode and retry-after; our own budget spent: 503 budget_spent', async () => {
    const limited = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(0),
      faults: { errorRate: 1, errcodes: [ERRCODE.frequencyLimit] },
    });
    stack = await startLocalStack({ zone: limited, logger: silent(), sweepEverySeconds: 0 });
    for (let attempt = 0; attempt < 2; attempt++) {
      const answer = await post(stack.url, DOC_EXAMPLE_REQUEST);
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({
        error: 'zone_rate_limited',
        message: expect.stringMatching(/^WeCom says the corp is over its call limit/),
      });
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // The first answer carries WeCom's code; the second was never sent (the corp backs off).
    expect(limited.calls.create_program_task).toBe(1);
    await stack.stop();

    stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0, env: { BUDGET_PER_MINUTE: '1' } });
    expect((await post(stack.url, DOC_EXAMPLE_REQUEST)).status).toBe(202);
    const spent = await post(stack.url, DOC_EXAMPLE_REQUEST);
    expect(spent).toMatchObject({
      status: 503,
      body: { error: 'budget_spent', message: expect.stringMatching(/BUDGET_PER_MINUTE/) },
    });
  });
});

describe('the item limit on the embedded stores, as on DynamoDB', () => {
  it('the issue’s oversized request: 413 before the zone is called under npm start too', async () => {
    const zone = zoneWithJobids([]);
    stack = await startLocalStack({ zone, logger: silent(), sweepEverySeconds: 0 });
    const body = {
      ...DOC_EXAMPLE_REQUEST,
      msg_list: [
        DOC_EXAMPLE_REQUEST.msg_list[0],
        ...Array.from({ length: 999 }, () => ({ msgid: 'M'.repeat(450), encrypt_info: { secret_key: 'K' } })),
      ],
    };
    for (let attempt = 0; attempt < 2; attempt++) {
      expect(await post(stack.url, body, { 'idempotency-key': 'oversized-local' })).toMatchObject({
        status: 413,
        body: { error: 'task_too_large' },
      });
    }
    expect(zone.creates).toBe(0);
    // A task of ordinary size still goes through the same stack.
    const ok = await post(stack.url, DOC_EXAMPLE_REQUEST);
    expect(ok.status).toBe(202);
    await waitFor(async () =>
      (await stack?.store.get(ok.body.jobid as string))?.status === 'PENDING' ? true : undefined,
    );
  });
});
