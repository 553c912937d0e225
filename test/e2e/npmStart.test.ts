/**
 * `npm start` as a user runs it: a separate process, then the document example over HTTP.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DOC_EXAMPLE_REQUEST, waitFor } from '../support/fixtures.js';

const ROOT = resolve(import.meta.dirname, '../..');

describe('npm start', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill('SIGTERM');
  });

  it('serves the whole flow: the document example reaches SUCCEEDED', async () => {
    child = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', ZONE_PROGRAM_LATENCY_MS: '500', POWERTOOLS_LOG_LEVEL: 'WARN' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk) => {
      stderr += String(chunk);
    });
    const url = await waitFor(async () => /listening on (http:\/\/\S+)/.exec(stderr)?.[1], 20_000);

    const created = await fetch(`${url}/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(DOC_EXAMPLE_REQUEST),
    });
    expect(created.status).toBe(202);
    const { jobid } = (await created.json()) as { jobid: string };
    const task = await waitFor(async () => {
      const body = (await (await fetch(`${url}/tasks/${jobid}`)).json()) as { status: string; response_data: string };
      return body.status === 'PENDING' ? undefined : body;
    }, 20_000, 200);
    expect(task.status).toBe('SUCCEEDED');
    expect(JSON.parse(task.response_data)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
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
});
