/**
 * The relay's own Python suite (`relay/test_relay.py`: the relay over real HTTP and as its own
 * process, against the fake vendor SDK) run by `npm test`, so CI runs it with everything else.
 * Without python3 the suite is skipped on a workstation and fails under CI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const probe = spawnSync('python3', ['--version'], { encoding: 'utf8' });
const hasPython = probe.error === undefined && probe.status === 0;

function runUnittest(): Promise<{ code: number | null; output: string }> {
  return new Promise((done, fail) => {
    const child = spawn('python3', ['-m', 'unittest', 'discover', '-s', 'relay', '-v'], {
      cwd: ROOT,
      env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
    });
    child.stderr.on('data', (chunk) => {
      output += String(chunk);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, output }));
  });
}

describe('the relay (python3 -m unittest discover -s relay)', () => {
  it.skipIf(!hasPython && !process.env.CI)(
    'passes every test',
    async () => {
      if (!hasPython) throw new Error('python3 is required for the relay tests');

      const run = await runUnittest();

      expect(run.code, run.output).toBe(0);
      const ran = Number(/^Ran (\d+) tests? in/m.exec(run.output)?.[1] ?? 0);
      expect(ran, `no tests were discovered:\n${run.output}`).toBeGreaterThan(0);
      expect(run.output).not.toMatch(/skipped/);
    },
    120_000,
  );
});
