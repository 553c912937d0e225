/**
 * The one environment parser (`lib/shared/env.ts`, issue 11 item 5): every group of settings — the
 * functions' (`lib/config.ts`), the WeCom transports' (`lib/zone/wecom/env.ts`) and the emulator's
 * (`lib/zone/emulator/settings.ts`) — reads a blank value as unset, and a wrong value is refused
 * naming the variable, never echoing the value.
 */
import { describe, expect, it } from 'vitest';
import { commonConfig, ZoneTransportEnvSchema } from '../../lib/config.js';
import { ConfigurationError, isBlank, parseEnv } from '../../lib/shared/env.js';
import { parseZoneEnv, ZoneConfigError } from '../../lib/zone/emulator/settings.js';
import { RelayEnvSchema } from '../../lib/zone/wecom/env.js';

const relay = { WECOM_CORP_ID: 'ww-corp', WECOM_CORP_SECRET_PARAM: '/p', WECOM_RELAY_PROGRAM_ID: 'RELAY' };

describe('one environment parser', () => {
  it('counts empty and whitespace-only values as unset, nothing else', () => {
    expect([undefined, '', ' ', '\t\r\n'].map(isBlank)).toEqual([true, true, true, true]);
    expect(['0', 'x', ' x '].map(isBlank)).toEqual([false, false, false]);
  });

  it('reads a blank value as unset in every group: the default applies, never 0 or an empty name', () => {
    // The functions' settings.
    expect(commonConfig({ POLL_MAX_ATTEMPTS: ' ', SWEEP_LIMIT: '' }, 'local')).toMatchObject({
      schedule: { maxAttempts: commonConfig({}, 'local').schedule.maxAttempts },
      sweep: { limit: commonConfig({}, 'local').sweep.limit },
    });
    // The emulator's: a blank latency was 0 and a blank archive file was refused before.
    const zone = parseZoneEnv({ ZONE_PROGRAM_LATENCY_MS: ' ', ZONE_ARCHIVE_FILE: '', ZONE_FAULT_ERROR_RATE: '' });
    expect(zone).toEqual(parseZoneEnv({}));
    // The WeCom transports'.
    const wecom = parseEnv(RelayEnvSchema, { ...relay, WECOM_RELAY_CREATE_ABILITY_ID: '  ', ZONE_TIMEOUT_MS: '' });
    expect(wecom.WECOM_RELAY_CREATE_ABILITY_ID).toBeUndefined();
    expect(wecom.ZONE_TIMEOUT_MS).toBe(10_000);
    // A blank required value is missing, named as such.
    expect(() => parseEnv(RelayEnvSchema, { ...relay, WECOM_RELAY_PROGRAM_ID: ' ' })).toThrow(
      /WECOM_RELAY_PROGRAM_ID: required/,
    );
  });

  it('declares ZONE_TIMEOUT_MS once: the bridge and the WeCom transports refuse and default it alike', () => {
    const refusal = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return (error as Error).message.replace(/^.*ZONE_TIMEOUT_MS: /, '');
      }
      throw new Error('not refused');
    };
    const bridge = refusal(() => parseEnv(ZoneTransportEnvSchema, { ZONE_TIMEOUT_MS: '30000' }));
    expect(bridge).toMatch(/at most 20000/);
    expect(refusal(() => parseEnv(RelayEnvSchema, { ...relay, ZONE_TIMEOUT_MS: '30000' }))).toBe(bridge);
    expect(parseEnv(ZoneTransportEnvSchema, {}).ZONE_TIMEOUT_MS).toBe(parseEnv(RelayEnvSchema, relay).ZONE_TIMEOUT_MS);
  });

  it('names the variable and never the value of a refused setting', () => {
    const secret = 's3cr3t-Value-42';
    const cases: [() => unknown, RegExp][] = [
      [() => parseEnv(ZoneTransportEnvSchema, { ZONE_BRIDGE_TOKEN: ` ${secret} ` }), /ZONE_BRIDGE_TOKEN/],
      [() => parseEnv(ZoneTransportEnvSchema, { ZONE_BRIDGE_URL: `x${secret}` }), /ZONE_BRIDGE_URL/],
      [() => parseEnv(ZoneTransportEnvSchema, { ZONE_TRANSPORT: secret }), /ZONE_TRANSPORT/],
      [() => parseZoneEnv({ ZONE_DEBUG: secret }), /ZONE_DEBUG/],
      [() => parseEnv(RelayEnvSchema, { ...relay, WECOM_API_BASE_URL: `ftp://${secret}` }), /WECOM_API_BASE_URL/],
    ];
    for (const [run, name] of cases) {
      let message = '';
      try {
        run();
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigurationError);
        message = (error as Error).message;
      }
      expect(message).toMatch(name);
      expect(message).not.toContain(secret);
    }
  });

  it("answers the emulator's settings with ZoneConfigError, a ConfigurationError", () => {
    expect(() => parseZoneEnv({ ZONE_RATE_LIMIT: '-1' })).toThrow(ZoneConfigError);
    expect(() => parseZoneEnv({ ZONE_RATE_LIMIT: '-1' })).toThrow(/invalid zone configuration: ZONE_RATE_LIMIT: /);
    expect(new ZoneConfigError('x')).toBeInstanceOf(ConfigurationError);
  });
});
