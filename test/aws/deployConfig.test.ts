/**
 * Bad configuration fails before deploy, not at the first cold start: `osls package` runs the zone
 * transport check the functions run (config/serverless-config-check.cjs) on the stage's resolved
 * environment. The `ci` stage's placeholders live in serverless.yml, so it always packages offline.
 */
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { withPackageLock } from '../support/osls.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const OUT = join(tmpdir(), `deploy-config-${process.pid}`);
const OSLS = join(ROOT, 'node_modules/.bin/osls');

/** The environment of a shell with none of the stage's settings exported. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SLS_TELEMETRY_DISABLED: '1', ...extra };
  for (const key of Object.keys(env)) if (/^(ZONE_|WECOM_)/.test(key) && !(key in extra)) delete env[key];
  return env;
}

async function packageStage(args: string[], env: NodeJS.ProcessEnv): Promise<{ ok: boolean; output: string }> {
  try {
    // One packaging at a time across test files: they share the project's build folders.
    const { stdout, stderr } = await withPackageLock(() =>
      run(OSLS, ['package', '--package', join(OUT, args.join('-') || 'default'), ...args], { cwd: ROOT, env }),
    );
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

afterAll(() => rm(OUT, { recursive: true, force: true }));

describe('osls package checks the zone transport settings', () => {
  it('refuses a stage whose relay settings are unset, naming each variable', async () => {
    const { ok, output } = await packageStage([], cleanEnv());
    expect(ok).toBe(false);
    expect(output).toMatch(/stage "dev"/);
    for (const name of ['WECOM_CORP_ID', 'WECOM_RELAY_PROGRAM_ID', 'WECOM_CORP_SECRET_PARAM'])
      expect(output).toContain(name);
  }, 120_000);

  it('refuses an unknown transport, and the bridge without its URL', async () => {
    const invalid = await packageStage(['--stage', 'ci'], cleanEnv({ ZONE_TRANSPORT: 'carrier-pigeon' }));
    expect(invalid.ok).toBe(false);
    expect(invalid.output).toMatch(/ZONE_TRANSPORT: must be one of relay, bridge, wecom/);
    const bridge = await packageStage(['--stage', 'ci'], cleanEnv({ ZONE_TRANSPORT: 'bridge' }));
    expect(bridge.output).toMatch(/ZONE_BRIDGE_URL: required when ZONE_TRANSPORT=bridge/);
  }, 120_000);

  it('refuses a secret the functions would not be allowed to read (outside the stage prefix)', async () => {
    const outside = await packageStage(['--stage', 'ci'], cleanEnv({ WECOM_CORP_SECRET_PARAM: '/other/place/secret' }));
    expect(outside.ok).toBe(false);
    expect(outside.output).toMatch(/WECOM_CORP_SECRET_PARAM: must be under \/wecom-zone-tasks\/ci\//);
  }, 120_000);

  it('packages the ci stage offline with the placeholders kept in the repository', async () => {
    const { ok, output } = await packageStage(['--stage', 'ci'], cleanEnv());
    expect(output).not.toMatch(/Error/);
    expect(ok).toBe(true);
  }, 120_000);
});
