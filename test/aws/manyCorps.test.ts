/**
 * Issue 12 on the AWS adapters: corps and suites as SSM SecureStrings under the stage prefix (moto),
 * tasks and call budgets in DynamoDB, poll messages in SQS (moto), WeCom's API and its callbacks over
 * real HTTP on loopback. Two self-built corps, one 代开发 corp and one third-party corp at once.
 */
import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoCallBudget } from '../../lib/budget/dynamoBudget.js';
import { DEAUTHORISED_TASK_ERRMSG } from '../../lib/corps/port.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { DOC_EXAMPLE_REQUEST } from '../../lib/protocol/examples.js';
import { DynamoIdempotencyStore } from '../../lib/tasks/dynamoIdempotencyStore.js';
import { DynamoTaskStore } from '../../lib/tasks/dynamoStore.js';
import { suiteCallbacks } from '../../lib/wiring/suiteCallbacks.js';
import { zoneAccess } from '../../lib/wiring/zone.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { type FakeWecomApi, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { recordingApiClient, recordingLogger } from '../support/fixtures.js';
import {
  createIdempotencyTable,
  createPollQueue,
  createTasksTable,
  dynamoClient,
  motoEndpoint,
  sqsClient,
} from '../support/moto.js';
import { SqsTestQueue } from '../support/sqsConsumer.js';

const A = 'wwcorpa0000001';
const B = 'wwcorpb0000002';
const C = 'wwcustom000003';
const D = 'wwthird0000004';
const THIRD = 'wwsuite3p00001';
const TEMPLATE = 'dktemplate0001';
const KEY_3P = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const KEY_DK = 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut';

