/**
 * The WeCom HTTPS transport with its corp secret in SSM Parameter Store / Secrets Manager on
 * moto_server, then the whole task life cycle (local API, DynamoDB + SQS on moto, the poller) against
 * a local fake of WeCom's API, with the access token ended by WeCom in the middle of the task.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { ZONE_API } from '../../lib/protocol/zone.js';
import { DynamoIdempotencyStore } from '../../lib/tasks/dynamoIdempotencyStore.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { wecomTransportFromEnv } from '../../lib/zone/wecom/config.js';
import { TOKEN_REFUSED_ERRCODES } from '../../lib/zone/wecom/protocol.js';
import { SecretUnavailableError, secretsManagerSecret, ssmSecret } from '../../lib/zone/wecom/secrets.js';
import { type FakeWecomApi, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger, SECRETS_AND_CHAT, waitFor } from '../support/fixtures.js';
import {
  createIdempotencyTable,
  createPollQueue,
  createTasksTable,
  dynamoClient,
  motoEndpoint,
  sqsClient,
} from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';

const CORP_ID = 'ww-moto-corp';
const CORP_SECRET = `corp-secret-${randomUUID()}`;

const clientConfig = () => ({
  endpoint: motoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/** Counts calls of one command through a client's middleware stack. */
function countCommands(client: SSMClient | SecretsManagerClient, commandName: string): { count: number } {
  const counter = { count: 0 };
  (client.middlewareStack as SSMClient['middlewareStack']).add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) counter.count += 1;
      return next(args);
    },
    { step: 'initialize', name: `count-${commandName}-${randomUUID()}` },
  );
  return counter;
}

async function putSecureString(ssm: SSMClient, value: string): Promise<string> {
  const name = `/wecom/${randomUUID()}/corp-secret`;
  await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: value }));
  return name;
}

describe.skipIf(!motoEndpoint)('the WeCom corp secret on moto', () => {
  const ssm = new SSMClient(clientConfig());
  const secretsManager = new SecretsManagerClient(clientConfig());

  it('reads an SSM SecureString decrypted, once for concurrent callers, then from the cache until forced', async () => {
    const gets = countCommands(ssm, 'GetParameterCommand');
    const name = await putSecureString(ssm, CORP_SECRET);
    const source = ssmSecret({ name, client: ssm, maxAgeSeconds: 300 });
    expect(await Promise.all(Array.from({ length: 10 }, () => source.get()))).toEqual(Array(10).fill(CORP_SECRET));
    expect(await source.get()).toBe(CORP_SECRET);
    expect(gets.count).toBe(1);
    expect(await source.get({ forceFetch: true })).toBe(CORP_SECRET);
    expect(gets.count).toBe(2);
  });

  it('reads a Secrets Manager secret by ARN, plain or as a key of a JSON secret', async () => {
    const plain = await secretsManager.send(
      new CreateSecretCommand({ Name: `wecom-${randomUUID()}`, SecretString: CORP_SECRET }),
    );
    expect(await secretsManagerSecret({ secretId: plain.ARN ?? '', client: secretsManager }).get()).toBe(CORP_SECRET);

    const json = await secretsManager.send(
      new CreateSecretCommand({
        Name: `wecom-${randomUUID()}`,
        SecretString: JSON.stringify({ corpid: CORP_ID, corpsecret: CORP_SECRET }),
      }),
    );
    const source = secretsManagerSecret({ secretId: json.ARN ?? '', client: secretsManager, jsonKey: 'corpsecret' });
    expect(await source.get()).toBe(CORP_SECRET);
    await expect(
      secretsManagerSecret({ secretId: json.ARN ?? '', client: secretsManager, jsonKey: 'nope' }).get(),
    ).rejects.toThrow(/has no string at key nope/);
  });

  it('a missing secret is a SecretUnavailableError naming where it was looked for', async () => {
    const missing = '/wecom/does-not-exist';
    const failure = await ssmSecret({ name: missing, client: ssm })
      .get()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SecretUnavailableError);
    expect(String(failure)).toContain(`ssm:${missing}`);
    await expect(
      secretsManagerSecret({ secretId: 'wecom-missing', client: secretsManager }).get(),
    ).rejects.toBeInstanceOf(SecretUnavailableError);
  });
});

