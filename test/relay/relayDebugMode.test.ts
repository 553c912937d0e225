/**
 * The relay's debug mode (docs 54809–54811) against the project's fake WeCom API: started with
 * SPEC_DEBUG_TOKEN_FILE and the app's settings, `python3 relay/relay.py` gets the app's token, opens
 * the program's debug mode and hands the token to the (fake) SDK; WeCom's `sync_call_program` then
 * reaches it and the zone emulator behind it. No secret or token appears in its output.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServedEmulator, serveEmulator } from '../../lib/zone/emulator/server.js';
import { type FakeWecomApi, startFakeWecomApi } from '../support/fakeWecomApi.js';
import { waitFor } from '../support/fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');
const hasPython = spawnSync('python3', ['--version']).status === 0;
const CORP_SECRET = 'corp-secret-debug-7d1e';
const DEBUG_TOKEN = 'debug-token-4b2c';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the relay in debug mode, against the fake WeCom API', () => {
  it.skipIf(!hasPython && !process.env.CI)(
    'opens the program’s debug mode with the app’s token, then serves sync_call_program',
    async () => {
      if (!hasPython) throw new Error('python3 is required for the relay tests');
      const port = await freePort();
      const wecom: FakeWecomApi = await startFakeWecomApi({
        corpSecret: CORP_SECRET,
        relay: { url: `http://127.0.0.1:${port}/`, debugToken: DEBUG_TOKEN },
      });
      cleanups.push(() => wecom.close());
      const zone: ServedEmulator = await serveEmulator(wecom.emulator);
      cleanups.push(() => zone.close());
      const dir = await mkdtemp(join(tmpdir(), 'relay-debug-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      await writeFile(join(dir, 'debug-token.txt'), `${DEBUG_TOKEN}\n`);
      await writeFile(join(dir, 'corp-secret.txt'), `${CORP_SECRET}\n`);

      const child: ChildProcess = spawn('python3', [join(ROOT, 'relay', 'relay.py')], {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          PYTHONPATH: join(ROOT, 'test', 'support', 'fake_sdk'),
          PYTHONDONTWRITEBYTECODE: '1',
          HOST: '127.0.0.1',
          PORT: String(port),
          FAKE_SDK_ZONE_URL: zone.url,
          SPEC_DEBUG_TOKEN_FILE: join(dir, 'debug-token.txt'),
          WECOM_CORP_ID: 'ww-fake-corp',
          WECOM_CORP_SECRET_FILE: join(dir, 'corp-secret.txt'),
          WECOM_RELAY_PROGRAM_ID: 'RELAY_PROGRAM',
          WECOM_API_BASE_URL: wecom.url,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout?.on('data', (chunk) => {
        output += String(chunk);
      });
      child.stderr?.on('data', (chunk) => {
        output += String(chunk);
      });
      const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
      cleanups.push(async () => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      await waitFor(async () => {
        if (child.exitCode !== null) throw new Error(`the relay exited with ${child.exitCode}: ${output}`);
        return /relay listening on/.test(output) || undefined;
      }, 15_000);

      expect(wecom.debugMode).toBe(true);
      expect(wecom.count('gettoken', 0)).toBe(1);
      expect(wecom.count('open_debug_mode', 0)).toBe(1);

      const token = (await (
        await fetch(`${wecom.url}/cgi-bin/gettoken?corpid=ww-fake-corp&corpsecret=${CORP_SECRET}`)
      ).json()) as {
        access_token: string;
      };
      const call = await fetch(`${wecom.url}/cgi-bin/chatdata/sync_call_program?access_token=${token.access_token}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          program_id: 'RELAY_PROGRAM',
          ability_id: 'invoke_get_program_task_result',
          request_data: '{"jobid":"no-such-job"}',
        }),
      });
      const answer = (await call.json()) as { errcode: number; response_data?: string };
      expect(answer.errcode, JSON.stringify(answer)).toBe(0);
      expect(JSON.parse(answer.response_data ?? 'null')).toMatchObject({ errcode: expect.any(Number) });
      expect(output).toMatch(/relayed corpid='ww-fake-corp' agentid=\d+ ability='invoke_get_program_task_result'/);

      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      for (const secret of [CORP_SECRET, DEBUG_TOKEN, ...wecom.issuedTokens]) expect(output).not.toContain(secret);
    },
    60_000,
  );
});
