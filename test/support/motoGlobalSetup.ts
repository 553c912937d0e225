/**
 * moto_server, the real AWS-API server on this machine, for the DynamoDB and SQS adapter tests.
 * Uses MOTO_ENDPOINT when it answers; otherwise starts `moto_server` on a free loopback port. In CI
 * (CI=true) a missing moto_server fails the run; elsewhere those tests skip with a clear message.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';

async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    return response.status < 500;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

let child: ChildProcess | undefined;
const SERIALIZED_MOTO = fileURLToPath(new URL('./moto_server_serialized.py', import.meta.url));

export default async function setup(project: TestProject): Promise<() => void> {
  let endpoint = process.env.MOTO_ENDPOINT;
  let reason = '';
  if (!endpoint || !(await answers(endpoint))) {
    const port = await freePort();
    const candidate = `http://127.0.0.1:${port}`;
    // moto_server with DynamoDB calls serialised (test/support/moto_server_serialized.py: real DynamoDB's
    // conditional writes are atomic, moto's threaded server's are not).
    child = spawn('python3', [SERIALIZED_MOTO, '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
    const spawnFailed = new Promise<boolean>((resolve) => child?.once('error', () => resolve(false)));
    let up = false;
    for (let i = 0; i < 100 && !up; i++) {
      up = await Promise.race([answers(candidate), spawnFailed]);
      if (!up && child.exitCode !== null) break;
      if (!up) await new Promise((r) => setTimeout(r, 200));
    }
    if (up) endpoint = candidate;
    else {
      child.kill();
      child = undefined;
      endpoint = '';
      reason = 'moto_server is not running (MOTO_ENDPOINT) and could not be started';
    }
  }
  if (!endpoint && process.env.CI === 'true') throw new Error(`CI=true: ${reason}`);
  project.provide('motoEndpoint', endpoint ?? '');
  project.provide('motoSkipReason', reason);
  return () => {
    child?.kill();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    motoEndpoint: string;
    motoSkipReason: string;
  }
}
