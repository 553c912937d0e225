/**
 * Rows 1 and 2: each function's bundle as `osls package` builds it, its bytes and its cold import
 * time, against a minimal handler (`bench/baseline/minimalHandler.ts`) built the same way.
 *
 * Bundles go to `.bench/bundles/` inside the project (gitignored), so their `@aws-sdk/*` imports
 * resolve from node_modules, as the Lambda runtime provides the SDK.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { AwsEnvSchema } from '../lib/config.js';
import { type BenchRow, elapsedMs, formatBytes, formatMs, median } from './stats.js';

const execFileAsync = promisify(execFile);
/** Aborted when the benchmark is stopped: kills the import probes still running. */
export const stopChildren = new AbortController();
const run = (file: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }) =>
  execFileAsync(file, args, { ...options, signal: stopChildren.signal });

export const REPO_ROOT = resolve(import.meta.dirname, '..');
export const BENCH_DIR = join(REPO_ROOT, '.bench');
export const FUNCTION_NAMES = ['createTask', 'getTask', 'pollResult'] as const;
export const BASELINE_ENTRY = join(REPO_ROOT, 'bench', 'baseline', 'minimalHandler.ts');
export const BASELINE_NAME = 'minimal handler';

/**
 * `custom.esbuild` of serverless.yml in esbuild's JS API form (serverless-esbuild passes these
 * through unchanged; `exclude`, `packager` and `outputFileExtension` are the plugin's own).
 */
export const PACKAGED_BUILD_OPTIONS = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: 'node22',
  platform: 'node',
  // CommonJS, as serverless.yml builds: the SDK clients of optional features are require()d when first used.
  format: 'cjs',
  external: ['@aws-sdk/*'],
} as const satisfies BuildOptions;

export interface BuiltBundle {
  name: string;
  outfile: string;
  bytes: number;
  /** Output bytes per source: each npm package, or `lib`, `functions`, `config`, `bench`. */
  bytesBySource: Record<string, number>;
  /** The `@aws-sdk/*` packages it imports at run time (from the runtime on Lambda), sorted. */
  sdkImports: string[];
}

function sourceOf(inputPath: string): string {
  const fromPackage = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(inputPath);
  return fromPackage?.[1] ?? inputPath.split('/')[0] ?? inputPath;
}

function sdkImports(metafile: Metafile): string[] {
  const imports = Object.values(metafile.outputs).flatMap((output) => output.imports);
  return [
    ...new Set(
      imports.filter((entry) => entry.external && entry.path.startsWith('@aws-sdk/')).map((entry) => entry.path),
    ),
  ].sort();
}

function bytesBySource(metafile: Metafile): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const source = sourceOf(path);
      totals[source] = (totals[source] ?? 0) + input.bytesInOutput;
    }
  }
  return Object.fromEntries(Object.entries(totals).sort(([, a], [, b]) => b - a));
}

export async function buildBundle(name: string, entry: string, outDir: string): Promise<BuiltBundle> {
  const outfile = join(outDir, `${name.replaceAll(' ', '-')}.cjs`);
  const result = await build({
    ...PACKAGED_BUILD_OPTIONS,
    entryPoints: [entry],
    outfile,
    absWorkingDir: REPO_ROOT,
    metafile: true,
    logLevel: 'warning',
  });
  const { size } = await stat(outfile);
  return {
    name,
    outfile,
    bytes: size,
    bytesBySource: bytesBySource(result.metafile),
    sdkImports: await loadedSdkPackages(outfile, sdkImports(result.metafile)),
  };
}

/**
 * The SDK packages a bundle really loads when imported: CommonJS bundles require() the clients of
 * optional features (EventBridge, SSM, Secrets Manager) only when first used, so the build's list of
 * external imports overstates what a cold start loads.
 */
async function loadedSdkPackages(outfile: string, candidates: readonly string[]): Promise<string[]> {
  const probe = `
    require(process.argv[1]);
    const loaded = Object.keys(require.cache).map((file) => /node_modules\\/(@aws-sdk\\/[a-z-]+)\\//.exec(file)?.[1]);
    process.stdout.write(JSON.stringify([...new Set(loaded)]));`;
  const { stdout } = await run(process.execPath, ['-e', probe, outfile], { cwd: REPO_ROOT, env: importEnvironment() });
  const loaded = new Set(JSON.parse(stdout) as string[]);
  return candidates.filter((name) => loaded.has(name));
}

