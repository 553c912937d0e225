/**
 * The command line against an API behind IAM authorization: a separate CLI process signs its
 * requests with SigV4 (the SDK's signer, the default credential chain), and a loopback gateway that
 * verifies each signature with an independent verifier (test/support/sigv4Verifier.ts: node:crypto
 * from AWS's specification, checked against AWS's own test vector) forwards them to the local stack.
 * Also: credentials and region from a profile, a refused signature, an unsigned request and no
 * credentials at all, each with the message a user can act on.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, getCommandLine, parseCommand } from '../../lib/cli/args.js';
import { executeApiRegion } from '../../lib/cli/awsHosts.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, SECRETS_AND_CHAT } from '../support/fixtures.js';
import { startSigV4Gateway, verifySigV4 } from '../support/sigv4Verifier.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');
const REGION = 'ap-southeast-1';
const KEY = {
  id: 'AKIDCLITEST0000001',
  secret: 'cli/test+secret/0123456789abcdefABCDEF',
  session: 'session-token-for-the-cli-test',
};
const PROFILE_KEY = { id: 'AKIDPROFILETEST0001', secret: 'profile/secret/0123456789abcdef' };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let home: string;

/**
 * The CLI as a separate process, with none of this machine's AWS or CLI settings: a fresh HOME, no
 * shared config files, no instance metadata (the chain must not reach beyond loopback).
 */
