/**
 * The API as the command line uses it: `POST /tasks` (with an Idempotency-Key, retried on 503/409)
 * and `GET /tasks/{jobid}`. Every failure is an {@link ApiError} whose message comes from the API's
 * own `message` (which names fields, never values) and never from the request.
 */
import type * as z from 'zod';
import { CreatedTaskSchema as ApiCreatedTaskSchema } from '../api/schemas.js';
import { ErrorBodySchema as ApiErrorBodySchema } from '../http/errors.js';
import { jobidPathSegment, StoredJobidSchema } from '../tasks/jobid.js';
import { TaskStatusSchema, type TaskView, TaskViewSchema } from '../tasks/task.js';

/**
 * The API's 202 answer (`lib/api/schemas.ts`), read as the CLI prints it: the jobid as the API
 * stores it (no control characters, so it is safe to print; paths use `jobidPathSegment`), any status.
 */
export const CreatedTaskSchema = ApiCreatedTaskSchema.extend({ jobid: StoredJobidSchema, status: TaskStatusSchema });
export type CreatedTask = z.infer<typeof CreatedTaskSchema>;

/** The API's error body (`lib/http/errors.ts`), every field optional: a proxy's answer may have none. */
const ErrorBodySchema = ApiErrorBodySchema.partial();

/**
 * `rejected`: the API answered 4xx (exit 4). `unavailable`: unreachable, 5xx, or an answer that is
 * not the API's (exit 5).
 */
export type ApiErrorKind = 'rejected' | 'unavailable';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    message: string,
    readonly kind: ApiErrorKind,
    readonly status?: number,
    /** The API's error code, e.g. `invalid_request`. */
    readonly code?: string,
    /** More lines: every field the API named, the zone's errcode. */
    readonly details: string[] = [],
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

/** The user stopped the command (Ctrl-C) during a request or a wait. */
export class InterruptedError extends Error {
  override readonly name = 'InterruptedError';
}

/** Text from the network shown on a terminal: no control characters (no escape sequences), bounded. */
export function printable(text: string, max = 500): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this strips, so a server cannot drive the terminal
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** Signs a request (SigV4, `lib/cli/aws.ts`): returns every header to send. */
export interface ApiRequestSigner {
  sign(request: {
    method: string;
    url: URL;
    headers: Record<string, string>;
    body?: string;
  }): Promise<Record<string, string>>;
}

export interface ApiClientOptions {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:3000`. */
  url: string;
  token?: string;
  /** Sign every request (the deployed API's IAM authorization); not with `token`. */
  signer?: ApiRequestSigner;
  /** Per request (default 30 s). */
  requestTimeoutMs?: number;
}

interface Answer {
  status: number;
  headers: Headers;
  json: unknown;
}

export class ApiClient {
  constructor(private readonly options: ApiClientOptions) {}

  /** `POST /tasks` once. */
  async create(
    body: string,
    idempotencyKey: string,
    signal?: AbortSignal,
  ): Promise<{ task: CreatedTask; raw: unknown; replayed: boolean }> {
    const answer = await this.request('POST', '/tasks', {
      body,
      headers: { 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
      signal,
    });
    const parsed = CreatedTaskSchema.safeParse(answer.json);
    if (!parsed.success) throw notTheApi('POST /tasks', answer.status);
    return { task: parsed.data, raw: answer.json, replayed: answer.headers.get('idempotent-replayed') === 'true' };
  }

  /** `GET /tasks/{jobid}`. */
  async get(jobid: string, signal?: AbortSignal): Promise<{ view: TaskView; raw: unknown }> {
    const answer = await this.request('GET', `/tasks/${jobidPathSegment(jobid)}`, { signal });
    const parsed = TaskViewSchema.safeParse(answer.json);
    if (!parsed.success) throw notTheApi('GET /tasks/{jobid}', answer.status);
    return { view: parsed.data, raw: answer.json };
  }

  private async request(
    method: 'GET' | 'POST',
    path: string,
    init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal },
  ): Promise<Answer> {
    const route = method === 'POST' ? 'POST /tasks' : 'GET /tasks/{jobid}';
    const timeoutMs = this.options.requestTimeoutMs ?? 30_000;
    const signals = [AbortSignal.timeout(timeoutMs), ...(init.signal ? [init.signal] : [])];
    let headers: Record<string, string> = { accept: 'application/json', ...init.headers };
    if (this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const url = `${this.options.url}${path}`;
    // Signed on every try (a retry gets a fresh x-amz-date); a signing failure (no credentials) is not the API's.
    if (this.options.signer)
      headers = await this.options.signer.sign({ method, url: new URL(url), headers, body: init.body });
    let status: number;
    let responseHeaders: Headers;
    let text: string;
    try {
      const response = await fetch(url, {
        method,
        headers,
        body: init.body,
        redirect: 'manual',
        signal: AbortSignal.any(signals),
      });
      status = response.status;
      responseHeaders = response.headers;
      text = await response.text();
    } catch (error) {
      if (init.signal?.aborted) throw new InterruptedError('interrupted');
      throw new ApiError(
        `${route}: cannot reach ${this.options.url} (${networkReason(error, timeoutMs)})`,
        'unavailable',
      );
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (status >= 200 && status < 300) {
      if (json === undefined) throw notTheApi(route, status);
      return { status, headers: responseHeaders, json };
    }
    if (status >= 300 && status < 400) {
      const location = responseHeaders.get('location');
      throw new ApiError(
        `${route}: ${status} redirect${location ? ` to ${printable(location, 200)}` : ''}; give the API's own URL with --url`,
        'unavailable',
        status,
      );
    }
    const parsed = ErrorBodySchema.safeParse(json);
    const body = parsed.success ? parsed.data : {};
    const code = body.error ? printable(body.error, 60) : undefined;
    const message = printable(body.message ?? (json === undefined ? 'the answer is not JSON' : 'no message'));
    const details: string[] = [];
    for (const issue of body.issues?.slice(1, 20) ?? [])
      details.push(`${printable(issue.path, 200)}: ${printable(issue.message, 200)}`);
    if (body.errcode !== undefined)
      details.push(`errcode ${body.errcode}${body.errmsg ? ` (${printable(body.errmsg, 200)})` : ''}`);
    const retryAfterHeader = responseHeaders.get('retry-after');
    const retryAfter = retryAfterHeader === null ? Number.NaN : Number(retryAfterHeader);
    throw new ApiError(
      `${route}: ${status}${code ? ` ${code}` : ''}: ${message}`,
      status >= 400 && status < 500 ? 'rejected' : 'unavailable',
      status,
      code,
      details,
      Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
    );
  }
}

