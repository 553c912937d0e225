/**
 * `osls package` as the tests run it. Packaging uses fixed working folders inside the project
 * (serverless-esbuild's `.esbuild/`, and `.serverless/` by default), so two test files packaging at
 * once would delete each other's bundles: a lock directory (mkdir is atomic) makes them take turns.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const ROOT = resolve(import.meta.dirname, '../..');
const LOCK = join(ROOT, '.osls-package.lock');
/** A lock older than this belongs to a run that died. */
const STALE_MS = 5 * 60_000;

/** Settings a developer's shell may hold that would change what is packaged. */
const DEPLOY_VARIABLES = [
  'EVENT_BUS_ARN',
  'EVENT_BUS_NAME',
  'CREATE_EVENT_SOURCES',
  'ALARM_EMAIL',
  'EGRESS',
  'ZONE_TRANSPORT',
  'ZONE_BRIDGE_URL',
  'ZONE_BRIDGE_TOKEN',
  'ZONE_BRIDGE_TOKEN_PARAM',
  'CALLBACK_SECRET_PARAM',
];

/**
 * Run `work` (anything that packages the service) while no other test file packages. Every test
 * that runs `osls package` goes through this or {@link packageService}.
 */
export async function withPackageLock<T>(work: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const since = await stat(LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (since > STALE_MS) await rm(LOCK, { recursive: true, force: true });
      else await new Promise((done) => setTimeout(done, 250));
    }
  }
  try {
    return await work();
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}

export interface PackageResult {
  ok: boolean;
  output: string;
}

/**
 * `osls package <args>` in the project, with the deploy settings of the caller's shell removed and
 * `env` added. Resolves (never rejects) with whether it succeeded and what it printed. `collect`
 * runs after a successful packaging while the lock is still held: the place to read or copy what was
 * written to the project's `.serverless/`, which the next packaging of any test file replaces.
 */
export function packageService(
  args: string[],
  env: Record<string, string> = {},
  collect?: () => Promise<void>,
): Promise<PackageResult> {
  const clean: NodeJS.ProcessEnv = { ...process.env, SLS_TELEMETRY_DISABLED: '1' };
  for (const name of DEPLOY_VARIABLES) delete clean[name];
  return withPackageLock(async () => {
    try {
      const { stdout, stderr } = await run(join(ROOT, 'node_modules/.bin/osls'), ['package', ...args], {
        cwd: ROOT,
        env: { ...clean, ...env },
        maxBuffer: 16 * 1024 * 1024,
      });
      await collect?.();
      return { ok: true, output: `${stdout}${stderr}` };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` || failed.message };
    }
  });
}

/**
 * Package the `ci` stage into `out/package` and unzip each named function's bundle into `out/<name>`,
 * where a test loads `out/<name>/functions/<name>.cjs` as the Lambda runtime would.
 * Throws with osls's output when packaging fails.
 */
export async function packageAndUnzip(out: string, functions: readonly string[]): Promise<void> {
  await rm(out, { recursive: true, force: true });
  const packaged = await packageService(['--stage', 'ci', '--package', join(out, 'package')]);
  if (!packaged.ok) throw new Error(`osls package failed: ${packaged.output}`);
  for (const name of functions) {
    await mkdir(join(out, name), { recursive: true });
    await run('python3', ['-m', 'zipfile', '-e', join(out, 'package', `${name}.zip`), join(out, name)]);
  }
}