describe.skipIf(!motoEndpoint)('a task life cycle over the WeCom HTTPS transport (fake WeCom API, moto)', () => {
  const ssm = new SSMClient(clientConfig());
  const transportLog = recordingLogger();
  let fake: FakeWecomApi;
  let stack: LocalStack;
  let store: DynamoTaskStore;
  let transport: ReturnType<typeof wecomTransportFromEnv>;
  let parameterReads: { count: number };

  beforeAll(async () => {
    fake = await startFakeWecomApi({
      corpId: CORP_ID,
      corpSecret: CORP_SECRET,
      zoneProgramId: 'ZONE_PROGRAM',
      zoneAbilityId: 'run_task',
      // Tokens announced for 4 s; the task's program takes 8 s.
      expiresInSeconds: 4,
      programLatencyMs: 8000,
    });
    parameterReads = countCommands(ssm, 'GetParameterCommand');
    transport = wecomTransportFromEnv(
      {
        WECOM_CORP_ID: CORP_ID,
        WECOM_CORP_SECRET_PARAM: await putSecureString(ssm, CORP_SECRET),
        WECOM_ZONE_PROGRAM_ID: 'ZONE_PROGRAM',
        WECOM_ZONE_ABILITY_ID: 'run_task',
        WECOM_API_BASE_URL: fake.url,
        // Use a token up to its announced expiry, so the test sees both a timely refresh and a refusal.
        WECOM_TOKEN_REFRESH_EARLY_SECONDS: '0',
      },
      { ssm, logger: transportLog },
    );
    const dynamodb = dynamoClient();
    const sqs = sqsClient();
    store = new DynamoTaskStore(dynamodb, await createTasksTable(dynamodb));
    stack = await startLocalStack({
      store,
      idempotency: new DynamoIdempotencyStore(dynamodb, await createIdempotencyTable(dynamodb)),
      queue: new SqsTestQueue(sqs, await createPollQueue(sqs)),
      zone: transport,
      schedule: { firstDelaySeconds: 0, minWaitSeconds: 1, growth: 0 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
  });

  it('reaches SUCCEEDED although WeCom ends the token mid-task (42001, refreshed once, replayed) and tokens expire', async () => {
    const response = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DOC_EXAMPLE_REQUEST),
    });
    expect(response.status).toBe(202);
    const { jobid } = (await response.json()) as { jobid: string };
    expect(fake.count('gettoken')).toBe(1);

    // Once the first poll has claimed the task, WeCom ends the token before the expiry it announced.
    await waitFor(async () => (((await store.get(jobid))?.attempts ?? 0) >= 1 ? true : undefined), 15_000, 50);
    fake.expireTokens();

    const task = await waitFor(
      async () => {
        const answer = await fetch(`${stack.url}/tasks/${jobid}`);
        const body = (await answer.json()) as { status: string; response_data?: string; attempts: number };
        return body.status === 'PENDING' ? undefined : body;
      },
      45_000,
      200,
    );
    expect(task.status).toBe('SUCCEEDED');
    expect(JSON.parse(task.response_data ?? '')).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
    expect(fake.emulator.jobCount).toBe(1);

    // A 42001 happened, and each refusal was followed by one gettoken and a successful replay.
    const refused = fake.events.flatMap((event, index) => (TOKEN_REFUSED_ERRCODES.has(event.errcode) ? [index] : []));
    expect(fake.count('async_program_result', 42001)).toBeGreaterThanOrEqual(1);
    for (const index of refused) {
      expect(fake.events[index]?.errcode).toBe(42001);
      expect(fake.events[index + 1]).toMatchObject({ kind: 'gettoken', errcode: 0 });
      expect(fake.events[index + 2]?.kind).toBe(fake.events[index]?.kind);
      expect(TOKEN_REFUSED_ERRCODES.has(fake.events[index + 2]?.errcode ?? 42001)).toBe(false);
    }
    expect(transport.stats.tokenRefusals).toBe(refused.length);
    // gettoken: the first, one per refusal, and at least one timely refresh as 4 s tokens ran out
    // during an 8 s task; never one per call.
    const calls = fake.count('async_program_task') + fake.count('async_program_result');
    expect(fake.count('gettoken')).toBeGreaterThanOrEqual(2 + refused.length);
    expect(fake.count('gettoken')).toBeLessThan(calls);
    expect(fake.count('gettoken')).toBe(transport.stats.tokenRequests);
    // The secret was read from SSM once: Powertools' cache served every later gettoken.
    expect(parameterReads.count).toBe(1);

    const logs = transportLog.lines.join('\n');
    expect(logs).toContain('refreshing it once');
    for (const forbidden of [CORP_SECRET, ...fake.issuedTokens, task.response_data ?? 'x', ...SECRETS_AND_CHAT]) {
      expect(logs).not.toContain(forbidden);
    }
  }, 60_000);

  it('answers 503 (not 422) when WeCom keeps refusing fresh tokens, and creates no task', async () => {
    fake.refuseChatdata(40014, 2);
    const before = fake.emulator.jobCount;
    const response = await fetch(`${stack.url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DOC_EXAMPLE_REQUEST),
    });
    expect(response.status).toBe(503);
    expect(fake.emulator.jobCount).toBe(before);
    // The transport recovers on the next call.
    expect(
      JSON.parse(await transport.invoke(ZONE_API.getProgramTaskResult, JSON.stringify({ jobid: 'gone' }))).errcode,
    ).toBe(701151);
  });
});
