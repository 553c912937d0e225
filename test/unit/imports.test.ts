/**
 * The import rules of `lib/` (issue 11, "Done when"), read from the code with TypeScript's own parser:
 *
 * 1. `lib/` is what runs in production plus its local adapters: no file under `lib/` imports from
 *    `bench/`, `test/`, `scripts/` or `functions/`.
 * 2. The folders of `lib/` (and its loose files) form layers, lowest first, written down in
 *    {@link LAYERS} and in docs/architecture.md "Layers": a unit imports only from units of lower
 *    layers (and from itself), never upward and never sideways within its layer.
 * 3. No cycle between `lib/` folders (implied by 2, checked on its own so a failure names the loop
 *    even for a folder the layer list does not know yet).
 *
 * Every kind of import counts: `import … from`, `export … from`, `import x = require(…)`, dynamic
 * `import(…)` and `require(…)`. A failure names the file, the line and the import.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const LIB = join(ROOT, 'lib');

/**
 * The layers of `lib/`, lowest first. A unit is a folder of `lib/` (`tasks`) or a file directly in
 * `lib/` (`log.ts`). Keep in step with docs/architecture.md "Layers".
 */
const LAYERS: readonly (readonly string[])[] = [
  // Pieces every layer may use: no import from any other lib/ unit.
  ['shared', 'protocol', 'log.ts', 'jsonError.ts', 'secretText.ts', 'errors.ts'],
  // The service's wire formats and plumbing: rendering the zone's input; HTTP parsing and answers.
  ['render', 'http'],
  // The task record, its stores and idempotency (ports and their DynamoDB, memory and SQLite adapters).
  ['tasks'],
  // The other ports with their adapters, and the metrics, which name task statuses.
  ['budget', 'queue', 'metrics.ts'],
  // The zone: its port, the typed client, the transports (HTTP, WeCom's API, the relay) and the emulator.
  ['zone'],
  // Many corps: their credentials, suite and corp tokens, the directory transport, WeCom's callbacks.
  ['corps'],
  // Completion notices (events, callbacks).
  ['notify'],
  // The poll loop, its schedule and the sweeper.
  ['poll'],
  // Submitting a task: the create use case, which schedules the first poll.
  ['create'],
  // The public API's schemas and OpenAPI document.
  ['api'],
  // The middy handlers, one per file of functions/.
  ['handlers'],
  // The deployment's configuration from the environment.
  ['config.ts'],
  // What each Lambda function runs with on AWS.
  ['wiring'],
  // Operations (the dead-letter redrive).
  ['ops'],
  // `npm start`: the local stack, API server and Lambda runtime.
  ['local'],
  // The command line.
  ['cli'],
];

/** Top-level folders of the repository that `lib/` never imports. */
const FORBIDDEN_ROOTS = ['bench', 'test', 'scripts', 'functions'];

interface LibImport {
  /** The importing file, relative to the repository (`lib/poll/pollTask.ts`). */
  from: string;
  line: number;
  /** The specifier as written (`../tasks/port.js`). */
  specifier: string;
  /** The imported path relative to the repository, for a relative specifier. */
  target?: string;
}

function libFiles(): string[] {
  return readdirSync(LIB, { recursive: true, encoding: 'utf8' })
    .filter((name) => /\.(ts|mts|cts|mjs|cjs|js)$/.test(name) && !name.endsWith('.d.ts'))
    .map((name) => join(LIB, name))
    .sort();
}

/** Every module specifier of a source file, parsed by TypeScript. */
function importsOf(file: string): LibImport[] {
  const text = readFileSync(file, 'utf8');
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const from = relative(ROOT, file).split(sep).join('/');
  const found: LibImport[] = [];
  const add = (node: ts.Node, literal: ts.Expression | undefined) => {
    if (!literal || !ts.isStringLiteralLike(literal)) return;
    const specifier = literal.text;
    const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
    const target = specifier.startsWith('.')
      ? relative(ROOT, resolve(dirname(file), specifier))
          .split(sep)
          .join('/')
      : undefined;
    found.push({ from, line, specifier, target });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) add(node, node.moduleSpecifier);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      if (isDynamicImport || isRequire) add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal as ts.Expression);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The lib/ unit of a repository path (`lib/tasks/port.js` → `tasks`, `lib/log.js` → `log.ts`), else undefined. */
function unitOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] !== 'lib' || parts.length < 2) return undefined;
  if (parts.length === 2) return (parts[1] as string).replace(/\.(js|mjs|cjs)$/, '.ts');
  return parts[1];
}

function show(entry: LibImport): string {
  return `${entry.from}:${entry.line} imports '${entry.specifier}'`;
}

const imports = libFiles().flatMap(importsOf);
const layerOf = new Map<string, number>(LAYERS.flatMap((units, index) => units.map((unit) => [unit, index] as const)));

describe('imports of lib/', () => {
  it('reads the imports of every file under lib/ (the parser sees them)', () => {
    // A guard against a parser that silently finds nothing: a test that could not fail.
    expect(libFiles().length).toBeGreaterThan(50);
    expect(imports.filter((entry) => entry.target !== undefined).length).toBeGreaterThan(200);
    expect(imports).toContainEqual(
      expect.objectContaining({ from: 'lib/poll/pollTask.ts', target: 'lib/tasks/port.js' }),
    );
  });

  it('never imports bench/, test/, scripts/ or functions/', () => {
    const offending = imports
      .filter((entry) => entry.target !== undefined && FORBIDDEN_ROOTS.includes(entry.target.split('/')[0] as string))
      .map(show);
    expect(offending, 'lib/ runs in production: move what it needs into lib/').toEqual([]);
  });

  it('puts every lib/ folder and loose file in a layer', () => {
    const units = new Set(libFiles().map((file) => unitOf(relative(ROOT, file).split(sep).join('/')) as string));
    const unplaced = [...units].filter((unit) => !layerOf.has(unit)).sort();
    expect(unplaced, 'add it to LAYERS here and to docs/architecture.md "Layers"').toEqual([]);
    const listed = [...layerOf.keys()].filter((unit) => !units.has(unit)).sort();
    expect(listed, 'LAYERS names a unit lib/ does not have').toEqual([]);
  });

  it('imports only from lower layers (no upward, no sideways import between lib/ folders)', () => {
    const offending = imports.flatMap((entry) => {
      const fromUnit = unitOf(entry.from);
      const toUnit = entry.target === undefined ? undefined : unitOf(entry.target);
      if (fromUnit === undefined || toUnit === undefined || fromUnit === toUnit) return [];
      const fromLayer = layerOf.get(fromUnit);
      const toLayer = layerOf.get(toUnit);
      if (fromLayer === undefined || toLayer === undefined) return []; // the test above names it
      if (toLayer < fromLayer) return [];
      const direction = toLayer === fromLayer ? 'sideways' : 'upward';
      return [`${show(entry)}: ${direction}, ${fromUnit} (layer ${fromLayer}) → ${toUnit} (layer ${toLayer})`];
    });
    expect(offending, 'see LAYERS in test/unit/imports.test.ts and docs/architecture.md "Layers"').toEqual([]);
  });

  it('has no cycle between lib/ folders', () => {
    const edges = new Map<string, Map<string, LibImport>>();
    for (const entry of imports) {
      const fromUnit = unitOf(entry.from);
      const toUnit = entry.target === undefined ? undefined : unitOf(entry.target);
      if (fromUnit === undefined || toUnit === undefined || fromUnit === toUnit) continue;
      const out = edges.get(fromUnit) ?? new Map<string, LibImport>();
      if (!out.has(toUnit)) out.set(toUnit, entry);
      edges.set(fromUnit, out);
    }
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const walk = (unit: string): void => {
      state.set(unit, 'open');
      stack.push(unit);
      for (const [next, entry] of edges.get(unit) ?? []) {
        if (state.get(next) === 'open') {
          const loop = [...stack.slice(stack.indexOf(next)), next];
          const steps = loop.slice(0, -1).map((a, i) => show(edges.get(a)?.get(loop[i + 1] as string) as LibImport));
          cycles.push(`${loop.join(' → ')} (${steps.join('; ')})`);
        } else if (state.get(next) === undefined) walk(next);
        void entry;
      }
      stack.pop();
      state.set(unit, 'done');
    };
    for (const unit of [...edges.keys()].sort()) if (state.get(unit) === undefined) walk(unit);
    expect(cycles).toEqual([]);
  });
});
