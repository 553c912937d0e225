/**
 * `submit` and `get`: what they send, what they wait for, what they print, and their exit codes.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { jsonErrorPlace } from '../jsonError.js';
import type { TaskStatus, TaskView } from '../tasks/task.js';
import {
  type ConnectionOptions,
  EXIT,
  type ExitCode,
  type GetOptions,
  getCommandLine,
  PROGRAM,
  type SubmitOptions,
  UsageError,
} from './args.js';
import { ApiClient, ApiError, abortableSleep, createWithRetry, InterruptedError } from './client.js';
import { formatAccepted, formatTask } from './format.js';
import { ProgressReporter, type ProgressStream } from './progress.js';

export interface CliIo {
  stdout: ProgressStream;
  /** Progress, notes and errors: standard output carries only the result. */
  stderr: ProgressStream;
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Aborted on Ctrl-C / SIGTERM. */
  signal: AbortSignal;
}

/** Waiting: the first GET one second after the 202, then each wait 25 % longer, up to this. */
export const POLL_FIRST_MS = 1000;
export const POLL_GROWTH = 1.25;
export const POLL_MAX_MS = 5000;
/** Consecutive failed GETs (unreachable, 5xx) tolerated while waiting before giving up (exit 5). */
export const MAX_POLL_FAILURES = 5;

