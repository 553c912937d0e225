/**
 * The Lambda functions' wiring: each function validates only what it uses, names what is wrong,
 * and the WeCom transport is reachable through ZONE_TRANSPORT=wecom with its secret in SSM. On AWS
 * every zone URL is https (loopback aside) and the bridge token comes from SSM.
 */

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lib/shared/env.js';
import { close, listen, readBody, sendJson } from '../../lib/shared/nodeHttp.js';
import { createDependencies } from '../../lib/wiring/createTasks.js';
import { readDependencies } from '../../lib/wiring/readTasks.js';
import { zoneTransport } from '../../lib/wiring/zone.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { ZoneTransportError } from '../../lib/zone/errors.js';
import { startFakeWecomApi } from '../support/fakeWecomApi.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger } from '../support/fixtures.js';
import { motoEndpoint } from '../support/moto.js';

const FULL = {
  TASKS_TABLE: 't',
  IDEMPOTENCY_TABLE: 'i',
  POLL_QUEUE_URL: 'http://127.0.0.1:1/q',
  ZONE_TRANSPORT: 'bridge',
  ZONE_BRIDGE_URL: 'http://127.0.0.1:1',
  AWS_REGION: 'us-east-1',
};

describe('function wiring', () => {
  it('getTask needs only TASKS_TABLE, and says so when it is missing', () => {
    expect(() => readDependencies({})).toThrow(/TASKS_TABLE/);
    expect(readDependencies({ TASKS_TABLE: 't' }).store).toBeDefined();
  });

  it('the create functions name each missing piece', () => {
    const { IDEMPOTENCY_TABLE: _i, ...noIdempotency } = FULL;
    expect(() => createDependencies(noIdempotency)).toThrow(/IDEMPOTENCY_TABLE/);
    const { ZONE_BRIDGE_URL: _z, ...noBridge } = FULL;
    expect(() => createDependencies(noBridge)).toThrow(/ZONE_BRIDGE_URL: required when ZONE_TRANSPORT=bridge/);
    expect(createDependencies({ ...FULL, CALLBACK_SECRET_PARAM: '' }).callbackPolicy).toEqual({
      enabled: false,
      allowHttp: false,
      setting: 'CALLBACK_SECRET_PARAM',
    });
  });

  // Issue 13: checked by every function, whatever its transport (the bridge's functions started with it).
  it('every function refuses settings that contradict the infrastructure, and a corp secret in the environment, on any transport', () => {
    expect(() => createDependencies({ ...FULL, POLL_MAX_ATTEMPTS: '300' })).toThrow(
      /POLL_MAX_ATTEMPTS: must be at most 200/,
    );
    const leaked = () => createDependencies({ ...FULL, WECOM_CORP_SECRET: 'plain-secret-value' });
    expect(leaked).toThrow(/WECOM_CORP_SECRET: never put the corp secret in the environment/);
    expect(leaked).not.toThrow(/plain-secret-value/);
  });

  it('ZONE_TRANSPORT=wecom checks the WECOM_* settings at start-up and refuses a secret in the environment', () => {
    const logger = recordingLogger();
    expect(() => zoneTransport({ ZONE_TRANSPORT: 'wecom' }, logger)).toThrow(/WECOM_CORP_ID/);
    const wecom = {
      ZONE_TRANSPORT: 'wecom',
      WECOM_CORP_ID: 'ww1',
      WECOM_ZONE_PROGRAM_ID: 'P',
      WECOM_ZONE_ABILITY_ID: 'A',
    };
    expect(() => zoneTransport(wecom, logger)).toThrow(/WECOM_CORP_SECRET_PARAM/);
    const leaked = () =>
      zoneTransport({ ...wecom, WECOM_CORP_SECRET_PARAM: '/p', WECOM_CORP_SECRET: 'plain-secret-value' }, logger);
    expect(leaked).toThrow(ConfigurationError);
    expect(leaked).not.toThrow(/plain-secret-value/);
  });
});

describe.skipIf(!motoEndpoint)('ZONE_TRANSPORT=wecom end to end (fake WeCom API, secret in SSM on moto)', () => {
  it('creates and reads a task through WeCom’s HTTPS API', async () => {
    const ssm = new SSMClient({
      endpoint: motoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const name = `/wecom-zone-tasks/${randomUUID()}/wecom-corp-secret`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'corp-secret-in-ssm' }));
    const fake = await startFakeWecomApi({
      corpId: 'ww1',
      corpSecret: 'corp-secret-in-ssm',
      zoneProgramId: 'ZP',
      zoneAbilityId: 'run',
      programLatencyMs: 0,
    });
    try {
      const transport = zoneTransport(
        {
          ZONE_TRANSPORT: 'wecom',
          WECOM_CORP_ID: 'ww1',
          WECOM_CORP_SECRET_PARAM: name,
          WECOM_ZONE_PROGRAM_ID: 'ZP',
          WECOM_ZONE_ABILITY_ID: 'run',
          WECOM_API_BASE_URL: fake.url,
        },
        recordingLogger(),
        { ssm },
      );
      const created = JSON.parse(await transport.invoke('create_program_task', JSON.stringify(DOC_EXAMPLE_REQUEST)));
      expect(created).toMatchObject({ errcode: 0, jobid: expect.any(String) });
      const result = JSON.parse(
        await transport.invoke('get_program_task_result', JSON.stringify({ jobid: created.jobid })),
      );
      expect([0, 710642]).toContain(result.errcode);
      expect(fake.events.map((event) => event.kind)).toEqual([
        'gettoken',
        'async_program_task',
        'async_program_result',
      ]);
    } finally {
      await fake.close();
    }
  });
});

