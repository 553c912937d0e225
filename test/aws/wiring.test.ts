/**
 * The Lambda functions' wiring: each function validates only what it uses, names what is wrong,
 * and the WeCom transport is reachable through ZONE_TRANSPORT=wecom with its secret in SSM.
 */
import { randomUUID } from 'node:crypto';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../lib/config.js';
import { createDependencies } from '../../lib/wiring/createTasks.js';
import { readDependencies } from '../../lib/wiring/readTasks.js';
import { zoneTransport } from '../../lib/wiring/zone.js';
import { DOC_EXAMPLE_REQUEST, recordingLogger } from '../support/fixtures.js';
import { startFakeWecomApi } from '../support/fakeWecomApi.js';
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
    expect(createDependencies({ ...FULL, CALLBACK_SECRET_PARAM: '' }).callbackPolicy).toEqual({ enabled: false, allowHttp: false });
  });

  it('ZONE_TRANSPORT=wecom checks the WECOM_* settings at start-up and refuses a secret in the environment', () => {
    const logger = recordingLogger();
    expect(() => zoneTransport({ ZONE_TRANSPORT: 'wecom' }, logger)).toThrow(/WECOM_CORP_ID/);
    const wecom = { ZONE_TRANSPORT: 'wecom', WECOM_CORP_ID: 'ww1', WECOM_ZONE_PROGRAM_ID: 'P', WECOM_ZONE_ABILITY_ID: 'A' };
    expect(() => zoneTransport(wecom, logger)).toThrow(/WECOM_CORP_SECRET_PARAM/);
    const leaked = () => zoneTransport({ ...wecom, WECOM_CORP_SECRET_PARAM: '/p', WECOM_CORP_SECRET: 'plain-secret-value' }, logger);
    expect(leaked).toThrow(ConfigurationError);
    expect(leaked).not.toThrow(/plain-secret-value/);
  });
});

describe.skipIf(!motoEndpoint)('ZONE_TRANSPORT=wecom end to end (fake WeCom API, secret in SSM on moto)', () => {
  it('creates and reads a task through WeCom’s HTTPS API', async () => {
    const ssm = new SSMClient({ endpoint: motoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const name = `/wecom-zone-tasks/${randomUUID()}/wecom-corp-secret`;
    await ssm.send(new PutParameterCommand({ Name: name, Type: 'SecureString', Value: 'corp-secret-in-ssm' }));
    const fake = await startFakeWecomApi({ corpId: 'ww1', corpSecret: 'corp-secret-in-ssm', zoneProgramId: 'ZP', zoneAbilityId: 'run', programLatencyMs: 0 });
    try {
      const transport = zoneTransport(
        { ZONE_TRANSPORT: 'wecom', WECOM_CORP_ID: 'ww1', WECOM_CORP_SECRET_PARAM: name, WECOM_ZONE_PROGRAM_ID: 'ZP', WECOM_ZONE_ABILITY_ID: 'run', WECOM_API_BASE_URL: fake.url },
        recordingLogger(),
        { ssm },
      );
      const created = JSON.parse(await transport.invoke('create_program_task', JSON.stringify(DOC_EXAMPLE_REQUEST)));
      expect(created).toMatchObject({ errcode: 0, jobid: expect.any(String) });
      const result = JSON.parse(await transport.invoke('get_program_task_result', JSON.stringify({ jobid: created.jobid })));
      expect([0, 710642]).toContain(result.errcode);
      expect(fake.events.map((event) => event.kind)).toEqual(['gettoken', 'async_program_task', 'async_program_result']);
    } finally {
      await fake.close();
    }
  });
});
