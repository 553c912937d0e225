/**
 * The command line (`lib/cli/main.ts`) as a user runs it: a separate process against the local stack
 * over real HTTP, its exit codes, its plain progress lines when piped; and the pure pieces (the
 * terminal progress line, the JSON error locator, the retry with one Idempotency-Key) in-process.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../lib/cli/args.js';
import { ApiClient, createWithRetry } from '../../lib/cli/client.js';
import { formatElapsed, ProgressReporter, plainProgressLine, REDRAW, ttyProgressLine } from '../../lib/cli/progress.js';
import { jsonErrorPlace, jsonSyntaxErrorOffset } from '../../lib/jsonError.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { listen } from '../../lib/shared/nodeHttp.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, message, SECRETS_AND_CHAT } from '../support/fixtures.js';
import { startTsProcess } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');
const CLI = 'lib/cli/main.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The CLI with stdout and stderr piped (so not a terminal), and none of the user's CLI settings. */
function cli(args: string[], input?: string): Promise<Run> {
  const env = { ...process.env };
  delete env.WECOM_ZONE_TASKS_URL;
  delete env.WECOM_ZONE_TASKS_TOKEN;
  return new Promise((done) => {
    const child = spawn(TSX, [CLI, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      stderr += String(chunk);
    });
    child.stdin.end(input ?? '');
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

function expectNoSecrets(run: Run): void {
  for (const secret of SECRETS_AND_CHAT) {
    expect(run.stdout).not.toContain(secret);
    expect(run.stderr).not.toContain(secret);
  }
}

/** A port nothing listens on: bound, then released. */
async function closedPortUrl(): Promise<string> {
  const server = createServer();
  const url = await listen(server, 0, '127.0.0.1');
  await new Promise((done) => server.close(done));
  return url;
}

describe('wecom-zone-tasks CLI against the local stack', () => {
  let stack: LocalStack;
  let dir: string;
  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(1500) }),
      schedule: { firstDelaySeconds: 1, minWaitSeconds: 1 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
    dir = await mkdtemp(join(tmpdir(), 'cli-'));
    await writeFile(file('request.json'), JSON.stringify(DOC_EXAMPLE_REQUEST, null, 2));
  });
  afterAll(() => stack.stop());

  let succeededJobid = '';

  it('submit --wait: the document example, PENDING then SUCCEEDED in plain lines, exit 0, the output printed', async () => {
    const run = await cli(['submit', file('request.json'), '--wait', '--url', stack.url]);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the test asserts that no escape sequence reaches a non-terminal
    expect(run.stderr).not.toMatch(/\r|\x1b/); // not a terminal: no redrawing
    const progress = run.stderr.split('\n').filter((line) => /^[A-Z_]+ polls=\d+ elapsed=/.test(line));
    expect(progress[0]).toMatch(/^PENDING polls=0 elapsed=\d+\.\ds jobid=[A-Za-z0-9_-]+$/);
    expect(progress.at(-1)).toMatch(/^SUCCEEDED polls=\d+ /);
    // A plain line only when the status or the poll count changed.
    expect(new Set(progress.map((line) => line.replace(/ elapsed=\S+/, ''))).size).toBe(progress.length);
    expect(run.stdout).toMatch(/^status +SUCCEEDED$/m);
    expect(run.stdout).toContain('"avg_reply_time": 2');
    expect(run.code).toBe(EXIT.ok);
    expectNoSecrets(run);
    succeededJobid = /^jobid +(\S+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(succeededJobid).not.toBe('');
  });

  it('get <jobid>: a found task exits 0 whatever its status; --json prints the API view', async () => {
    // After "--": a jobid may start with "-".
    const run = await cli(['get', '--url', stack.url, '--json', '--', succeededJobid]);
    expect(run.code).toBe(EXIT.ok);
    const view = JSON.parse(run.stdout);
    expect(view).toMatchObject({ jobid: succeededJobid, status: 'SUCCEEDED', response_errcode: 0 });
    expect(JSON.parse(view.response_data)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
  });

  it('a FAILED task (every message failed, 710637) exits 2; from standard input with --json, stdout stays JSON', async () => {
    const request = JSON.stringify({ ...DOC_EXAMPLE_REQUEST, msg_list: [message(5)] });
    const run = await cli(['submit', '-', '--wait', '--json', '--url', stack.url], request);
    expect(run.code).toBe(EXIT.failed);
    expect(JSON.parse(run.stdout)).toMatchObject({
      status: 'FAILED',
      errcode: 710637,
      fail_list: [{ msgid: 'MSGID5', errcode: 710602 }],
    });
    expect(run.stderr).toMatch(/^FAILED polls=/m);
  });

  it('without --wait prints the 202 answer and exits 0', async () => {
    const run = await cli(['submit', file('request.json'), '--url', stack.url, '--json']);
    expect(run.code).toBe(EXIT.ok);
    expect(JSON.parse(run.stdout)).toEqual({ jobid: expect.any(String), status: 'PENDING', fail_list: [] });
  });

  it('--timeout reached while the task is PENDING exits 3 and names the jobid to follow', async () => {
    const run = await cli(['submit', file('request.json'), '--wait', '--timeout', '0.5', '--url', stack.url]);
    expect(run.code).toBe(EXIT.timedOut);
    expect(run.stderr).toMatch(/still PENDING .* get [A-Za-z0-9_-]+/);
    expect(run.stdout).toMatch(/^status +PENDING$/m);
  });

  it('a file that cannot be read, or is not JSON, exits 1 without quoting the file', async () => {
    const missing = await cli(['submit', file('missing.json'), '--url', stack.url]);
    expect(missing.code).toBe(EXIT.usage);
    expect(missing.stderr).toContain('missing.json: cannot be read (ENOENT)');

    await writeFile(
      file('broken.json'),
      '{"program_id": "PROG_ID",\n "msg_list": [{"msgid": "MSGID1", "encrypt_info": {"secret_key": SECRETKEY1}}]}',
    );
    const broken = await cli(['submit', file('broken.json'), '--wait', '--url', stack.url]);
    expect(broken.code).toBe(EXIT.usage);
    expect(broken.stderr).toContain('broken.json: not valid JSON at line 2, column 66');
    expectNoSecrets(broken);

    await writeFile(file('array.json'), '[]');
    const array = await cli(['submit', file('array.json'), '--url', stack.url]);
    expect(array.code).toBe(EXIT.usage);
    expect(array.stderr).toContain('must hold a JSON object');
  });

  it('an invalid request exits 4 with the field the API names, never the values', async () => {
    await writeFile(file('invalid.json'), JSON.stringify({ ...DOC_EXAMPLE_REQUEST, program_id: '' }));
    const run = await cli(['submit', file('invalid.json'), '--wait', '--url', stack.url]);
    expect(run.code).toBe(EXIT.rejected);
    expect(run.stderr).toMatch(/400 invalid_request: program_id: /);
    expectNoSecrets(run);
  });

  it('get of an unknown jobid exits 4', async () => {
    const run = await cli(['get', 'no-such-job', '--url', stack.url]);
    expect(run.code).toBe(EXIT.rejected);
    expect(run.stderr).toMatch(/404 not_found/);
  });

  it('an unreachable API exits 5, and submit says how to retry without a second task', async () => {
    const url = await closedPortUrl();
    const run = await cli(['submit', file('request.json'), '--url', url, '--idempotency-key', 'retry-me-1']);
    expect(run.code).toBe(EXIT.unavailable);
    expect(run.stderr).toMatch(/cannot reach .*ECONNREFUSED/);
    expect(run.stderr).toContain('--idempotency-key retry-me-1');
    expectNoSecrets(run);
    expect((await cli(['get', 'abc', '--url', url])).code).toBe(EXIT.unavailable);
  });

  it('usage: help exits 0 and lists the exit codes; a missing command or an unknown option exits 1', async () => {
    const help = await cli(['help']);
    expect(help.code).toBe(EXIT.ok);
    expect(help.stdout).toMatch(/Exit codes:/);
    expect(help.stdout).toMatch(/SigV4/);
    expect((await cli(['submit', '--help'])).stdout).toMatch(/--idempotency-key/);
    expect((await cli([])).code).toBe(EXIT.usage);
    const unknown = await cli(['submit', file('request.json'), '--wiat']);
    expect(unknown.code).toBe(EXIT.usage);
    expect(unknown.stderr).toMatch(/Unknown option '--wiat'/);
    expect((await cli(['submit', file('request.json'), '--timeout', '5'])).code).toBe(EXIT.usage); // --timeout needs --wait
  });
});

// Issue 13: what the CLI says after a failed create depends on what happened; and any jobid reads back.
describe('wecom-zone-tasks after a refused create, and with jobids of any shape', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cli-limits-'));
    await writeFile(join(dir, 'request.json'), JSON.stringify(DOC_EXAMPLE_REQUEST));
  });
  const silent = () => createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));

  it('WeCom rate-limited the corp (45009): exit 5, says so, and suggests no Idempotency-Key retry', async () => {
    const stack = await startLocalStack({
      zone: new ZoneEmulator({
        archive: SAMPLE_ARCHIVE,
        programs: samplePrograms(0),
        faults: { errorRate: 1, errcodes: [45009] },
      }),
      logger: silent(),
      sweepEverySeconds: 0,
    });
    try {
      const run = await cli(['submit', join(dir, 'request.json'), '--url', stack.url]);
      expect(run.code).toBe(EXIT.unavailable);
      expect(run.stderr).toMatch(
        /POST \/tasks: 503 zone_rate_limited: WeCom says the corp is over its call limit \(45009\)/,
      );
      expect(run.stderr).toMatch(/nothing was created: WeCom rate-limited the corp/);
      expect(run.stderr).not.toMatch(/--idempotency-key|call budget/);
    } finally {
      await stack.stop();
    }
  });

  it('our own budget spent: exit 5, names the budget settings, no Idempotency-Key retry', async () => {
    const stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0, env: { BUDGET_PER_MINUTE: '1' } });
    try {
      expect((await cli(['submit', join(dir, 'request.json'), '--url', stack.url])).code).toBe(EXIT.ok);
      const run = await cli(['submit', join(dir, 'request.json'), '--url', stack.url]);
      expect(run.code).toBe(EXIT.unavailable);
      expect(run.stderr).toMatch(/503 budget_spent/);
      expect(run.stderr).toMatch(
        /nothing was created: this deployment's call budget for the corp is spent \(BUDGET_PER_MINUTE \/ BUDGET_PER_HOUR\)/,
      );
      expect(run.stderr).not.toMatch(/--idempotency-key/);
    } finally {
      await stack.stop();
    }
  });

  it('a jobid with / + = reads back through `get`, given as the jobid or as its location form', async () => {
    const jobid = 'Yx3+a/Q==';
    const jobids = [jobid, 'Ab+/Cd=='];
    const emulator = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) });
    const zone = {
      invoke: async (api: string, json: string) => {
        const answer = JSON.parse(await emulator.invoke(api, json)) as Record<string, unknown>;
        return JSON.stringify(api === 'create_program_task' ? { ...answer, jobid: jobids.shift() } : answer);
      },
    };
    const stack = await startLocalStack({ zone, logger: silent(), sweepEverySeconds: 0 });
    try {
      const submitted = await cli(['submit', join(dir, 'request.json'), '--url', stack.url, '--json']);
      expect(submitted.code).toBe(EXIT.ok);
      expect(JSON.parse(submitted.stdout)).toMatchObject({ jobid });
      for (const name of [jobid, '~WXgzK2EvUT09']) {
        const got = await cli(['get', name, '--url', stack.url, '--json']);
        expect(got.code, got.stderr).toBe(EXIT.ok);
        expect(JSON.parse(got.stdout)).toMatchObject({ jobid });
      }
      const plain = await cli(['submit', join(dir, 'request.json'), '--url', stack.url]);
      expect(plain.stdout).toContain(`wecom-zone-tasks get ~${Buffer.from('Ab+/Cd==').toString('base64url')}\n`);
    } finally {
      await stack.stop();
    }
  });
});