export async function buildAllBundles(
  outDir: string = join(BENCH_DIR, 'bundles'),
): Promise<{ baseline: BuiltBundle; functions: BuiltBundle[] }> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const baseline = await buildBundle(BASELINE_NAME, BASELINE_ENTRY, outDir);
  const functions = await Promise.all(
    FUNCTION_NAMES.map((name) => buildBundle(name, join(REPO_ROOT, 'functions', `${name}.ts`), outDir)),
  );
  return { baseline, functions };
}

/**
 * Runs in a fresh `node` per sample: the time of `await import(bundle)` itself, which is what a
 * cold start's INIT phase spends on our code (module evaluation and the module-scope wiring),
 * plus the time since the process started, for reference.
 */
const IMPORT_PROBE = `
const url = process.argv[1];
const start = performance.now();
const loaded = await import(url);
const importMs = performance.now() - start;
if (typeof loaded.handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write(JSON.stringify({ importMs, sinceProcessStartMs: performance.now() }));
`;

/**
 * Enough for each function's module-scope configuration to parse; nothing is ever reached. Any
 * further required variable of `AwsEnvSchema` gets a placeholder, so the benchmark keeps working as
 * the configuration grows.
 */
export function importEnvironment(): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    TASKS_TABLE: 't',
    POLL_QUEUE_URL: 'http://127.0.0.1:1/q',
    ZONE_TRANSPORT: 'bridge',
    ZONE_BRIDGE_URL: 'http://127.0.0.1:1',
    AWS_REGION: 'us-east-1',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
  };
  const parsed = AwsEnvSchema.safeParse(env);
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    const name = issue.path[0];
    if (typeof name === 'string' && env[name] === undefined)
      env[name] = name.endsWith('_URL') ? 'http://127.0.0.1:1' : 'bench';
  }
  return env;
}

interface ImportSample {
  importMs: number;
  sinceProcessStartMs: number;
  /** Spawn to exit, as the parent sees it. */
  processWallMs: number;
}

async function coldImport(outfile: string, env: Record<string, string>): Promise<ImportSample> {
  const start = process.hrtime.bigint();
  let stdout: string;
  try {
    ({ stdout } = await run(
      process.execPath,
      ['--input-type=module', '-e', IMPORT_PROBE, pathToFileURL(outfile).href],
      {
        cwd: REPO_ROOT,
        // A clean environment: no NODE_OPTIONS or loader hooks inherited from the tsx that runs the benchmark.
        env,
      },
    ));
  } catch (error) {
    // The child's stderr quotes a line of minified bundle: keep only the error itself.
    const stderr = String((error as { stderr?: unknown }).stderr ?? '');
    const reason =
      stderr.split('\n').find((line) => /^\w*(Error|Exception)\b|\[\w*Error\]/.test(line.trim())) ?? 'see stderr';
    throw new Error(`importing ${outfile} failed: ${reason.trim().slice(0, 500)}`);
  }
  const processWallMs = elapsedMs(start);
  return { ...(JSON.parse(stdout) as Omit<ImportSample, 'processWallMs'>), processWallMs };
}

export const COLD_IMPORT_SAMPLES = 31;

/** Something to import in a fresh process: a bundle, or the AWS SDK packages a bundle imports. */
interface ImportTarget {
  label: string;
  file: string;
}

/** Round-robin over the targets, so drift on the shared machine hits each target alike. */
async function coldImportSamples(
  targets: readonly ImportTarget[],
  samples: number,
): Promise<Map<ImportTarget, ImportSample[]>> {
  const byTarget = new Map(targets.map((target) => [target, [] as ImportSample[]]));
  const env = importEnvironment();
  // One unmeasured round first: it pays for reading node_modules into the page cache.
  for (let round = 0; round <= samples; round++) {
    for (const target of targets) {
      const sample = await coldImport(target.file, env);
      if (round > 0) byTarget.get(target)?.push(sample);
    }
  }
  return byTarget;
}

