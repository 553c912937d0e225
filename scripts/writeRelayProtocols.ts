/**
 * `npm run relay-protocols`: writes the relay abilities' protocol samples to `relay/protocol/` from the
 * zod schemas (lib/protocol/relayProtocols.ts). `-- --check` only compares and exits 1 on drift.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { relayProtocolFiles, relayProtocolText } from '../lib/protocol/relayProtocols.js';

const folder = fileURLToPath(new URL('../relay/protocol/', import.meta.url));
const check = process.argv.includes('--check');
let stale = 0;
for (const file of relayProtocolFiles()) {
  const target = `${folder}${file.name}`;
  const text = relayProtocolText(file);
  if (check) {
    let current = '';
    try {
      current = readFileSync(target, 'utf8');
    } catch {
      // missing: out of date
    }
    if (current !== text) {
      console.error(`${target} is out of date: run \`npm run relay-protocols\``);
      stale += 1;
    }
  } else {
    writeFileSync(target, text);
    console.log(`wrote ${target}`);
  }
}
if (stale > 0) process.exit(1);
if (check) console.log(`${folder} is up to date`);