describe('wecom-zone-tasks zone', () => {
  it('serves the emulator over HTTP until SIGTERM, then exits 0', async () => {
    const zone = await startTsProcess(CLI, ['zone', '--port', '0']);
    try {
      const response = await fetch(`${zone.url}/get_program_task_result`, {
        method: 'POST',
        body: JSON.stringify({ jobid: 'nope' }),
      });
      expect(await response.json()).toMatchObject({ errcode: 701151 });
    } finally {
      await zone.stop();
    }
    expect(zone.child.exitCode).toBe(0);
  });

  it('a bad archive file exits 1 naming the place, not the content', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cli-zone-'));
    await writeFile(join(dir, 'archive.json'), '{"messages": [{"msgid": "A", "secret_key": SECRETKEY1}]}');
    const run = await cli(['zone', '--archive', join(dir, 'archive.json'), '--port', '0']);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toMatch(/archive\.json: not valid JSON at line 1, column 44/);
    expectNoSecrets(run);
  });
});

describe('progress rendering (pure)', () => {
  const state = { jobid: 'Yx3abc', status: 'PENDING' as const, attempts: 3, elapsedMs: 4_250 };

  it('a terminal line: redraw prefix, status, polls, elapsed, no newline', () => {
    const line = ttyProgressLine(state, { frame: 0 });
    expect(line.startsWith(REDRAW)).toBe(true);
    expect(REDRAW).toBe('\r\x1b[2K');
    expect(line).toBe(`${REDRAW}⠋ PENDING  polls 3  4.2s  jobid Yx3abc`);
    expect(line).not.toContain('\n');
    expect(ttyProgressLine(state, { frame: 1 })).toContain('⠙ PENDING');
  });

  it('colours only the status, ends with a glyph, and is cut to the terminal width', () => {
    expect(ttyProgressLine({ ...state, status: 'SUCCEEDED' }, { color: true })).toBe(
      `${REDRAW}✔ \x1b[32mSUCCEEDED\x1b[0m  polls 3  4.2s  jobid Yx3abc`,
    );
    expect(ttyProgressLine({ ...state, status: 'FAILED' })).toContain('✖ FAILED');
    const narrow = ttyProgressLine({ ...state, note: 'API unreachable, retrying 1/4' }, { columns: 20 });
    const visible = narrow.slice(REDRAW.length);
    expect(Array.from(visible)).toHaveLength(19);
    expect(visible.endsWith('…')).toBe(true);
  });

  it('plain lines and elapsed times', () => {
    expect(plainProgressLine(state)).toBe('PENDING polls=3 elapsed=4.2s jobid=Yx3abc');
    expect(plainProgressLine({ ...state, note: 'API answered 502, retrying 1/4' })).toBe(
      'PENDING polls=3 elapsed=4.2s jobid=Yx3abc (API answered 502, retrying 1/4)',
    );
    expect([0, 950, 59_999, 65_000, 3_720_000].map(formatElapsed)).toEqual(['0.0s', '0.9s', '59.9s', '1m05s', '1h02m']);
  });

  it('the reporter: plain mode writes a line per change; terminal mode redraws and ends with a newline', () => {
    const plain: string[] = [];
    const reporter = new ProgressReporter({ write: (text: string) => plain.push(text) }, { tty: false, color: false });
    reporter.update(state);
    reporter.update({ ...state, elapsedMs: 5_000 });
    reporter.update({ ...state, attempts: 4, elapsedMs: 6_000 });
    reporter.update({ ...state, status: 'SUCCEEDED', attempts: 4, elapsedMs: 7_000 });
    reporter.finish();
    expect(plain).toEqual([
      'PENDING polls=3 elapsed=4.2s jobid=Yx3abc\n',
      'PENDING polls=4 elapsed=6.0s jobid=Yx3abc\n',
      'SUCCEEDED polls=4 elapsed=7.0s jobid=Yx3abc\n',
    ]);

    const tty: string[] = [];
    const live = new ProgressReporter(
      { write: (text: string) => tty.push(text), isTTY: true, columns: 80 },
      { tty: true, color: false, tickMs: 60_000 },
    );
    live.update(state);
    live.update({ ...state, status: 'SUCCEEDED', elapsedMs: 5_000 });
    live.finish();
    expect(tty.slice(0, -1).every((text) => text.startsWith(REDRAW) && !text.includes('\n'))).toBe(true);
    expect(tty.at(-1)).toBe('\n');
    expect(tty.at(-2)).toContain('SUCCEEDED  polls 3  5.0s');
  });
});