/**
 * A module importing only the given SDK packages: what a bundle's cold import costs before any of
 * our code or bundled dependencies run (on Lambda these come from the runtime, loaded the same way).
 */
async function writeSdkProbe(packages: readonly string[], outDir: string, index: number): Promise<ImportTarget> {
  const file = join(outDir, `sdk-only-${index}.mjs`);
  const source = [...packages.map((name) => `import '${name}';`), 'export const handler = () => undefined;', ''].join(
    '\n',
  );
  await writeFile(file, source);
  return { label: packages.join(' + '), file };
}

interface ImportFigures {
  importMs: number;
  sinceProcessStartMs: number;
  processWallMs: number;
  samples: number;
}

function importFigures(samples: readonly ImportSample[]): ImportFigures {
  return {
    importMs: median(samples.map((sample) => sample.importMs)),
    sinceProcessStartMs: median(samples.map((sample) => sample.sinceProcessStartMs)),
    processWallMs: median(samples.map((sample) => sample.processWallMs)),
    samples: samples.length,
  };
}

export async function measureBundles(): Promise<BenchRow[]> {
  const outDir = join(BENCH_DIR, 'bundles');
  const { baseline, functions } = await buildAllBundles(outDir);
  const sizeRows = functions.map((bundle): BenchRow => {
    const ratio = bundle.bytes / baseline.bytes;
    return {
      row: `1. bundle bytes: ${bundle.name}`,
      ours: formatBytes(bundle.bytes),
      baseline: `${formatBytes(baseline.bytes)} (${BASELINE_NAME})`,
      ratio,
      goal: '≤ 1.3×',
      met: ratio <= 1.3,
      detail: {
        bytes: bundle.bytes,
        baselineBytes: baseline.bytes,
        bytesBySource: bundle.bytesBySource,
        baselineBytesBySource: baseline.bytesBySource,
      },
    };
  });

  // The SDK floor of each distinct set of SDK imports, to tell the SDK's share from ours.
  const bundles = [baseline, ...functions];
  const sdkSets = [...new Set(bundles.map((bundle) => bundle.sdkImports.join(',')))];
  const sdkProbes = await Promise.all(
    sdkSets.map((set, index) => writeSdkProbe(set.split(',').filter(Boolean), outDir, index)),
  );
  const sdkProbeOf = (bundle: BuiltBundle) => sdkProbes[sdkSets.indexOf(bundle.sdkImports.join(','))] as ImportTarget;
  const bundleTargets = new Map(bundles.map((bundle) => [bundle, { label: bundle.name, file: bundle.outfile }]));
  const samples = await coldImportSamples([...bundleTargets.values(), ...sdkProbes], COLD_IMPORT_SAMPLES);
  const figuresOf = (target: ImportTarget) => importFigures(samples.get(target) ?? []);
  const bundleFigures = (bundle: BuiltBundle) => figuresOf(bundleTargets.get(bundle) as ImportTarget);

  const baselineImport = bundleFigures(baseline);
  const baselineSdk = figuresOf(sdkProbeOf(baseline));
  const importRows = functions.map((bundle): BenchRow => {
    const ours = bundleFigures(bundle);
    const oursSdk = figuresOf(sdkProbeOf(bundle));
    const ratio = ours.importMs / baselineImport.importMs;
    return {
      row: `2. cold import: ${bundle.name}`,
      ours: `median ${formatMs(ours.importMs)} (SDK alone ${formatMs(oursSdk.importMs)})`,
      baseline: `median ${formatMs(baselineImport.importMs)} (SDK alone ${formatMs(baselineSdk.importMs)})`,
      ratio,
      goal: '≤ 1.2×',
      met: ratio <= 1.2,
      detail: {
        ours,
        baseline: baselineImport,
        processWallRatio: ours.processWallMs / baselineImport.processWallMs,
        sdkImports: bundle.sdkImports,
        sdkOnly: oursSdk,
        baselineSdkImports: baseline.sdkImports,
        baselineSdkOnly: baselineSdk,
        // What the bundle adds on top of the SDK it imports: our code and bundled dependencies.
        aboveSdkMs: ours.importMs - oursSdk.importMs,
        baselineAboveSdkMs: baselineImport.importMs - baselineSdk.importMs,
      },
    };
  });
  return [...sizeRows, ...importRows];
}