describe.skipIf(!motoEndpoint)('many corps on SSM, DynamoDB and SQS (moto)', () => {
  const prefix = `/wecom-zone-tasks/t${randomUUID().slice(0, 8)}`;
  const ssm = new SSMClient({
    endpoint: motoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const logger = recordingLogger();
  const answers: string[] = [];
  let fake: FakeWecomApi;
  let stack: LocalStack;
  let tasksTable: string;
  const dynamodb = dynamoClient();

  const put = (name: string, value: unknown) =>
    ssm.send(
      new PutParameterCommand({
        Name: `${prefix}/${name}`,
        Type: 'SecureString',
        Value: JSON.stringify(value),
        Overwrite: true,
      }),
    );
  const read = async (name: string) => {
    const answer = await ssm.send(new GetParameterCommand({ Name: `${prefix}/${name}`, WithDecryption: true }));
    return {
      type: answer.Parameter?.Type,
      value: JSON.parse(answer.Parameter?.Value ?? 'null') as Record<string, unknown>,
    };
  };
  const { api, create, finished } = recordingApiClient(() => stack.url, answers);
  const callbackUrl = (suiteId: string) => `${stack.url}/wecom/callback/${suiteId}`;

  beforeAll(async () => {
    fake = await startFakeWecomApi({
      emulator: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(300) }),
      corps: { [A]: 'secret-of-corp-a', [B]: 'secret-of-corp-b' },
      suites: {
        [THIRD]: { kind: 'third_party', secret: 'suite-secret-3p', token: 'callback-token-3p', encodingAesKey: KEY_3P },
        [TEMPLATE]: {
          kind: 'custom_app',
          secret: 'suite-secret-dk',
          token: 'callback-token-dk',
          encodingAesKey: KEY_DK,
        },
      },
    });
    await put(`corps/${A}`, { kind: 'self_built', secret: 'secret-of-corp-a' });
    await put(`corps/${B}`, { kind: 'self_built', secret: 'secret-of-corp-b' });
    await put(`suites/${THIRD}/secret`, {
      kind: 'third_party',
      suite_secret: 'suite-secret-3p',
      token: 'callback-token-3p',
      encoding_aes_key: KEY_3P,
    });
    await put(`suites/${TEMPLATE}/secret`, {
      kind: 'custom_app',
      suite_secret: 'suite-secret-dk',
      token: 'callback-token-dk',
      encoding_aes_key: KEY_DK,
    });
    const sqs = sqsClient();
    tasksTable = await createTasksTable(dynamodb);
    const env = {
      ZONE_TRANSPORT: 'wecom',
      WECOM_CORPS_PARAM_PREFIX: prefix,
      WECOM_ZONE_PROGRAM_ID: 'ZONE_PROGRAM',
      WECOM_ZONE_ABILITY_ID: 'run_task',
      WECOM_API_BASE_URL: fake.url,
    };
    stack = await startLocalStack({
      env,
      logger,
      store: new DynamoTaskStore(dynamodb, tasksTable),
      idempotency: new DynamoIdempotencyStore(dynamodb, await createIdempotencyTable(dynamodb)),
      queue: new SqsTestQueue(sqs, await createPollQueue(sqs)),
      budget: new DynamoCallBudget(dynamodb, tasksTable, [{ seconds: 60, limit: 1000 }]),
      schedule: { firstDelaySeconds: 1, minWaitSeconds: 1 },
      sweepEverySeconds: 0,
      // As the functions build it on AWS ('aws': https only, except loopback), with moto's SSM.
      access: ({ budget }) => {
        const built = zoneAccess(env, logger, { budget, ssm }, 'aws');
        return { ...built, callbacks: suiteCallbacks(built, logger) };
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await fake?.close();
  });

  it('serves four corps of three kinds at once, each with its own token; create_auth lands in SSM as a SecureString', async () => {
    expect((await fake.pushSuiteTicket(callbackUrl(THIRD), THIRD)).body).toBe('success');
    expect((await fake.pushSuiteTicket(callbackUrl(TEMPLATE), TEMPLATE)).body).toBe('success');
    expect((await read(`suites/${THIRD}/ticket`)).type).toBe('SecureString');
    expect((await fake.authorise(callbackUrl(TEMPLATE), TEMPLATE, C)).body).toBe('success');
    expect((await fake.authorise(callbackUrl(THIRD), THIRD, D)).body).toBe('success');
    const third = await read(`corps/${D}`);
    expect(third).toEqual({
      type: 'SecureString',
      value: { kind: 'third_party', status: 'active', suite_id: THIRD, permanent_code: fake.permanentCodeOf(D) },
    });
    expect((await read(`corps/${C}`)).value).toMatchObject({ kind: 'custom_app', secret: fake.permanentCodeOf(C) });

    const created = await Promise.all([A, B, C, D].map((corp) => create(corp)));
    expect(created.map((answer) => answer.status)).toEqual([202, 202, 202, 202]);
    const ended = await Promise.all(created.map((answer) => finished(String(answer.body.jobid))));
    expect(ended.map((task) => task.status)).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const tokensOf = new Map<string, Set<string>>();
    for (const call of fake.corpCalls.filter((call) => call.kind.startsWith('async_program'))) {
      tokensOf.set(call.owner, (tokensOf.get(call.owner) ?? new Set()).add(call.token ?? ''));
    }
    expect([...tokensOf.keys()].sort()).toEqual([A, B, C, D].sort());
    const all = [...tokensOf.values()].flatMap((set) => [...set]);
    expect(new Set(all).size).toBe(all.length);
  });

  it('lists the corps under the prefix: a request naming none is refused while several are served', async () => {
    const none = await api('POST', '/tasks', DOC_EXAMPLE_REQUEST);
    expect([none.status, none.body.error]).toEqual([400, 'corp_required']);
    const unknown = await create('wwnobody');
    expect([unknown.status, unknown.body.error, unknown.body.corp_id]).toEqual([404, 'unknown_corp', 'wwnobody']);
  });

  it('counts token requests against the corp and the suite in the DynamoDB budget', async () => {
    const items = await dynamodb.send(new ScanCommand({ TableName: tasksTable }));
    const budgetKeys = (items.Items ?? [])
      .map((item) => item.jobid?.S ?? '')
      .filter((key) => key.startsWith('budget#'));
    // The suite's own calls (get_suite_token) have a counter of their own, apart from every corp's.
    expect(budgetKeys.some((key) => key.includes(`suite.${THIRD}`))).toBe(true);
    for (const corp of [A, B, C, D]) expect(budgetKeys.some((key) => key.includes(corp))).toBe(true);
  });

  it('cancel_auth: the SSM entry keeps no secret, pending tasks end FAILED, new ones are refused; a forged one is refused', async () => {
    const forged = await fake.postEvent(
      callbackUrl(THIRD),
      THIRD,
      { InfoType: 'cancel_auth', AuthCorpId: D },
      { token: 'forged' },
    );
    expect(forged.status).toBe(401);
    expect((await read(`corps/${D}`)).value.status).toBe('active');
    const pending = await create(D);
    expect(pending.status).toBe(202);
    expect((await fake.cancelAuth(callbackUrl(THIRD), THIRD, D)).body).toBe('success');
    const entry = (await read(`corps/${D}`)).value;
    expect(entry).toMatchObject({ kind: 'third_party', status: 'deauthorised', suite_id: THIRD });
    expect(entry).not.toHaveProperty('permanent_code');
    const ended = await finished(String(pending.body.jobid));
    expect([ended.status, ended.errmsg]).toEqual(['FAILED', DEAUTHORISED_TASK_ERRMSG]);
    const refused = await create(D);
    expect([refused.status, refused.body.error]).toEqual([403, 'corp_deauthorised']);
  });

  it('no secret, ticket, permanent code or token in a log line, an answer or a DynamoDB item', async () => {
    const items = JSON.stringify((await dynamodb.send(new ScanCommand({ TableName: tasksTable }))).Items);
    const haystacks = [logger.lines.join('\n'), answers.join('\n'), items];
    const secrets = fake.secrets().filter((value) => value.length >= 8);
    expect(secrets.length).toBeGreaterThan(10);
    for (const secret of secrets) for (const haystack of haystacks) expect(haystack.includes(secret)).toBe(false);
  });
});
