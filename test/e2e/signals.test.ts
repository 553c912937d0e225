/**
 * Issue 13: every long-running command ends at the first SIGINT or SIGTERM, in every phase, with its
 * whole process tree, as real processes: `npm start`, `npm run zone`, `npm run sample-program`,
 * `npm run fake-wecom`, `npm run bench` and the CLI (`wecom-zone-tasks`, its bin). docker stop,
 * systemd and CI send SIGTERM to the process they started (npm), not to its children.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../lib/cli/args.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, heldProgram, waitFor } from '../support/fixtures.js';
import { descendants, isRunning } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = resolve(ROOT, 'lib/cli/bin.mjs');

interface Started {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const started: Started[] = [];
afterEach(() => {
  // Whatever a failed test left: its whole tree, by process id.
  for (const { child } of started.splice(0)) {
    for (const pid of [child.pid ?? 0, ...descendants(child.pid ?? 0)]) {
      if (pid > 0 && isRunning(pid)) process.kill(pid, 'SIGKILL');
    }
  }
});

function start(
  command: string,
  args: string[],
  env: Record<string, string> = {},
  stdin: 'pipe' | 'ignore' = 'ignore',
): Started {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'WARN', ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.on('exit', (code, signal) => done({ code, signal })),
  );
  const handle = { child, output: () => output, exited };
  started.push(handle);
  return handle;
}

/** Resolves when the process printed `listening on http://…` (the first such address). */
async function listening(process: Started, pattern = /listening on (http:\/\/[^\s/)]+)/): Promise<string> {
  return waitFor(async () => {
    if (process.child.exitCode !== null)
      throw new Error(`exited early (${process.child.exitCode}): ${process.output()}`);
    return pattern.exec(process.output())?.[1];
  }, 30_000);
}

async function portIsFree(url: string): Promise<boolean> {
  const { port, hostname } = new URL(url);
  const server = createServer();
  return new Promise((done) => {
    server.once('error', () => done(false));
    server.listen(Number(port), hostname, () => server.close(() => done(true)));
  });
}

/**
 * Send `signal` to the process alone and expect it and every process below it to be gone within
 * `withinMs`; returns its exit.
 */
async function stopsWithItsTree(process_: Started, signal: NodeJS.Signals, withinMs = 8000) {
  const pid = process_.child.pid ?? 0;
  const tree = descendants(pid);
  expect(tree.length).toBeGreaterThan(0);
  process_.child.kill(signal);
  const exit = await Promise.race([process_.exited, new Promise<undefined>((done) => setTimeout(done, withinMs))]);
  expect(exit, `still running ${withinMs} ms after ${signal}: ${process_.output()}`).toBeDefined();
  await waitFor(async () => (tree.every((child) => !isRunning(child)) ? true : undefined), withinMs, 100).catch(
    () => undefined,
  );
  expect(
    tree.filter((child) => isRunning(child)),
    'processes left behind',
  ).toEqual([]);
  return exit as { code: number | null; signal: NodeJS.Signals | null };
}