function notTheApi(route: string, status: number): ApiError {
  return new ApiError(`${route}: ${status} with an answer that is not this API's; check --url`, 'unavailable', status);
}

function networkReason(error: unknown, timeoutMs: number): string {
  if ((error as Error)?.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  const cause = (error as { cause?: { code?: unknown; message?: unknown } })?.cause;
  if (typeof cause?.code === 'string') return printable(cause.code, 60);
  if (typeof cause?.message === 'string' && cause.message !== '') return printable(cause.message, 120);
  return (error as Error)?.name ?? 'network error';
}

export interface CreateRetryOptions {
  /** Retries after the first try (default 3). */
  retries?: number;
  /** Longest wait between tries, in seconds (default 10). */
  maxDelaySeconds?: number;
  /** An answer asking to wait longer than this (seconds, default 30) is not retried. */
  maxRetryAfterSeconds?: number;
  signal?: AbortSignal;
  onRetry?(info: { error: ApiError; delaySeconds: number; attempt: number; of: number }): void;
  sleep?(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Backoff: 1, 2, 4 … s, at least the answer's `retry-after`, capped. */
export function retryDelaySeconds(error: ApiError, attempt: number, maxDelaySeconds = 10): number {
  return Math.min(maxDelaySeconds, Math.max(error.retryAfterSeconds ?? 0, 2 ** attempt));
}

/**
 * `POST /tasks`, retried with the same Idempotency-Key when the zone is busy (503) or the same key is
 * still in progress (409): the API returns the task of the first try, never a second one. Waits
 * 1, 2, 4 s or the answer's `retry-after` (up to 10 s); a `retry-after` above 30 s is not retried.
 */
export async function createWithRetry(
  client: ApiClient,
  body: string,
  idempotencyKey: string,
  options: CreateRetryOptions = {},
): Promise<{ task: CreatedTask; raw: unknown; replayed: boolean }> {
  const retries = options.retries ?? 3;
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 0; ; attempt++) {
    try {
      return await client.create(body, idempotencyKey, options.signal);
    } catch (error) {
      const retryable = error instanceof ApiError && (error.status === 503 || error.status === 409);
      if (!retryable || attempt >= retries) throw error;
      // A long retry-after (the corp's call budget is spent for the window) is not worth waiting for here.
      if ((error.retryAfterSeconds ?? 0) > (options.maxRetryAfterSeconds ?? 30)) throw error;
      const delaySeconds = retryDelaySeconds(error, attempt, options.maxDelaySeconds);
      options.onRetry?.({ error, delaySeconds, attempt: attempt + 1, of: retries });
      await sleep(delaySeconds * 1000, options.signal);
    }
  }
}

/** Resolves after `ms`, or rejects with {@link InterruptedError} when `signal` aborts. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new InterruptedError('interrupted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new InterruptedError('interrupted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
