/**
 * The deployable artifact: `osls package` builds every function offline, each minified bundle stays
 * under its byte budget, and the bundles themselves run the flow against DynamoDB and SQS (moto) with
 * the zone emulator over HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpHandler } from '../../lib/api/http.js';
import { createApiServer } from '../../lib/local/apiServer.js';
import { close, listen } from '../../lib/local/nodeHttp.js';
import { type SqsBatchHandler, startEventSourceMapping } from '../../lib/queue/eventSourceMapping.js';
import { SqsPollQueue } from '../../lib/queue/sqsQueue.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { serveEmulator } from '../../lib/zone/emulator/server.js';
import { DOC_EXAMPLE_REQUEST, SECRETS_AND_CHAT, submitAndWait } from '../support/fixtures.js';
import { AWS_TEST_ENV, createIdempotencyTable, createPollQueue, createTasksTable, dynamoClient, motoEndpoint, sqsClient } from '../support/moto.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
// Inside the project, so the bundles resolve the AWS SDK from node_modules as the Lambda runtime provides it.
const OUT = join(ROOT, '.bundles-test');
const FUNCTIONS = ['createTask', 'getTask', 'pollResult', 'sweepOverdue', 'createFromQueue', 'createFromEvent', 'openapi'];
/** The budget from the spine issue: each function's minified bundle under 250 KB. */
const BUNDLE_BUDGET_BYTES = 250 * 1024;
/**
 * Tighter per-function budgets, a little above today's sizes (npm run bench, row 1), so a regression
 * (a heavy import reaching a function that does not need it) fails here, not in production cold starts.
 */
const FUNCTION_BUDGET_KIB: Record<string, number> = {
  getTask: 140,
  openapi: 150,
  sweepOverdue: 150,
  createTask: 195,
  createFromQueue: 195,
  createFromEvent: 195,
  pollResult: 195,
};

beforeAll(async () => {
  await rm(OUT, { recursive: true, force: true });
  await run(join(ROOT, 'node_modules/.bin/osls'), ['package', '--stage', 'ci', '--package', join(OUT, 'package')], {
    cwd: ROOT,
    env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
  });
  for (const name of FUNCTIONS) {
    await mkdir(join(OUT, name), { recursive: true });
    await run('python3', ['-m', 'zipfile', '-e', join(OUT, 'package', `${name}.zip`), join(OUT, name)]);
  }
}, 120_000);
afterAll(() => rm(OUT, { recursive: true, force: true }));

describe('osls package', () => {
  it.each(FUNCTIONS)('%s: one minified bundle, under 250 KB, with the AWS SDK left to the runtime', async (name) => {
    const files = await readdir(join(OUT, name, 'functions'));
    expect(files).toEqual([`${name}.cjs`]);
    const bundle = join(OUT, name, 'functions', `${name}.cjs`);
    const { size } = await stat(bundle);
    expect(size).toBeLessThan(BUNDLE_BUDGET_BYTES);
    expect(size / 1024).toBeLessThan(FUNCTION_BUDGET_KIB[name] ?? 0);
    const code = await readFile(bundle, 'utf8');
    // The document route uses no AWS service; every other function reaches DynamoDB through the runtime's SDK.
    if (name !== 'openapi') expect(/require\("@aws-sdk\/client-(dynamodb|sqs)"\)/.test(code)).toBe(true);
    expect(/@aws-sdk\/[a-z-]+\/dist-/.test(code)).toBe(false);
  });

  it.each([
    ['getTask', ['client-dynamodb', 'lib-dynamodb']],
    ['createTask', ['client-dynamodb', 'client-sqs', 'lib-dynamodb']],
    ['pollResult', ['client-dynamodb', 'client-sqs', 'lib-dynamodb']],
  ])('%s loads only the SDK clients it always uses at cold start (EventBridge, SSM, Secrets Manager wait for first use)', async (name, expected) => {
    const probe = `
      const bundle = require(process.argv[1]);
      if (typeof bundle.handler !== 'function') throw new Error('no handler');
      const loaded = Object.keys(require.cache).map((file) => /@aws-sdk\\/([a-z-]+)\\//.exec(file)?.[1]).filter(Boolean);
      process.stdout.write(JSON.stringify([...new Set(loaded)].filter((p) => p.startsWith('client-') || p === 'lib-dynamodb').sort()));`;
    const { stdout } = await run(process.execPath, ['-e', probe, join(OUT, name, 'functions', `${name}.cjs`)], {
      cwd: ROOT,
      env: {
        ...process.env,
        TASKS_TABLE: 't',
        IDEMPOTENCY_TABLE: 'i',
        POLL_QUEUE_URL: 'http://127.0.0.1:1/q',
        ZONE_TRANSPORT: 'bridge',
        ZONE_BRIDGE_URL: 'http://127.0.0.1:1',
        EVENT_BUS_NAME: 'default',
        CALLBACK_SECRET_PARAM: '/wecom-zone-tasks/dev/callback-secret',
        AWS_REGION: 'us-east-1',
      },
    });
    expect(JSON.parse(stdout)).toEqual(expected);
  });

  it('declares the queue, its dead-letter queue, the table and one role per function', async () => {
    const template = JSON.parse(await readFile(join(OUT, 'package', 'cloudformation-template-update-stack.json'), 'utf8'));
    const resources = template.Resources;
    expect(resources.PollQueue.Properties.RedrivePolicy.maxReceiveCount).toBe(250);
    expect(resources.PollQueue.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * resources.PollResultLambdaFunction.Properties.Timeout);
    expect(resources.TasksTable.Properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true } });
    const mapping = Object.values(resources).find((r: any) => r.Type === 'AWS::Lambda::EventSourceMapping') as any;
    expect(mapping.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const pollActions = JSON.stringify(resources.PollResultRole.Properties.Policies);
    expect(pollActions).toContain('sqs:ChangeMessageVisibility');
    expect(pollActions).not.toContain('sqs:SendMessage');
    expect(JSON.stringify(resources.GetTaskRole.Properties.Policies)).not.toContain('PutItem');
  });

  it('protects every HTTP route with IAM authorization and schedules the sweeper', async () => {
    const template = JSON.parse(await readFile(join(OUT, 'package', 'cloudformation-template-update-stack.json'), 'utf8'));
    const resources = Object.values(template.Resources) as { Type: string; Properties: Record<string, unknown> }[];
    const routes = resources.filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes.map((route) => route.Properties.RouteKey).sort()).toEqual(['GET /openapi.json', 'GET /tasks/{jobid}', 'POST /tasks']);
    for (const route of routes.filter((r) => String(r.Properties.RouteKey).includes('/tasks'))) {
      expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    }
    const rule = resources.find((r) => r.Type === 'AWS::Events::Rule');
    expect(rule?.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    const table = template.Resources.TasksTable.Properties;
    expect(table.GlobalSecondaryIndexes[0].IndexName).toBe('pending-by-next-poll');
  });
});

