/**
 * Real processes for end-to-end tests: start one, wait for the line that says where it listens.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { waitFor } from './fixtures.js';

export const ROOT = resolve(import.meta.dirname, '../..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');

export interface RunningProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Run a TypeScript entry point with tsx, and resolve once it prints `listening on http://…`. */
export async function startTsProcess(entry: string, args: string[] = [], env: Record<string, string> = {}): Promise<RunningProcess> {
  const child = spawn(TSX, [entry, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr?.on('data', (chunk) => {
    output += String(chunk);
  });
  const stop = () =>
    new Promise<void>((done) => {
      if (child.exitCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  try {
    const url = await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`${entry} exited with ${child.exitCode}: ${output}`);
      return /listening on (http:\/\/[^\s/]+)/.exec(output)?.[1];
    }, 20_000);
    return { url, child, output: () => output, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Run a TypeScript entry point to its end. */
export function runTsProcess(entry: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ code: number | null; output: string }> {
  return new Promise((done) => {
    const child = spawn(TSX, [entry, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
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
