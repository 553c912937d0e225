#!/usr/bin/env node
/**
 * The command line: `wecom-zone-tasks submit request.json --wait`, `get <jobid>`, `zone`, `help`.
 * Runs with tsx (`npm run cli -- …`). Usage and exit codes: `lib/cli/args.ts` (USAGE, EXIT).
 */
import { EXIT } from './args.js';
import { run } from './run.js';

function flush(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => {
    if (!stream.write('', () => resolve())) stream.once('drain', () => resolve());
  });
}

const stop = new AbortController();
let interrupts = 0;
const onSignal = (signal: NodeJS.Signals) => {
  interrupts++;
  // A second Ctrl-C leaves at once.
  if (interrupts > 1) process.exit(signal === 'SIGINT' ? EXIT.interrupted : 143);
  stop.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// `… | head`: a closed pipe ends the command quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
}

const code = await run(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: stop.signal,
});
await Promise.all([flush(process.stdout), flush(process.stderr)]);
process.exit(code);