describe.skipIf(!motoEndpoint)('the packaged bundles on DynamoDB + SQS (moto)', () => {
  it('run the source document example from POST to SUCCEEDED, leaking nothing into the table or queue', async () => {
    const served = await serveEmulator(new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(300) }));
    const dynamodb = dynamoClient();
    const sqs = sqsClient();
    const table = await createTasksTable(dynamodb);
    const idempotencyTable = await createIdempotencyTable(dynamodb);
    const queueUrl = await createPollQueue(sqs);
    Object.assign(process.env, AWS_TEST_ENV, {
      TASKS_TABLE: table,
      IDEMPOTENCY_TABLE: idempotencyTable,
      POLL_QUEUE_URL: queueUrl,
      ZONE_TRANSPORT: 'bridge',
      ZONE_BRIDGE_URL: served.url,
      POLL_FIRST_DELAY_SECONDS: '0',
      POLL_MIN_WAIT_SECONDS: '1',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      // The bundles' EMF metric lines would fill the test output; their content is tested in notify.test.ts.
      POWERTOOLS_METRICS_DISABLED: 'true',
    });
    const load = async (name: string) =>
      (await import(pathToFileURL(join(OUT, name, 'functions', `${name}.cjs`)).href)).handler;
    const createTask: HttpHandler = await load('createTask');
    const getTask: HttpHandler = await load('getTask');
    const pollResult: SqsBatchHandler = await load('pollResult');

    const server = createApiServer({
      routes: [
        { method: 'POST', path: '/tasks', handler: createTask },
        { method: 'GET', path: '/tasks/{jobid}', handler: getTask },
      ],
    });
    const url = await listen(server, 0, '127.0.0.1');
    const poller = startEventSourceMapping({ consumer: new SqsPollQueue(sqs, queueUrl), handler: pollResult });
    try {
      const { jobid, task } = await submitAndWait(url, DOC_EXAMPLE_REQUEST, 30_000);
      expect(task.status).toBe('SUCCEEDED');
      expect(JSON.parse(task.response_data)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });

      const bad = await fetch(`${url}/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{' });
      expect(bad.status).toBe(400);

      const { ScanCommand } = await import('@aws-sdk/client-dynamodb');
      const { Items } = await dynamodb.send(new ScanCommand({ TableName: table }));
      const stored = JSON.stringify(Items);
      expect(stored).toContain(jobid);
      for (const secret of SECRETS_AND_CHAT) expect(stored).not.toContain(secret);
    } finally {
      await poller.stop();
      await close(server);
      await served.close();
    }
  }, 60_000);
});
