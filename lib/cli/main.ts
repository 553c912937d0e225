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

/**
 * The first SIGINT or SIGTERM stops the command in whatever phase it is (reading standard input,
 * sending, retrying, waiting, serving the emulator): every phase listens to this signal. Should one
 * not answer within two seconds, the process leaves anyway; a second signal leaves at once.
 */
const stop = new AbortController();
let received: NodeJS.Signals | undefined;
const signalExit = (signal: NodeJS.Signals) => (signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted);
const onSignal = (signal: NodeJS.Signals) => {
  if (received !== undefined) process.exit(signalExit(signal));
  received = signal;
  stop.abort(signal);
  setTimeout(() => process.exit(signalExit(signal)), 2000).unref();
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
// Interrupted by SIGTERM: 143, as a shell reports a process it terminated.
process.exit(code === EXIT.interrupted && received === 'SIGTERM' ? EXIT.terminated : code);