describe('request file errors (pure)', () => {
  it('the JSON locator agrees with JSON.parse and finds the place', () => {
    const samples = [
      '{}',
      '[1, 2.5e3, -0, "a\\u00e9\\n", true, null]',
      '{"a": {"b": [ ]}}',
      ' "x" ',
      '{"a": 1,}',
      '[01]',
      '{"a" 1}',
      '"\t"',
      '{"a": tru}',
      '-',
      '',
      '[1] 2',
      '"\\x"',
    ];
    for (const text of samples) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(jsonSyntaxErrorOffset(text) === undefined, text).toBe(valid);
    }
    expect(jsonErrorPlace('{\n  "secret_key": SECRET\n}')).toBe(' at line 2, column 17');
    expect(jsonErrorPlace('{"a": [1, 2')).toBe(': it ends too early');
  });
});

describe('submit retries with one Idempotency-Key', () => {
  it('503 then 409 then 202: three tries, the same key each time, backoff at least retry-after', async () => {
    const keys: string[] = [];
    const answers = [
      {
        status: 503,
        body: { error: 'zone_unavailable', message: 'the zone is busy', errcode: 45009 },
        retryAfter: '5',
      },
      { status: 409, body: { error: 'idempotency_in_progress', message: 'in progress' }, retryAfter: '1' },
      { status: 202, body: { jobid: 'job-1', status: 'PENDING', fail_list: [] } },
    ];
    const server = createServer((request, response) => {
      keys.push(String(request.headers['idempotency-key']));
      const answer = answers[keys.length - 1] ?? answers[2];
      response.writeHead(answer?.status ?? 500, {
        'content-type': 'application/json',
        ...(answer?.retryAfter ? { 'retry-after': answer.retryAfter } : {}),
      });
      response.end(JSON.stringify(answer?.body));
    });
    const url = await listen(server, 0, '127.0.0.1');
    try {
      const slept: number[] = [];
      const result = await createWithRetry(new ApiClient({ url }), '{}', 'key-123', {
        sleep: async (ms) => {
          slept.push(ms);
        },
      });
      expect(result.task.jobid).toBe('job-1');
      expect(keys).toEqual(['key-123', 'key-123', 'key-123']);
      expect(slept).toEqual([5000, 2000]);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });

  it('a retry-after beyond 30 s (the call budget is spent) is not waited for', async () => {
    let calls = 0;
    const server = createServer((_request, response) => {
      calls++;
      response.writeHead(503, { 'content-type': 'application/json', 'retry-after': '600' });
      response.end(JSON.stringify({ error: 'budget_spent', message: 'the call budget is spent; retry in 600 s' }));
    });
    const url = await listen(server, 0, '127.0.0.1');
    try {
      const attempt = createWithRetry(new ApiClient({ url }), '{}', 'key-456', { sleep: async () => {} });
      await expect(attempt).rejects.toMatchObject({
        kind: 'unavailable',
        status: 503,
        code: 'budget_spent',
        retryAfterSeconds: 600,
      });
      expect(calls).toBe(1);
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});
