/**
 * Issue 13: settings that depend on each other are checked together, in every schema that reads
 * them (the functions' common configuration, the WeCom transports', the emulator's, `npm start`'s),
 * and secrets from the environment are read as the other secret readers read theirs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commonConfig, LIMITS, ZoneTransportEnvSchema } from '../../lib/config.js';
import { checkLocalEnv } from '../../lib/local/env.js';
import { ConfigurationError, parseEnv } from '../../lib/shared/env.js';
import { checkZoneTransportEnv } from '../../lib/wiring/zone.js';
import { parseZoneEnv } from '../../lib/zone/emulator/settings.js';
import { RelayEnvSchema } from '../../lib/zone/wecom/env.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('the common configuration (every function, and npm start)', () => {
  it('POLL_MAX_ATTEMPTS must stay below the poll queue’s redrive count, with room for budget waits and retries', () => {
    expect(() => commonConfig({ POLL_MAX_ATTEMPTS: '300' })).toThrow(
      /POLL_MAX_ATTEMPTS: must be at most 200: .*after 250 receives/,
    );
    expect(() => commonConfig({ POLL_MAX_ATTEMPTS: '201' })).toThrow(ConfigurationError);
    expect(commonConfig({ POLL_MAX_ATTEMPTS: '200' }).schedule.maxAttempts).toBe(200);
    // The numbers are the queue's own, from the file serverless.yml reads.
    const schedule = JSON.parse(readFileSync(resolve(ROOT, 'config/poll-schedule.json'), 'utf8')) as Record<
      string,
      number
    >;
    expect(LIMITS.maxReceiveCount).toBe(schedule.maxReceiveCount);
    expect(LIMITS.queueVisibilitySeconds).toBe(schedule.queueVisibilitySeconds);
  });

  it('POLL_LEASE_SECONDS between the poller’s timeout and the queue’s visibility timeout', () => {
    expect(() => commonConfig({ POLL_LEASE_SECONDS: '20' })).toThrow(
      /POLL_LEASE_SECONDS: must be more than the poller's timeout \(30 s\)/,
    );
    expect(() => commonConfig({ POLL_LEASE_SECONDS: '181' })).toThrow(/POLL_LEASE_SECONDS/);
    expect(commonConfig({ POLL_LEASE_SECONDS: '180' }).schedule.leaseSeconds).toBe(180);
    // npm start has no Lambda timeout: a short lease is fine there, a lease past the visibility timeout is not.
    expect(commonConfig({ POLL_LEASE_SECONDS: '2' }, 'local').schedule.leaseSeconds).toBe(2);
    expect(() => commonConfig({ POLL_LEASE_SECONDS: '181' }, 'local')).toThrow(
      /POLL_LEASE_SECONDS: must be at most the poll queue's visibility timeout/,
    );
  });

  it('a budget above WeCom’s own limits protects nothing', () => {
    expect(() => commonConfig({ BUDGET_PER_MINUTE: '12000' })).toThrow(
      /BUDGET_PER_MINUTE: must be at most WeCom's own limit, 10000/,
    );
    expect(() => commonConfig({ BUDGET_PER_HOUR: '200000' })).toThrow(/BUDGET_PER_HOUR/);
    expect(commonConfig({ BUDGET_PER_MINUTE: '10000', BUDGET_PER_HOUR: '0' }).budgetWindows).toEqual([
      { seconds: 60, limit: 10_000 },
    ]);
  });

  it('WECOM_CORP_SECRET stops every function and npm start, whatever the transport, without echoing it', () => {
    const leaked = () => commonConfig({ WECOM_CORP_SECRET: 'plain-secret-value' });
    expect(leaked).toThrow(/WECOM_CORP_SECRET: never put the corp secret in the environment/);
    expect(leaked).not.toThrow(/plain-secret-value/);
    expect(() => checkLocalEnv({ WECOM_CORP_SECRET: 'plain-secret-value' })).toThrow(/WECOM_CORP_SECRET/);
  });

  it('ZONE_TIMEOUT_MS must end inside the functions’ timeouts, in both schemas that read it', () => {
    expect(() => parseEnv(ZoneTransportEnvSchema, { ZONE_TIMEOUT_MS: '30000' })).toThrow(
      /ZONE_TIMEOUT_MS: must be at most 20000/,
    );
    const relay = { WECOM_CORP_ID: 'ww1', WECOM_CORP_SECRET_PARAM: '/p', WECOM_RELAY_PROGRAM_ID: 'R' };
    expect(() => parseEnv(RelayEnvSchema, { ...relay, ZONE_TIMEOUT_MS: '30000' })).toThrow(/ZONE_TIMEOUT_MS/);
    expect(parseEnv(RelayEnvSchema, { ...relay, ZONE_TIMEOUT_MS: '20000' }).ZONE_TIMEOUT_MS).toBe(20_000);
  });

  it('ZONE_BRIDGE_TOKEN from the environment: a trailing line break dropped, other whitespace refused', () => {
    expect(parseEnv(ZoneTransportEnvSchema, { ZONE_BRIDGE_TOKEN: 'bridge-token\r\n' }).ZONE_BRIDGE_TOKEN).toBe(
      'bridge-token',
    );
    expect(() => parseEnv(ZoneTransportEnvSchema, { ZONE_BRIDGE_TOKEN: ' bridge-token' })).toThrow(
      /ZONE_BRIDGE_TOKEN: the secret starts or ends in whitespace/,
    );
  });
});

describe('the WeCom transports’ settings', () => {
  it('the relay’s two abilities must differ: one ability for both would create a task at every poll', () => {
    const relay = {
      ZONE_TRANSPORT: 'relay',
      WECOM_CORP_ID: 'ww1',
      WECOM_CORP_SECRET_PARAM: '/p',
      WECOM_RELAY_PROGRAM_ID: 'R',
    };
    expect(() =>
      checkZoneTransportEnv({ ...relay, WECOM_RELAY_RESULT_ABILITY_ID: 'invoke_create_program_task' }),
    ).toThrow(/WECOM_RELAY_RESULT_ABILITY_ID: must differ from WECOM_RELAY_CREATE_ABILITY_ID/);
    expect(() =>
      checkZoneTransportEnv({ ...relay, WECOM_RELAY_CREATE_ABILITY_ID: 'x', WECOM_RELAY_RESULT_ABILITY_ID: 'x' }),
    ).toThrow(/must differ/);
    expect(checkZoneTransportEnv(relay).transport).toBe('relay');
  });
});

describe('the emulator’s knobs', () => {
  it('a knob that only acts with another is refused alone, instead of being silently ignored', () => {
    expect(() => parseZoneEnv({ ZONE_FAULT_ERRCODES: '45009' })).toThrow(
      /ZONE_FAULT_ERRCODES: has no effect unless ZONE_FAULT_ERROR_RATE is above 0/,
    );
    expect(() => parseZoneEnv({ ZONE_RATE_LIMIT_WINDOW_SECONDS: '2' })).toThrow(
      /ZONE_RATE_LIMIT_WINDOW_SECONDS: has no effect unless ZONE_RATE_LIMIT/,
    );
    expect(
      parseZoneEnv({ ZONE_RATE_LIMIT: '60', ZONE_RATE_LIMIT_WINDOW_SECONDS: '2' }).ZONE_RATE_LIMIT_WINDOW_SECONDS,
    ).toBe(2);
    expect(parseZoneEnv({}).ZONE_RATE_LIMIT_WINDOW_SECONDS).toBe(60);
  });
});

describe('npm start’s settings, checked before anything starts', () => {
  it('refuses the AWS callback setting, naming the local one', () => {
    expect(() => checkLocalEnv({ CALLBACK_SECRET_PARAM: '/wecom-zone-tasks/dev/callback' })).toThrow(
      /CALLBACK_SECRET_PARAM: read on AWS only .*CALLBACK_SIGNING_SECRET/,
    );
  });

  it('refuses settings that contradict each other', () => {
    expect(() => checkLocalEnv({ ZONE_TRANSPORT: 'emulator', ZONE_BRIDGE_URL: 'http://127.0.0.1:4000' })).toThrow(
      /ZONE_BRIDGE_URL: only read with ZONE_TRANSPORT=bridge/,
    );
    expect(() => checkLocalEnv({ PORT: '3000', ZONE_PORT: '3000' })).toThrow(
      /ZONE_PORT: the API already listens on 3000/,
    );
    expect(() => checkLocalEnv({ POLL_MAX_ATTEMPTS: '300' })).toThrow(/POLL_MAX_ATTEMPTS/);
    expect(() => checkLocalEnv({ ZONE_FAULT_ERRCODES: '-1' })).toThrow(/ZONE_FAULT_ERRCODES/);
    expect(checkLocalEnv({ ZONE_BRIDGE_URL: 'http://127.0.0.1:4000' }).transport).toBe('bridge');
    expect(checkLocalEnv({}).transport).toBe('emulator');
  });

  it('reads its secrets as every secret reader does: a trailing line break dropped, whitespace at the ends refused', () => {
    const env = checkLocalEnv({
      CALLBACK_SIGNING_SECRET: 'sixteen-chars-or-more\n',
      LOCAL_API_TOKEN: 'local-token\r\n',
    });
    expect(env.CALLBACK_SIGNING_SECRET).toBe('sixteen-chars-or-more');
    expect(env.LOCAL_API_TOKEN).toBe('local-token');
    expect(() => checkLocalEnv({ LOCAL_API_TOKEN: 'local-token ' })).toThrow(
      /LOCAL_API_TOKEN: the secret starts or ends in whitespace/,
    );
    expect(() => checkLocalEnv({ CALLBACK_SIGNING_SECRET: 'short\n' })).toThrow(
      /CALLBACK_SIGNING_SECRET: must be at least 16 characters/,
    );
  });
});

describe('osls package checks the same, before anything is built', () => {
  it('config/check-deploy-config.ts refuses POLL_MAX_ATTEMPTS=300 and WECOM_CORP_SECRET, naming them', () => {
    const run = (env: Record<string, string>) =>
      spawnSync(process.execPath, ['--import', 'tsx', resolve(ROOT, 'config/check-deploy-config.ts')], {
        cwd: ROOT,
        input: JSON.stringify({
          service: 'wecom-zone-tasks',
          stage: 'dev',
          env: { ZONE_TRANSPORT: 'bridge', ZONE_BRIDGE_URL: 'https://bridge.example.com', ...env },
        }),
        encoding: 'utf8',
      });
    expect(run({}).status).toBe(0);
    const attempts = run({ POLL_MAX_ATTEMPTS: '300' });
    expect(attempts.status).toBe(1);
    expect(attempts.stderr).toMatch(/POLL_MAX_ATTEMPTS: must be at most 200/);
    const leaked = run({ WECOM_CORP_SECRET: 'plain-secret-value' });
    expect(leaked.stderr).toMatch(/WECOM_CORP_SECRET/);
    expect(leaked.stderr).not.toMatch(/plain-secret-value/);
  });
});

describe('the repository', () => {
  it('has the LICENSE package.json names: MIT, copyright the contributors', () => {
    const license = readFileSync(resolve(ROOT, 'LICENSE'), 'utf8');
    const pkg = JSON.parse(readFileSync(resolve(ROOT, 'package.json'), 'utf8')) as { license: string };
    expect(pkg.license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} wecom-zone-tasks contributors\n/);
    expect(license).toContain('Permission is hereby granted, free of charge, to any person obtaining a copy');
    expect(license).toContain('THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND');
  });
});
