/**
 * The documentation a clone carries: README.md stays a front door under 12 KB (issue 11), every
 * relative link in README.md, docs/ and relay/README.md resolves inside the repository (the file
 * exists; an `#anchor` is a heading of that file as GitHub slugs it, with `github-slugger`, the
 * slugger GitHub's own renderer mirrors), and every repository path the docs name in a code span
 * (`lib/…`, `test/…`, `config/…`) exists, so a moved file cannot leave a stale map behind. Code,
 * configuration and tests point readers at a section as `docs/<file>.md "<Heading>"` (an alarm's
 * description, an error message, a comment): each such file and heading exists too.
 */
import { existsSync, globSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import GithubSlugger, { slug } from 'github-slugger';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Issue 11: "README.md under 12 KB"; counted in bytes, 12 000 (the stricter reading of KB). */
const README_MAX_BYTES = 12_000;

/** The markdown files whose links must resolve: README.md, docs/**, relay/README.md. */
function documentationFiles(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  return ['README.md', 'relay/README.md', ...docs].map((file) => file.split(sep).join('/')).sort();
}

/** The text outside fenced code blocks and inline code spans, where links are links. */
function prose(markdown: string): string {
  return markdown
    .replace(/^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\2[^\n]*$/gm, '')
    .replace(/(`+)(?!`)[\s\S]*?[^`]\1(?!`)/g, (span) => ' '.repeat(span.length));
}

/** The inline-code spans of the prose (fenced blocks removed). */
function codeSpans(markdown: string): string[] {
  const withoutFences = markdown.replace(/^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\2[^\n]*$/gm, '');
  return [...withoutFences.matchAll(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g)].map((match) => (match[2] as string).trim());
}

/** Every anchor a file offers: its headings, slugged as GitHub does, and explicit `<a id|name>`s. */
function anchors(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const found = new Set<string>();
  const text = markdown.replace(/^( {0,3})(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1\2[^\n]*$/gm, '');
  for (const [, heading] of text.matchAll(/^ {0,3}#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    // GitHub slugs the rendered text: a link keeps its text, markup characters go.
    const rendered = (heading as string).replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/<[^>]+>/g, '');
    found.add(slugger.slug(rendered));
  }
  for (const [, id] of text.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) found.add(id as string);
  return found;
}

/** The destinations of inline links and images, `[text](dest "title")`, in the prose. */
function linkTargets(markdown: string): string[] {
  return [...prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map(
    (match) => match[1] as string,
  );
}

/**
 * The relative links of `file` (a path from the repository root) that do not resolve inside the
 * repository, each with the reason. `read` gives a file's text by repository path, or undefined.
 */
function brokenLinks(
  file: string,
  markdown: string,
  read: (path: string) => string | undefined,
  exists: (path: string) => boolean,
): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: … are not ours to check
    const [rawPath = '', rawAnchor] = target.split('#', 2) as [string, string | undefined];
    const path = decodeURIComponent(rawPath);
    if (path.startsWith('/')) {
      problems.push(`${file}: ${target}: an absolute path, not a link inside the repository`);
      continue;
    }
    const resolved =
      path === ''
        ? file
        : relative(ROOT, resolve(ROOT, dirname(file), path))
            .split(sep)
            .join('/');
    if (resolved === '..' || resolved.startsWith('../') || resolve(ROOT, resolved) === resolve(ROOT, '..')) {
      problems.push(`${file}: ${target}: points outside the repository`);
      continue;
    }
    if (!exists(resolved)) {
      problems.push(`${file}: ${target}: ${resolved} does not exist`);
      continue;
    }
    if (rawAnchor === undefined) continue;
    const text = read(resolved);
    if (text === undefined || !resolved.endsWith('.md')) {
      problems.push(`${file}: ${target}: an anchor into ${resolved}, which is not a markdown file`);
      continue;
    }
    const anchor = decodeURIComponent(rawAnchor);
    if (!anchors(text).has(anchor)) problems.push(`${file}: ${target}: ${resolved} has no heading #${anchor}`);
  }
  return problems;
}

/** Code spans naming a path under these folders are repository paths, and must exist. */
const REPOSITORY_PATH = /^(?:lib|functions|test|config|bench|examples|relay|scripts|docs)\/[^\s`]*$/;
/** What a build writes, never committed: named by the docs, absent from a clone. */
const BUILD_OUTPUTS = new Set(['relay/image/relay-rootfs.tar']);

/** The repository paths `markdown` names in code spans that do not exist (globs must match one). */
function missingPaths(markdown: string, exists: (path: string) => boolean): string[] {
  const missing = new Set<string>();
  for (const span of codeSpans(markdown)) {
    if (!REPOSITORY_PATH.test(span)) continue;
    if (/[<>{}…]/.test(span)) continue; // a placeholder (`relay/protocol/<ability>.input.json`), not a path
    const path = span.replace(/[.,;:]$/, '');
    if (BUILD_OUTPUTS.has(path)) continue;
    const found = path.includes('*') ? globSync(path, { cwd: ROOT }).length > 0 : exists(path);
    if (!found) missing.add(path);
  }
  return [...missing];
}

/** The folders and files whose text may point at the docs: everything but the docs and dependencies. */
const SOURCE_ROOTS = ['lib', 'functions', 'config', 'bench', 'test', 'scripts', 'examples', 'relay', '.ci'];
const SOURCE_FILES = ['serverless.yml', 'package.json', 'biome.json', 'openapi.json'];
const SOURCE_TEXT = /(?:\.(?:ts|mts|cts|js|mjs|cjs|py|ya?ml|json|sh)|\/(?:run|Dockerfile|[a-z-]+))$/;

function sourceFiles(): string[] {
  const found = SOURCE_FILES.filter((file) => existsSync(join(ROOT, file)));
  for (const folder of SOURCE_ROOTS) {
    if (!existsSync(join(ROOT, folder))) continue;
    for (const name of readdirSync(join(ROOT, folder), { recursive: true, encoding: 'utf8' })) {
      const file = join(folder, name).split(sep).join('/');
      if (/(^|\/)(node_modules|__pycache__|\.node22)(\/|$)/.test(file)) continue;
      if (!SOURCE_TEXT.test(file) || !statSync(join(ROOT, file)).isFile()) continue;
      // This file's own fixtures name missing files and headings on purpose.
      if (file === 'test/unit/docs.test.ts') continue;
      found.push(file);
    }
  }
  return found.sort();
}

/**
 * References to the docs in `text` that do not resolve: a `docs/<file>.md` (or `README.md`) that does
 * not exist, or a `"<Heading>"` right after it that is not a heading of that file.
 */
function brokenSectionReferences(text: string, read: (path: string) => string | undefined): string[] {
  const problems: string[] = [];
  const reference = /(?<![\w/.-])((?:docs\/[\w-]+|relay\/README|README)\.md|README)(?:[ ,:]+"([^"\n]{2,80})")?/g;
  for (const [, named = '', heading] of text.matchAll(reference)) {
    const file = named === 'README' ? 'README.md' : named;
    if (named === 'README' && heading === undefined) continue; // "the README" in prose names no section
    const markdown = read(file);
    if (markdown === undefined) {
      problems.push(`${named}: does not exist`);
      continue;
    }
    if (heading !== undefined && !anchors(markdown).has(slug(heading)))
      problems.push(`${named} "${heading}": ${file} has no such heading`);
  }
  return problems;
}

const readRepo = (path: string) => {
  const full = join(ROOT, path);
  return existsSync(full) && statSync(full).isFile() ? readFileSync(full, 'utf8') : undefined;
};
const existsInRepo = (path: string) => existsSync(join(ROOT, path));

describe('the documentation', () => {
  it(`keeps README.md a front door under ${README_MAX_BYTES} bytes`, () => {
    expect(statSync(join(ROOT, 'README.md')).size).toBeLessThan(README_MAX_BYTES);
  });

  it('keeps the test command CI runs discoverable in README.md', () => {
    // .ci/run runs "the README's test command".
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toMatch(/^Tests: `npm test`/m);
  });

  it('links README.md to every file of docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const linked = new Set(linkTargets(readme).map((target) => target.split('#')[0]));
    const docs = documentationFiles().filter((file) => file.startsWith('docs/'));
    expect(docs.length).toBeGreaterThanOrEqual(12);
    expect(docs.filter((file) => !linked.has(file))).toEqual([]);
  });

  it('resolves every relative link of README.md, docs/ and relay/README.md inside the repository', () => {
    const files = documentationFiles();
    expect(files).toEqual(expect.arrayContaining(['README.md', 'relay/README.md', 'docs/api.md']));
    const problems = files.flatMap((file) => brokenLinks(file, readRepo(file) ?? '', readRepo, existsInRepo));
    expect(problems).toEqual([]);
  });

  it('resolves every docs section that code, configuration and tests point readers at', () => {
    const files = sourceFiles();
    expect(files).toEqual(expect.arrayContaining(['serverless.yml', 'config/serverless-function-alarms.cjs']));
    // The check has something to check: the alarms and the deploy settings point at sections.
    const pointing = files.filter((file) => /docs\/[\w-]+\.md "/.test(readRepo(file) ?? ''));
    expect(pointing).toEqual(
      expect.arrayContaining(['serverless.yml', 'config/serverless-function-alarms.cjs', 'config/deploy-settings.cjs']),
    );
    const problems = files.flatMap((file) =>
      brokenSectionReferences(readRepo(file) ?? '', readRepo).map((problem) => `${file}: ${problem}`),
    );
    expect(problems).toEqual([]);
  });

  it('names only repository paths that exist', () => {
    const problems = documentationFiles().flatMap((file) =>
      missingPaths(readRepo(file) ?? '', existsInRepo).map((path) => `${file}: ${path}`),
    );
    expect(problems).toEqual([]);
  });
});

describe('the link check itself', () => {
  const files: Record<string, string> = {
    'README.md': '# Title\n\n## Quick start\n\n## Reach your corp: the relay\n\n## Reach your corp: the relay\n',
    'docs/api.md':
      '# The API\n\n### Errors\n\n## The `wecom` transport (`async_program_task`)\n\n```md\n# not a heading\n```\n',
  };
  const read = (path: string) => files[path];
  const exists = (path: string) => path in files || path === 'docs';

  it('accepts files, GitHub-slugged anchors (duplicates numbered), same-file anchors and external URLs', () => {
    const text = [
      '[a](docs/api.md) [b](docs/api.md#errors) [c](#quick-start) [d](#reach-your-corp-the-relay-1)',
      '[e](docs/api.md#the-wecom-transport-async_program_task) [f](https://example.com/x#y) [g](docs/)',
      '`[not a link](nowhere.md)`',
      '```sh\n[not a link](nowhere.md)\n```',
    ].join('\n');
    expect(brokenLinks('README.md', text, read, exists)).toEqual([]);
  });

  it('reports a missing file, a missing anchor, a link out of the repository and an absolute path', () => {
    const text =
      '[a](docs/nope.md) [b](docs/api.md#not-there) [c](../shared/spec/zone-protocol.md) [d](/work/x.md) [e](#not-a-heading-here) [f](docs/api.md#not-a-heading)';
    expect(brokenLinks('README.md', text, read, exists)).toEqual([
      'README.md: docs/nope.md: docs/nope.md does not exist',
      'README.md: docs/api.md#not-there: docs/api.md has no heading #not-there',
      'README.md: ../shared/spec/zone-protocol.md: points outside the repository',
      'README.md: /work/x.md: an absolute path, not a link inside the repository',
      'README.md: #not-a-heading-here: README.md has no heading #not-a-heading-here',
      'README.md: docs/api.md#not-a-heading: docs/api.md has no heading #not-a-heading',
    ]);
  });

  it('resolves links relative to the file that holds them', () => {
    expect(brokenLinks('docs/api.md', '[r](../README.md#quick-start) [s](api.md#errors)', read, exists)).toEqual([]);
    expect(brokenLinks('docs/api.md', '[r](README.md)', read, exists)).toEqual([
      'docs/api.md: README.md: docs/README.md does not exist',
    ]);
  });

  it('checks section references by file and GitHub slug, and reports the ones that do not resolve', () => {
    const text = [
      'see docs/api.md "Errors" and docs/api.md "The `wecom` transport (async_program_task)";',
      '(README "Quick start"), README.md "Reach your corp: the relay", docs/api.md, the README',
      'docs/api.md "Alarms" and README "Deploy" and docs/gone.md and docs/gone.md "Alarms"',
    ].join('\n');
    expect(brokenSectionReferences(text, read)).toEqual([
      'docs/api.md "Alarms": docs/api.md has no such heading',
      'README "Deploy": README.md has no such heading',
      'docs/gone.md: does not exist',
      'docs/gone.md: does not exist',
    ]);
  });

  it('reports code-span paths that do not exist, and skips placeholders', () => {
    const text =
      'See `test/unit/docs.test.ts`, `test/unit/nowhere.ts`, `test/unit/*.test.ts`, `test/unit/*.nothing`, `relay/protocol/<ability>.json`.';
    expect(missingPaths(text, existsInRepo)).toEqual(['test/unit/nowhere.ts', 'test/unit/*.nothing']);
  });
});
