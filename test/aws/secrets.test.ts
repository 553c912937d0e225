/**
 * Issue 13: secrets are read byte for byte, less the trailing line break `echo secret > f` leaves
 * (`aws ssm put-parameter --value file://f` stores it too). Every reader: SSM and Secrets Manager on
 * moto, the JSON key of a secret, a file, the callback signing secret; the whole road to WeCom's
 * gettoken through the fake WeCom API, which answers 40001 to a wrong secret as WeCom does.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import type { HttpCallbackSender } from '../../lib/notify/callback.js';
import { completionNotifier } from '../../lib/wiring/notifier.js';
import { zoneTransport } from '../../lib/wiring/zone.js';
import { zoneClient } from '../../lib/zone/client.js';
import { fileSecret, SecretUnavailableError, secretsManagerSecret, ssmSecret } from '../../lib/zone/wecom/secrets.js';
import { startFakeWecomApi } from '../support/fakeWecomApi.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger } from '../support/fixtures.js';
import { motoEndpoint } from '../support/moto.js';

const clientConfig = () => ({
  endpoint: motoEndpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});
const SECRET = 'corp-secret-43-characters-long-abcdefghijk';

describe.skipIf(!motoEndpoint)('secrets read byte for byte, less a trailing line break', () => {
  const ssm = new SSMClient(clientConfig());
  const secretsManager = new SecretsManagerClient(clientConfig());

  async function parameter(value: string): Promise<string> {
    const name = `/wecom-zone-tasks/${randomUUID()}/wecom-corp-secret`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: value }));
    return name;
  }

  it('the corp secret stored from `echo secret > f` in SSM: gettoken succeeds and the task is created (before: 40001 forever)', async () => {
    const fake = await startFakeWecomApi({
      corpId: 'ww1',
      corpSecret: SECRET,
      zoneProgramId: 'ZP',
      zoneAbilityId: 'run',
      programLatencyMs: 0,
    });
    try {
      const transport = zoneTransport(
        {
          ZONE_TRANSPORT: 'wecom',
          WECOM_CORP_ID: 'ww1',
          WECOM_CORP_SECRET_PARAM: await parameter(`${SECRET}\n`),
          WECOM_ZONE_PROGRAM_ID: 'ZP',
          WECOM_ZONE_ABILITY_ID: 'run',
          WECOM_API_BASE_URL: fake.url,
        },
        recordingLogger(),
        { ssm },
      );
      const created = await zoneClient(transport).createProgramTask({ ...DOC_EXAMPLE_REQUEST, escape_type: 0 });
      expect(created).toMatchObject({ errcode: 0, jobid: expect.any(String) });
    } finally {
      await fake.close();
    }
  });

  it('every reader drops a trailing CR/LF: SSM, Secrets Manager (plain and a JSON key), a file', async () => {
    expect(await ssmSecret({ name: await parameter(`${SECRET}\r\n`), client: ssm }).get()).toBe(SECRET);
    const plain = await secretsManager.send(
      new CreateSecretCommand({ Name: `wecom-${randomUUID()}`, SecretString: `${SECRET}\n` }),
    );
    expect(await secretsManagerSecret({ secretId: plain.ARN ?? '', client: secretsManager }).get()).toBe(SECRET);
    const json = await secretsManager.send(
      new CreateSecretCommand({
        Name: `wecom-${randomUUID()}`,
        SecretString: JSON.stringify({ corpsecret: `${SECRET}\n` }),
      }),
    );
    expect(
      await secretsManagerSecret({ secretId: json.ARN ?? '', client: secretsManager, jsonKey: 'corpsecret' }).get(),
    ).toBe(SECRET);
    const dir = await mkdtemp(join(tmpdir(), 'secret-'));
    await writeFile(join(dir, 'corpsecret.txt'), `${SECRET}\r\n`);
    expect(await fileSecret({ path: join(dir, 'corpsecret.txt') }).get()).toBe(SECRET);
  });

  it('a secret that still starts or ends in whitespace is refused, naming where it lives and never the value', async () => {
    const name = await parameter(`${SECRET} \n`);
    const failure = await ssmSecret({ name, client: ssm })
      .get()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SecretUnavailableError);
    expect((failure as Error).message).toBe(
      `ssm:${name}: the secret starts or ends in whitespace; remove it (a secret never holds spaces at its ends)`,
    );
    const spaced = await secretsManager.send(
      new CreateSecretCommand({ Name: `wecom-${randomUUID()}`, SecretString: `\t${SECRET}` }),
    );
    await expect(secretsManagerSecret({ secretId: spaced.ARN ?? '', client: secretsManager }).get()).rejects.toThrow(
      /starts or ends in whitespace/,
    );
  });

  it('the bridge token in SSM (ZONE_BRIDGE_TOKEN_PARAM), read the same way: the bridge sees the token without the line break', async () => {
    const seen: (string | undefined)[] = [];
    const bridge = createServer((request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"errcode":0,"errmsg":"ok","fail_list":[]}');
    });
    await new Promise<void>((done) => bridge.listen(0, '127.0.0.1', () => done()));
    try {
      const url = `http://127.0.0.1:${(bridge.address() as AddressInfo).port}`;
      const transport = zoneTransport(
        { ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: url, ZONE_BRIDGE_TOKEN_PARAM: await parameter('bridge-token\n') },
        recordingLogger(),
        { ssm },
      );
      await transport.invoke('get_program_task_result', '{"jobid":"j"}');
      expect(seen).toEqual(['Bearer bridge-token']);
    } finally {
      bridge.close();
    }
  });

  it('the callback signing secret in SSM, read the same way', async () => {
    const name = await parameter('callback-signing-secret-value\n');
    const notifier = completionNotifier({ CALLBACK_SECRET_PARAM: name, EVENT_BUS_NAME: '' }, { ssm });
    const sender = notifier.callbacks as HttpCallbackSender;
    expect(await sender.options.secret()).toBe('callback-signing-secret-value');
    const spaced = completionNotifier(
      { CALLBACK_SECRET_PARAM: await parameter('callback-signing-secret-value \n') },
      { ssm },
    );
    await expect((spaced.callbacks as HttpCallbackSender).options.secret()).rejects.toThrow(
      /CALLBACK_SECRET_PARAM: parameter .*whitespace/,
    );
  });
});
