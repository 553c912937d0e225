/**
 * `npm start` as a user runs it: a separate process, then the document example over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOC_EXAMPLE_REQUEST, submitAndWait, waitFor } from '../support/fixtures.js';
import { runTsProcess, startTsProcess } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('npm start', () => {
  let child: ChildProcess | undefined;
  let dataDir = '';
  // npm runs tsx, which runs node: stop the whole process group, or the server outlives the test.
  afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((done) => child?.once('exit', done));
      process.kill(-child.pid, 'SIGTERM');
      await exited;
    }
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  });

  it('serves the whole flow on its durable store: the document example reaches SUCCEEDED', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'npm-start-'));
    child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: '0',
        ZONE_PROGRAM_LATENCY_MS: '500',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        DATA_DIR: dataDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const url = await waitFor(async () => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 20_000);

    expect(stderr).toContain(`state: ${join(dataDir, 'wecom-zone-tasks.sqlite')} (durable)`);

    const { task } = await submitAndWait(url, DOC_EXAMPLE_REQUEST);
    expect(task.status).toBe('SUCCEEDED');
    expect(JSON.parse(task.response_data)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
  });

  it('refuses a second server on the same data directory, naming it', async () => {
    const second = await runTsProcess('lib/local/start.ts', [], { PORT: '0', DATA_DIR: dataDir });
    expect(second.code).toBe(1);
    expect(second.output).toContain(`DATA_DIR ${dataDir} is in use by another process`);
  });

  it('names HOST and PORT when it cannot listen on them', async () => {
    const result = await runTsProcess('lib/local/start.ts', [], { HOST: '999.1.1.1', PORT: '0', DATA_DIR: ':memory:' });
    expect(result.code).toBe(1);
    expect(result.output).toMatch(/999\.1\.1\.1.*\(check HOST and PORT\)/);
    expect(result.output).not.toMatch(/failed to start: Error/);
  });

  it('refuses a wrong setting with a message naming it', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
      const bad = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...process.env, PORT: 'eighty' } });
      let stderr = '';
      bad.stderr.on('data', (chunk) => {
        stderr += String(chunk);
      });
      bad.on('close', (code) => done({ code, stderr }));
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/PORT/);
  });

  // Issue 13: these started (or were silently ignored) although the functions refuse them.
  it('refuses settings that contradict each other or the infrastructure, as the functions do, before listening', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ POLL_MAX_ATTEMPTS: '300' }, /POLL_MAX_ATTEMPTS: must be at most 200/],
      [{ WECOM_CORP_SECRET: 'plain-secret-value' }, /WECOM_CORP_SECRET: never put the corp secret in the environment/],
      [
        { CALLBACK_SECRET_PARAM: '/wecom-zone-tasks/dev/callback' },
        /CALLBACK_SECRET_PARAM: read on AWS only .*CALLBACK_SIGNING_SECRET/,
      ],
    ];
    for (const [env, message] of cases) {
      const result = await new Promise<{ code: number | null; stderr: string }>((done) => {
        const bad = spawn('npm', ['start', '--silent'], { cwd: ROOT, env: { ...process.env, PORT: '0', ...env } });
        let stderr = '';
        bad.stderr.on('data', (chunk) => {
          stderr += String(chunk);
        });
        bad.on('close', (code) => done({ code, stderr }));
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr).not.toMatch(/listening|plain-secret-value/);
    }
  });
});

describe('npm start with your own files and program', () => {
  it('follows a task on your archive, through your program process, from POST to SUCCEEDED', async () => {
    const program = await startTsProcess('examples/external-program.ts', [], { PORT: '0', PROGRAM_DELAY_MS: '200' });
    const dir = await mkdtemp(join(tmpdir(), 'own-program-'));
    const programs = JSON.parse(await readFile(join(ROOT, 'examples/programs.json'), 'utf8'));
    programs.programs[0].abilities[0].handler.url = `${program.url}/`;
    const programsFile = join(dir, 'programs.json');
    await writeFile(programsFile, JSON.stringify(programs));
    const app = await startTsProcess(
      'lib/local/start.ts',
      ['--archive', 'examples/archive.json', '--programs', programsFile],
      {
        PORT: '0',
        POWERTOOLS_LOG_LEVEL: 'WARN',
        DATA_DIR: ':memory:',
      },
    );
    try {
      const created = await fetch(`${app.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          program_id: 'WORD_COUNT',
          ability_id: 'count',
          msg_list: [1, 2, 4].map((n) => ({ msgid: `CS-00${n}`, encrypt_info: { secret_key: `key-cs-00${n}` } })),
          escape_type: 1,
        }),
      });
      expect(created.status).toBe(202);
      const { jobid } = (await created.json()) as { jobid: string };
      const task = await waitFor(
        async () => {
          const body = (await (await fetch(`${app.url}/tasks/${jobid}`)).json()) as {
            status: string;
            response_data: string;
          };
          return body.status === 'PENDING' ? undefined : body;
        },
        20_000,
        200,
      );
      expect(task.status).toBe('SUCCEEDED');
      expect(JSON.parse(task.response_data)).toEqual({ message_count: 3, char_count: 34, speakers: 2 });
    } finally {
      await Promise.all([app.stop(), program.stop()]);
    }
  });
});