function cli(args: string[], aws: Record<string, string> = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^AWS_/.test(name) && !/^WECOM_ZONE_TASKS_/.test(name)) env[name] = value;
  }
  Object.assign(env, {
    HOME: home,
    AWS_CONFIG_FILE: join(home, 'no-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    ...aws,
  });
  return new Promise((done) => {
    const child = spawn(TSX, ['lib/cli/main.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const ENV_KEYS = { AWS_ACCESS_KEY_ID: KEY.id, AWS_SECRET_ACCESS_KEY: KEY.secret, AWS_SESSION_TOKEN: KEY.session };

describe('the SigV4 verifier used by these tests', () => {
  // AWS's SigV4 test suite, "get-vanilla" (also reproduced by botocore): the verifier must accept
  // AWS's own signature before it may judge ours.
  const vanilla = {
    method: 'GET',
    target: '/',
    rawHeaders: [
      'Host',
      'example.amazonaws.com',
      'X-Amz-Date',
      '20150830T123600Z',
      'Authorization',
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
    ],
    body: Buffer.alloc(0),
  };
  const options = {
    secrets: new Map([['AKIDEXAMPLE', { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }]]),
    service: 'service',
    region: 'us-east-1',
    now: new Date('2015-08-30T12:36:00Z'),
  };

  it('accepts AWS’s published get-vanilla request', () => {
    expect(verifySigV4(vanilla, options)).toEqual({
      ok: true,
      accessKeyId: 'AKIDEXAMPLE',
      signedHeaders: ['host', 'x-amz-date'],
    });
  });

  it('refuses it with another secret, another path, a body, a changed host, or two hours later', () => {
    const refused = (change: Partial<typeof vanilla>, opts: Partial<typeof options> = {}) =>
      verifySigV4({ ...vanilla, ...change }, { ...options, ...opts }).ok;
    expect(
      refused(
        {},
        { secrets: new Map([['AKIDEXAMPLE', { secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEZ' }]]) },
      ),
    ).toBe(false);
    expect(refused({ target: '/tasks' })).toBe(false);
    expect(refused({ body: Buffer.from('{}') })).toBe(false);
    expect(refused({ rawHeaders: ['Host', 'example.amazonaws.co', ...vanilla.rawHeaders.slice(2)] })).toBe(false);
    expect(refused({}, { now: new Date('2015-08-30T14:36:00Z') })).toBe(false);
  });
});

describe('wecom-zone-tasks --sigv4 against an API behind IAM authorization', () => {
  let stack: LocalStack;
  let gateway: Awaited<ReturnType<typeof startSigV4Gateway>>;
  let requestFile: string;
  let jobid = '';

  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'cli-sigv4-'));
    requestFile = join(home, 'request.json');
    await writeFile(requestFile, JSON.stringify(DOC_EXAMPLE_REQUEST));
    stack = await startLocalStack({
      port: 0,
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(500) }),
      schedule: { firstDelaySeconds: 1, minWaitSeconds: 1 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
    gateway = await startSigV4Gateway(stack.url, {
      secrets: new Map([
        [KEY.id, { secretAccessKey: KEY.secret, sessionToken: KEY.session }],
        [PROFILE_KEY.id, { secretAccessKey: PROFILE_KEY.secret }],
      ]),
      service: 'execute-api',
      region: REGION,
    });
  });
  afterAll(async () => {
    await gateway?.close();
    await stack?.stop();
  });

  it('submit --wait signs every request (the POST with its body, each GET) and the task ends SUCCEEDED', async () => {
    const seen = gateway.requests.length;
    const run = await cli(
      ['submit', requestFile, '--wait', '--json', '--sigv4', '--region', REGION, '--url', gateway.url],
      ENV_KEYS,
    );
    expect(run.stderr).not.toMatch(/Forbidden/);
    expect(run.code).toBe(EXIT.ok);
    const task = JSON.parse(run.stdout);
    expect(task.status).toBe('SUCCEEDED');
    jobid = task.jobid;
    const requests = gateway.requests.slice(seen);
    expect(requests[0]).toMatchObject({ method: 'POST', target: '/tasks' });
    expect(requests.filter((r) => r.method === 'GET' && r.target === `/tasks/${jobid}`).length).toBeGreaterThanOrEqual(
      1,
    );
    for (const request of requests) {
      expect(request.verdict, `${request.method} ${request.target}`).toMatchObject({ ok: true, accessKeyId: KEY.id });
    }
    // The POST's own headers are under the signature: the body's hash, the key, the session token.
    const post = requests[0]?.verdict as { signedHeaders: string[] };
    expect(post.signedHeaders).toEqual(
      expect.arrayContaining([
        'host',
        'x-amz-date',
        'x-amz-content-sha256',
        'x-amz-security-token',
        'idempotency-key',
        'content-type',
      ]),
    );
    for (const secret of [...SECRETS_AND_CHAT, KEY.secret, KEY.session])
      expect(run.stdout + run.stderr).not.toContain(secret);
  });

  it('get signs too; credentials and region can come from a profile of the shared config files', async () => {
    const byEnv = await cli(['get', '--json', '--sigv4', '--url', gateway.url, '--', jobid], {
      ...ENV_KEYS,
      AWS_REGION: REGION,
    });
    expect(byEnv.code, byEnv.stderr).toBe(EXIT.ok);
    expect(JSON.parse(byEnv.stdout)).toMatchObject({ jobid, status: 'SUCCEEDED' });

    const config = join(home, 'config');
    const credentials = join(home, 'credentials');
    await writeFile(config, `[profile ops]\nregion = ${REGION}\n`);
    await writeFile(
      credentials,
      `[ops]\naws_access_key_id = ${PROFILE_KEY.id}\naws_secret_access_key = ${PROFILE_KEY.secret}\n`,
    );
    const seen = gateway.requests.length;
    const byProfile = await cli(['get', '--sigv4', '--url', gateway.url, '--', jobid], {
      AWS_PROFILE: 'ops',
      AWS_CONFIG_FILE: config,
      AWS_SHARED_CREDENTIALS_FILE: credentials,
    });
    expect(byProfile.code).toBe(EXIT.ok);
    expect(byProfile.stdout).toMatch(/^status +SUCCEEDED$/m);
    expect(gateway.requests.slice(seen).map((r) => r.verdict)).toEqual([
      expect.objectContaining({ ok: true, accessKeyId: PROFILE_KEY.id }),
    ]);
  });

  it('a signature the gateway refuses (wrong secret) exits 4 and names the permission to check', async () => {
    const run = await cli(['get', '--sigv4', '--region', REGION, '--url', gateway.url, '--', jobid], {
      AWS_ACCESS_KEY_ID: KEY.id,
      AWS_SECRET_ACCESS_KEY: 'not-the-secret',
      AWS_SESSION_TOKEN: KEY.session,
    });
    expect(run.code, run.stderr).toBe(EXIT.rejected);
    expect(run.stderr).toMatch(/403: Forbidden/);
    expect(run.stderr).toMatch(/execute-api:Invoke .*HttpApiExecuteArn/);
    expect(gateway.requests.at(-1)?.verdict).toEqual({ ok: false, reason: 'signature does not match' });
  });

  it('an unsigned request is refused, and the message says to sign', async () => {
    const run = await cli(['get', '--url', gateway.url, '--', jobid]);
    expect(run.code, run.stderr).toBe(EXIT.rejected);
    expect(run.stderr).toMatch(/add --sigv4/);
  });

  it('without credentials it says so and sends nothing (exit 1)', async () => {
    const seen = gateway.requests.length;
    const run = await cli(['submit', requestFile, '--sigv4', '--region', REGION, '--url', gateway.url]);
    expect(run.code, run.stderr).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/--sigv4: no AWS credentials found .*AWS_ACCESS_KEY_ID.*AWS_PROFILE/);
    expect(gateway.requests.length).toBe(seen);
    const noRegion = await cli(['get', '--sigv4', '--url', gateway.url, '--', jobid], ENV_KEYS);
    expect(noRegion.code).toBe(EXIT.usage);
    expect(noRegion.stderr).toMatch(/no AWS region: give --region/);
    expect(gateway.requests.length).toBe(seen);
  });
});

describe('when the CLI signs', () => {
  it('signs an execute-api URL without being asked, with the URL’s region', () => {
    const url = 'https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com';
    expect(executeApiRegion(url)).toBe('ap-southeast-1');
    expect(executeApiRegion('https://api.example.com')).toBeUndefined();
    const command = parseCommand(['get', 'J1', '--url', url], {});
    expect(command).toMatchObject({ name: 'get', options: { sigv4: true, region: undefined, url } });
    expect(parseCommand(['get', 'J1'], {})).toMatchObject({ options: { sigv4: false } });
  });

  it('refuses a bearer token with SigV4, --region without it, and plain http to another host', () => {
    const url = 'https://a1b2c3d4e5.execute-api.ap-southeast-1.amazonaws.com';
    expect(() => parseCommand(['get', 'J1', '--url', url], { WECOM_ZONE_TASKS_TOKEN: 't' })).toThrow(/choose one/);
    expect(() => parseCommand(['get', 'J1', '--region', 'ap-southeast-1'], {})).toThrow(
      /--region: only applies with --sigv4/,
    );
    expect(() => parseCommand(['get', 'J1', '--sigv4', '--url', 'http://api.example.com'], {})).toThrow(
      /must be https/,
    );
    expect(() => parseCommand(['get', 'J1', '--sigv4', '--region', 'Singapore'], {})).toThrow(/not an AWS region/);
  });
});

describe('jobids that start with "-"', () => {
  it('read as a jobid after "--", and the CLI says so when one is taken for an option', () => {
    expect(parseCommand(['get', '--sigv4', '--region', REGION, '--', '-2abc'], {})).toMatchObject({
      name: 'get',
      options: { jobid: '-2abc' },
    });
    expect(() => parseCommand(['get', '-2abc'], {})).toThrow(
      /a jobid that starts with "-" goes after "--": wecom-zone-tasks get -- <jobid>/,
    );
    expect(getCommandLine('-2abc')).toBe('wecom-zone-tasks get -- -2abc');
    expect(getCommandLine('Yx3')).toBe('wecom-zone-tasks get Yx3');
  });
});