describe('zone transport safety on AWS', () => {
  const bridge = (url: string, extra: Record<string, string> = {}) => ({
    ZONE_TRANSPORT: 'bridge',
    ZONE_BRIDGE_URL: url,
    ...extra,
  });
  const relay = (baseUrl: string) => ({
    ZONE_TRANSPORT: 'relay',
    WECOM_CORP_ID: 'ww1',
    WECOM_CORP_SECRET_PARAM: '/wecom-zone-tasks/prod/corp-secret',
    WECOM_RELAY_PROGRAM_ID: 'relay',
    WECOM_API_BASE_URL: baseUrl,
  });

  it('refuses zone URLs that are not https, except to a loopback address; npm start may use http', () => {
    const logger = recordingLogger();
    expect(() => zoneTransport(bridge('http://bridge.example.com'), logger)).toThrow(
      /ZONE_BRIDGE_URL: must be an https URL on AWS/,
    );
    expect(() => zoneTransport(relay('http://qyapi.example.com'), logger)).toThrow(
      /WECOM_API_BASE_URL: must be an https URL on AWS/,
    );
    for (const url of [
      'https://bridge.example.com',
      'http://127.0.0.1:4000',
      'http://localhost:4000',
      'http://[::1]:4000',
    ]) {
      expect(() => zoneTransport(bridge(url), logger), url).not.toThrow();
    }
    expect(() => zoneTransport(relay('https://qyapi.weixin.qq.com'), logger)).not.toThrow();
    expect(() => zoneTransport(bridge('http://bridge.lan:4000'), logger, {}, 'local')).not.toThrow();
  });

  it('refuses a bridge token in the environment on AWS (it belongs in SSM), never quoting it', () => {
    const leaked = () =>
      zoneTransport(
        bridge('https://bridge.example.com', { ZONE_BRIDGE_TOKEN: 'plain-bridge-token' }),
        recordingLogger(),
      );
    expect(leaked).toThrow(/ZONE_BRIDGE_TOKEN: npm start only; .*ZONE_BRIDGE_TOKEN_PARAM/);
    expect(leaked).not.toThrow(/plain-bridge-token/);
    expect(() =>
      zoneTransport(bridge('http://127.0.0.1:1', { ZONE_BRIDGE_TOKEN: 't' }), recordingLogger(), {}, 'local'),
    ).not.toThrow();
  });
});

describe.skipIf(!motoEndpoint)('ZONE_BRIDGE_TOKEN_PARAM (SSM on moto)', () => {
  it('reads the bridge token from SSM on the first call and sends it as a bearer token; an unreadable one sends nothing', async () => {
    const ssm = new SSMClient({
      endpoint: motoEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const name = `/wecom-zone-tasks/${randomUUID()}/bridge-token`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'bridge-token-from-ssm' }));
    const zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) });
    const seen: (string | undefined)[] = [];
    // A bridge that answers only callers with the right token (HTTP bridge contract: POST /<api_name>).
    const server = createServer(async (request, response) => {
      seen.push(request.headers.authorization);
      if (request.headers.authorization !== 'Bearer bridge-token-from-ssm')
        return sendJson(response, 401, { message: 'unauthorized' });
      const answer = await zone.invoke((request.url ?? '/').slice(1), (await readBody(request)).toString('utf8'));
      response.writeHead(200, { 'content-type': 'application/json' }).end(answer);
    });
    const url = await listen(server, 0, '127.0.0.1');
    try {
      const transport = zoneTransport(
        { ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: url, ZONE_BRIDGE_TOKEN_PARAM: name },
        recordingLogger(),
        { ssm },
      );
      const created = JSON.parse(await transport.invoke('create_program_task', JSON.stringify(DOC_EXAMPLE_REQUEST)));
      expect(created).toMatchObject({ errcode: 0, jobid: expect.any(String) });
      expect(seen).toEqual(['Bearer bridge-token-from-ssm']);

      const missing = zoneTransport(
        { ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: url, ZONE_BRIDGE_TOKEN_PARAM: `${name}-missing` },
        recordingLogger(),
        { ssm },
      );
      const error = await missing
        .invoke('create_program_task', JSON.stringify(DOC_EXAMPLE_REQUEST))
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ZoneTransportError);
      expect(error).toMatchObject({
        reach: 'not_sent',
        message: expect.stringMatching(/zone bridge token could not be read/),
      });
      expect(seen).toHaveLength(1);
    } finally {
      await close(server);
    }
  });
});
