/**
 * How every long-running command ends (`npm start`, `npm run zone`, the sample program, `npm run
 * fake-wecom`, `npm run bench`): at the first SIGINT (Ctrl-C) or SIGTERM (docker stop, systemd, CI),
 * whatever it is doing. It stops what it runs and exits 0; if that takes longer than `graceMs`, or a
 * second signal comes, it exits at once with 128 + the signal's number (130, 143), so nothing is left
 * holding a port. The npm scripts `exec` their command, so npm's own signal reaches this process.
 */

const SIGNAL_EXIT: Record<'SIGINT' | 'SIGTERM', number> = { SIGINT: 130, SIGTERM: 143 };

export interface StopOptions {
  /** How long the orderly stop may take (default 5 s). */
  graceMs?: number;
  /** Exit code after an orderly stop (default 0). */
  exitCode?: (signal: 'SIGINT' | 'SIGTERM') => number;
}

/**
 * @example
 * onStopSignal(() => server.close());
 */
export function onStopSignal(
  stop: (signal: 'SIGINT' | 'SIGTERM') => Promise<unknown> | unknown,
  options: StopOptions = {},
): void {
  let stopping = false;
  const handle = (signal: 'SIGINT' | 'SIGTERM') => {
    if (stopping) process.exit(SIGNAL_EXIT[signal]);
    stopping = true;
    setTimeout(() => process.exit(SIGNAL_EXIT[signal]), options.graceMs ?? 5000).unref();
    Promise.resolve()
      .then(() => stop(signal))
      .then(
        () => process.exit(options.exitCode?.(signal) ?? 0),
        () => process.exit(SIGNAL_EXIT[signal]),
      );
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
