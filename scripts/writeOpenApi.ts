/**
 * `npm run openapi`: regenerates `openapi.json` at the repository root from the zod schemas.
 * `npm run openapi -- --check` only compares, and exits 1 when the file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openApiJson } from '../lib/api/openapi.js';

const target = fileURLToPath(new URL('../openapi.json', import.meta.url));
const text = openApiJson();

if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== text) {
    console.error(`${target} is out of date: run \`npm run openapi\``);
    process.exit(1);
  }
  console.log(`${target} is up to date`);
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