export const STATUS_EXIT: Record<TaskStatus, ExitCode> = {
  PENDING: EXIT.ok,
  SUCCEEDED: EXIT.ok,
  FAILED: EXIT.failed,
  TIMED_OUT: EXIT.timedOut,
};

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** The whole stream; rejects with {@link InterruptedError} when `signal` aborts (stdin may never end). */
function readAll(stream: NodeJS.ReadableStream, signal: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const onData = (chunk: unknown) => chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (error: unknown) => {
      cleanup();
      reject(error);
    };
    const onAbort = () => {
      cleanup();
      stream.pause();
      reject(new InterruptedError('interrupted'));
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

/**
 * The request file's text, checked to be a JSON object. Errors (exit 1) name the file and the place,
 * never its content: it holds secret keys and possibly chat text.
 */
export async function readRequestFile(file: string, io: Pick<CliIo, 'stdin' | 'stderr' | 'signal'>): Promise<string> {
  const name = file === '-' ? 'standard input' : file;
  let text: string;
  try {
    if (file === '-') {
      if (io.stdin.isTTY) io.stderr.write('reading the request from standard input (end with Ctrl-D)\n');
      text = await readAll(io.stdin, io.signal);
    } else text = await readFile(file, { encoding: 'utf8', signal: io.signal });
  } catch (error) {
    if (error instanceof InterruptedError || io.signal.aborted) throw new InterruptedError('interrupted');
    throw new UsageError(`${name}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  text = text.replace(/^\uFEFF/, '');
  if (text.trim() === '')
    throw new UsageError(`${name}: is empty; a create_program_task request (a JSON object) is required`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UsageError(`${name}: not valid JSON${jsonErrorPlace(text)}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${name}: must hold a JSON object (a create_program_task request)`);
  }
  return text;
}

/**
 * What to do after a failed create, by what the API says happened: nothing was created (our budget,
 * WeCom's rate limit, a busy zone), a task may exist (zone_outcome_unknown), a task exists but is not
 * tracked (task_not_recorded), or the answer never came (then the Idempotency-Key finds the task).
 */
export function createFailureHint(error: ApiError, idempotencyKey: string): string {
  const wait = error.retryAfterSeconds === undefined ? 'later' : `in ${error.retryAfterSeconds} s`;
  switch (error.code) {
    case 'budget_spent':
      return `nothing was created: this deployment's call budget for the corp is spent (BUDGET_PER_MINUTE / BUDGET_PER_HOUR); submit again ${wait}`;
    case 'zone_rate_limited':
      return `nothing was created: WeCom rate-limited the corp (45009 / 45033; calls of its other apps count too); submit again ${wait}`;
    case 'zone_unavailable':
      return `nothing was created: the zone is busy or unreachable; submit again ${wait}`;
    case 'zone_misconfigured':
      return 'nothing was created: a setting of the deployment is wrong (the message names it); submitting again will not help until it is fixed';
    case 'zone_outcome_unknown':
      return 'the zone may have created the task, which is not tracked; submitting again creates another task (the same --idempotency-key answers the same)';
    case 'task_not_recorded':
      return 'the zone created the task, but it is not tracked; submitting again creates another task (the same --idempotency-key answers the same)';
    default:
      return `the task may have been created: submit again with --idempotency-key ${idempotencyKey} to get it rather than a second one`;
  }
}

/**
 * The API client for the connection options: a bearer token, or SigV4 signing (loaded only then: the
 * credential chain is not needed against `npm start`).
 */
export async function apiClient(options: ConnectionOptions, env: NodeJS.ProcessEnv): Promise<ApiClient> {
  if (!options.sigv4) return new ApiClient({ url: options.url, token: options.token });
  const { sigv4Signer } = await import('./aws.js');
  return new ApiClient({ url: options.url, signer: sigv4Signer({ region: options.region, env }) });
}

/** The same error with more lines under it. */
function withHint(error: ApiError, hint: string): ApiError {
  return new ApiError(
    error.message,
    error.kind,
    error.status,
    error.code,
    [...error.details, hint],
    error.retryAfterSeconds,
  );
}

export async function submit(options: SubmitOptions, io: CliIo): Promise<ExitCode> {
  const startedAt = Date.now();
  const elapsed = () => Date.now() - startedAt;
  let body: string;
  try {
    body = await readRequestFile(options.file, io);
  } catch (error) {
    // Stopped before anything was sent: no task exists.
    if (error instanceof InterruptedError) return EXIT.interrupted;
    throw error;
  }
  const idempotencyKey = options.idempotencyKey ?? randomUUID();
  const client = await apiClient(options, io.env);

  let created: Awaited<ReturnType<typeof createWithRetry>>;
  try {
    created = await createWithRetry(client, body, idempotencyKey, {
      signal: io.signal,
      onRetry: ({ error, delaySeconds, attempt, of }) =>
        io.stderr.write(
          `POST /tasks answered ${error.status}${error.code ? ` (${error.code})` : ''}; retry ${attempt}/${of} in ${delaySeconds} s with the same Idempotency-Key\n`,
        ),
    });
  } catch (error) {
    if (error instanceof InterruptedError) {
      io.stderr.write(
        `interrupted; if the task was created, submitting again with --idempotency-key ${idempotencyKey} returns it\n`,
      );
      return EXIT.interrupted;
    }
    if (error instanceof ApiError && error.kind === 'unavailable')
      throw withHint(error, createFailureHint(error, idempotencyKey));
    throw error;
  }
  const { task, raw, replayed } = created;
  if (replayed && (options.json || options.wait))
    io.stderr.write(`an earlier submit with this Idempotency-Key created task ${task.jobid}\n`);

  if (!options.wait) {
    io.stdout.write(options.json ? json(raw) : formatAccepted(task, { replayed, program: PROGRAM }));
    return EXIT.ok;
  }

  const tty = Boolean(io.stderr.isTTY) && io.env.TERM !== 'dumb';
  const progress = new ProgressReporter(io.stderr, { tty, color: tty && !io.env.NO_COLOR });
  const deadline =
    options.timeoutSeconds === undefined ? Number.POSITIVE_INFINITY : startedAt + options.timeoutSeconds * 1000;
  const { jobid } = task;
  let status: TaskStatus = task.status;
  let last: { view: TaskView; raw: unknown } | undefined;
  let interval = POLL_FIRST_MS;
  let failures = 0;
  progress.update({ jobid, status, attempts: 0, elapsedMs: elapsed() });
  try {
    // At least one GET: the 202 says PENDING, but a replayed submit may concern a finished task.
    while (last === undefined || status === 'PENDING') {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await abortableSleep(Math.min(interval, remaining), io.signal);
      interval = Math.min(interval * POLL_GROWTH, POLL_MAX_MS);
      try {
        last = await client.get(jobid, io.signal);
        failures = 0;
        status = last.view.status;
        progress.update({ jobid, status, attempts: last.view.attempts, elapsedMs: elapsed() });
      } catch (error) {
        if (!(error instanceof ApiError) || error.kind !== 'unavailable' || ++failures >= MAX_POLL_FAILURES)
          throw error;
        const what = error.status === undefined ? 'API unreachable' : `API answered ${error.status}`;
        progress.update({
          jobid,
          status,
          attempts: last?.view.attempts ?? 0,
          elapsedMs: elapsed(),
          note: `${what}, retrying ${failures}/${MAX_POLL_FAILURES - 1}`,
        });
      }
    }
  } catch (error) {
    progress.finish(true);
    if (error instanceof InterruptedError) {
      io.stderr.write(`interrupted: task ${jobid} keeps running; see it with: ${getCommandLine(jobid)}\n`);
      return EXIT.interrupted;
    }
    if (error instanceof ApiError)
      throw withHint(error, `task ${jobid} may still be running; see it with: ${getCommandLine(jobid)}`);
    throw error;
  }
  progress.finish(true);

  if (last === undefined || last.view.status === 'PENDING') {
    io.stderr.write(
      `gave up waiting after ${options.timeoutSeconds} s (--timeout): task ${jobid} is still PENDING and keeps running; see it with: ${getCommandLine(jobid)}\n`,
    );
    if (options.json) io.stdout.write(json(last?.raw ?? raw));
    else io.stdout.write(last ? formatTask(last.view) : formatAccepted(task, { replayed, program: PROGRAM }));
    return EXIT.timedOut;
  }
  io.stdout.write(options.json ? json(last.raw) : formatTask(last.view));
  return STATUS_EXIT[last.view.status];
}

export async function get(options: GetOptions, io: CliIo): Promise<ExitCode> {
  const client = await apiClient(options, io.env);
  try {
    const { view, raw } = await client.get(options.jobid, io.signal);
    io.stdout.write(options.json ? json(raw) : formatTask(view));
    return EXIT.ok;
  } catch (error) {
    if (error instanceof InterruptedError) return EXIT.interrupted;
    throw error;
  }
}