describe('npm start: SIGTERM or SIGINT to npm ends the whole tree and frees the port', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal}`, async () => {
      const npm = start('npm', ['start', '--silent'], { PORT: '0' });
      const url = await listening(npm, /wecom-zone-tasks listening on (http:\/\/\S+)/);
      expect((await fetch(`${url}/openapi.json`)).status).toBe(200);
      await stopsWithItsTree(npm, signal);
      expect(await portIsFree(url)).toBe(true);
      // And the next start on the same port works (no EADDRINUSE).
      const again = start('npm', ['start', '--silent'], { PORT: new URL(url).port });
      await listening(again, /wecom-zone-tasks listening on (http:\/\/\S+)/);
      await stopsWithItsTree(again, 'SIGTERM');
    });
  }
});

describe('the other servers end at the first signal too', () => {
  it('npm run zone: SIGTERM to npm', async () => {
    const npm = start('npm', ['run', '--silent', 'zone', '--', '--port', '0']);
    const url = await listening(npm);
    await stopsWithItsTree(npm, 'SIGTERM');
    expect(await portIsFree(url)).toBe(true);
  });

  it('npm run sample-program: SIGTERM to npm while a client holds a keep-alive connection', async () => {
    const npm = start('npm', ['run', '--silent', 'sample-program'], { PORT: '0' });
    const url = await listening(npm);
    // An idle keep-alive connection: server.close() alone would wait for it.
    await new Promise<void>((done) => {
      const agentRequest = request(`${url}/`, { method: 'GET', agent: new Agent({ keepAlive: true }) }, (response) => {
        response.resume();
        response.on('end', () => done());
      });
      agentRequest.end();
    });
    await stopsWithItsTree(npm, 'SIGTERM');
  });

  it('npm run fake-wecom: SIGINT to npm', async () => {
    const npm = start('npm', ['run', '--silent', 'fake-wecom'], { FAKE_WECOM_PORT: '0', ZONE_PORT: '0' });
    await listening(npm, /fake WeCom API listening on (http:\/\/\S+)/);
    await stopsWithItsTree(npm, 'SIGINT');
  });

  it('npm run bench:soak: SIGINT while it runs tasks through its own npm start: 130, the server gone too', async () => {
    const npm = start('npm', [
      'run',
      '--silent',
      'bench:soak',
      '--',
      '--tasks',
      '1000000',
      '--minutes',
      '2',
      '--clients',
      '2',
      '--memory',
    ]);
    await waitFor(async () => (/tasks, server RSS/.test(npm.output()) ? true : undefined), 60_000, 100);
    const exit = await stopsWithItsTree(npm, 'SIGINT', 15_000);
    // Ended by the signal, not as a finished run: 130 as a rule; under load npm → tsx → node has been
    // seen to deliver the interruption as SIGTERM (143). Either way the tree is gone (checked above).
    expect(
      [130, 143].includes(exit.code ?? -1) || exit.signal === 'SIGINT' || exit.signal === 'SIGTERM',
      JSON.stringify(exit),
    ).toBe(true);
  });

  it('npm run bench: SIGTERM while it builds and imports bundles: 143, no probe left running', async () => {
    const npm = start('npm', ['run', '--silent', 'bench']);
    await waitFor(async () => (/rows 1–2/.test(npm.output()) ? true : undefined), 30_000, 50);
    const exit = await stopsWithItsTree(npm, 'SIGTERM', 10_000);
    expect(exit.code === 143 || exit.signal === 'SIGTERM').toBe(true);
  });
});

describe('wecom-zone-tasks (the bin) exits at the first signal, in every phase', () => {
  let stack: LocalStack;
  let hanging: import('node:http').Server;
  let hangingUrl: string;
  let requestFile: string;
  beforeAll(async () => {
    requestFile = join(await mkdtemp(join(tmpdir(), 'signals-')), 'request.json');
    await writeFile(requestFile, JSON.stringify(DOC_EXAMPLE_REQUEST));
    stack = await startLocalStack({
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: [heldProgram('PROG_ID', 'ABILITY_ID')] }),
      schedule: { firstDelaySeconds: 1, minWaitSeconds: 1 },
      logger: createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' })),
    });
    // An API that takes requests and never answers: the POST phase.
    hanging = createServer(() => undefined);
    await new Promise<void>((done) => hanging.listen(0, '127.0.0.1', () => done()));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    hanging.closeAllConnections();
    hanging.close();
    await stack.stop();
  });

  const cli = (args: string[], stdin: 'pipe' | 'ignore' = 'ignore') => {
    const env: Record<string, string> = { WECOM_ZONE_TASKS_URL: stack.url };
    return start(process.execPath, [BIN, ...args], env, stdin);
  };

  async function exitAfter(process_: Started, signal: NodeJS.Signals, ready: () => boolean): Promise<number | null> {
    await waitFor(async () => (ready() ? true : undefined), 30_000, 50);
    process_.child.kill(signal);
    const exit = await Promise.race([process_.exited, new Promise<undefined>((done) => setTimeout(done, 5000))]);
    expect(exit, `still running 5 s after one ${signal}: ${process_.output()}`).toBeDefined();
    return exit?.code ?? null;
  }

  for (const [signal, code] of [
    ['SIGINT', EXIT.interrupted],
    ['SIGTERM', EXIT.terminated],
  ] as const) {
    it(`${signal} while reading a request from a standard input that stays open: ${code}`, async () => {
      // Nothing shows when the CLI starts reading a piped stdin: wait a while, and if the signal came
      // before the CLI was even loaded (it then dies of the signal itself), try again, waiting longer.
      for (const loadMs of [1500, 3000, 6000, 12_000]) {
        const run = cli(['submit', '-'], 'pipe');
        run.child.stdin?.write('{"program_id": "PROG_ID",'); // and nothing more: the pipe stays open
        const loadedAt = Date.now() + loadMs;
        const exit = await exitAfter(run, signal, () => Date.now() > loadedAt);
        if (exit === null && run.child.signalCode === signal) continue;
        expect(exit).toBe(code);
        return;
      }
      throw new Error('the CLI never handled the signal');
    });

    it(`${signal} while POST /tasks waits for an API that does not answer: ${code}`, async () => {
      const seen: number[] = [];
      hanging.on('request', () => seen.push(1));
      const run = start(process.execPath, [BIN, 'submit', requestFile], { WECOM_ZONE_TASKS_URL: hangingUrl });
      expect(await exitAfter(run, signal, () => seen.length > 0)).toBe(code);
    });

    it(`${signal} while --wait follows a task: ${code}, and the task keeps running`, async () => {
      const run = cli(['submit', requestFile, '--wait']);
      expect(await exitAfter(run, signal, () => /PENDING/.test(run.output()))).toBe(code);
      expect(run.output()).toMatch(/keeps running/);
    });
  }
});

describe('.ci/leftover-processes: what .ci/run checks after `npm test`', () => {
  const CHECK = resolve(ROOT, '.ci/leftover-processes');

  function check(env: Record<string, string>, before: string): Promise<{ code: number | null; output: string }> {
    return new Promise((done) => {
      const child = spawn(CHECK, [ROOT, String(process.pid), before], {
        cwd: ROOT,
        env: { ...process.env, LEFTOVER_GRACE_SECONDS: '1', ...env },
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += String(chunk);
      });
      child.stderr.on('data', (chunk) => {
        output += String(chunk);
      });
      child.on('close', (code) => done({ code, output }));
    });
  }

  it('names a process a run left behind (orphaned, in the checkout or marked), and passes once it is gone', async () => {
    const mark = `leftover-test-${process.pid}-${Date.now()}`;
    const before = join(await mkdtemp(join(tmpdir(), 'leftover-')), 'before');
    await writeFile(before, '');
    // A shell that starts a sleep in the background and exits at once: the sleep is orphaned, as a
    // server whose parent was killed would be. One in a temporary directory, marked; one in the checkout.
    const orphan = (cwd: string) =>
      new Promise<number>((done) => {
        const shell = spawn('bash', ['-c', '(sleep 60 </dev/null >/dev/null 2>&1 & echo $!)'], {
          cwd,
          env: { ...process.env, WECOM_ZONE_TASKS_CI_RUN: mark },
        });
        let out = '';
        shell.stdout.on('data', (chunk) => {
          out += String(chunk);
        });
        shell.on('close', () => done(Number(out.trim())));
      });
    const marked = await orphan(tmpdir());
    const inCheckout = await orphan(ROOT);
    try {
      const found = await check({ WECOM_ZONE_TASKS_CI_RUN: mark }, before);
      expect(found.code).toBe(1);
      expect(found.output).toMatch(/processes left behind/);
      expect(found.output).toContain(`${marked}  sleep 60`);
      expect(found.output).toContain(`${inCheckout}  sleep 60`);
    } finally {
      process.kill(marked, 'SIGKILL');
      process.kill(inCheckout, 'SIGKILL');
    }
    await waitFor(async () => (isRunning(marked) || isRunning(inCheckout) ? undefined : true), 5000, 50);
    expect(await check({ WECOM_ZONE_TASKS_CI_RUN: mark, LEFTOVER_ONLY_MARKED: '1' }, before)).toMatchObject({
      code: 0,
    });
  });
});
