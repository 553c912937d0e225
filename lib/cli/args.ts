/**
 * The command line's words: commands, options, usage texts and exit codes. Parsing only; what the
 * commands do is in `commands.ts` and `zone.ts`.
 */
import { parseArgs } from 'node:util';
import { IDEMPOTENCY_KEY_PATTERN } from '../api/schemas.js';
import { REDRIVE_KINDS, type RedriveKind } from '../ops/redriveKinds.js';
import { jobidFromPathSegment, jobidPathSegment } from '../tasks/jobid.js';
import { executeApiRegion } from './awsHosts.js';

export const PROGRAM = 'wecom-zone-tasks';
export const DEFAULT_URL = 'http://127.0.0.1:3000';
export const URL_ENV = 'WECOM_ZONE_TASKS_URL';
export const TOKEN_ENV = 'WECOM_ZONE_TASKS_TOKEN';

/** Exit codes; the help text and docs/api.md "Command line" list them. */
export const EXIT = {
  /** SUCCEEDED; accepted (submit without --wait); any task found (get); help. */
  ok: 0,
  /** A usage error, a request file that cannot be read or is not JSON, a bad emulator file. */
  usage: 1,
  /** The task ended FAILED. */
  failed: 2,
  /** The task ended TIMED_OUT, or --timeout was reached while waiting. */
  timedOut: 3,
  /** The API answered 4xx (invalid request, unknown jobid, unauthorized …). */
  rejected: 4,
  /** The API could not be reached, or answered 5xx. */
  unavailable: 5,
  /** Interrupted by SIGINT (Ctrl-C), in any phase; a created task keeps running. */
  interrupted: 130,
  /** Stopped by SIGTERM, in any phase; a created task keeps running. */
  terminated: 143,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/**
 * The command that shows a task, as a user can paste it: the jobid as it is when made of
 * A-Z a-z 0-9 _ -, else its ~form (`lib/tasks/jobid.ts`: no quoting needed); one that starts with "-"
 * only reads as a jobid after "--".
 */
export function getCommandLine(jobid: string): string {
  const word = jobidPathSegment(jobid);
  return `${PROGRAM} get ${word.startsWith('-') ? '-- ' : ''}${word}`;
}

/** A mistake on the command line, or in the request file: exit 1 with the message. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    message: string,
    /** Point at this help topic after the message (a command-line mistake, not a file's). */
    readonly usageOf?: CommandName | 'main',
  ) {
    super(message);
  }
}

export type CommandName = 'submit' | 'get' | 'zone' | 'redrive';

const EXIT_CODES_TEXT = `Exit codes:
  0    SUCCEEDED (submit --wait), accepted (submit without --wait), the task was found (get)
  1    usage error, request file unreadable or not JSON, bad emulator file or port, no AWS
       credentials or region (--sigv4, redrive)
  2    the task ended FAILED
  3    the task ended TIMED_OUT, or --timeout was reached while waiting (the task keeps running)
  4    the API refused the request (4xx): its message names the field or the problem
  5    the API is unreachable or answered 5xx
  130  interrupted (Ctrl-C, SIGINT) at any point; a task already created keeps running
  143  stopped by SIGTERM at any point; a task already created keeps running`;

const CONNECTION_TEXT = `Connection:
  --url URL      the API (default: $${URL_ENV}, else ${DEFAULT_URL})
  --token T      sent as "Authorization: Bearer T" (default: $${TOKEN_ENV}, better: a token on the
                 command line shows in ps); what \`npm start\` checks when LOCAL_API_TOKEN is set
  --sigv4        sign requests with AWS SigV4 (service execute-api), as the deployed API's IAM
                 authorization requires; automatic for an https://{id}.execute-api.{region}.amazonaws.com
                 URL. Credentials: the AWS default chain (AWS_ACCESS_KEY_ID..., AWS_PROFILE, SSO,
                 an attached role). Not with --token (both are the Authorization header)
  --region R     the API's region for --sigv4 (default: the execute-api URL's, else $AWS_REGION,
                 $AWS_DEFAULT_REGION, the profile's)`;

export const USAGE: Record<'main' | CommandName, string> = {
  main: `Usage: ${PROGRAM} <command> [options]

Run WeCom zone analysis-program tasks through the wecom-zone-tasks API.

Commands:
  submit <request.json|->   create a task from a create_program_task request; --wait follows it to the end
  get <jobid>               show a task
  zone                      run the zone emulator alone, over HTTP
  redrive <kind>            move a dead-letter queue's messages back to their consumer (AWS)
  help [command]            this text, or a command's

Examples:
  ${PROGRAM} submit request.json --wait
  ${PROGRAM} get Yx3abc --json
  ${PROGRAM} zone --archive examples/archive.json --programs examples/programs.json --port 4000

${CONNECTION_TEXT}

${EXIT_CODES_TEXT}
`,
  submit: `Usage: ${PROGRAM} submit <request.json|-> [--wait] [--timeout SECONDS] [--json]
                       [--idempotency-key K] [--url URL] [--token T | --sigv4 [--region R]]

POST the file's JSON (a create_program_task request, optionally with callback_url; "-" reads standard
input) to <url>/tasks, as it is: the API checks it and names the first wrong field.
Without --wait, print the answer (jobid, PENDING, the duplicated msgids the zone dropped) and exit 0.

  --wait                  poll GET /tasks/{jobid} (every second, slowly growing to 5 s) until the task
                          ends; show live progress (status, polls, elapsed) on standard error: one
                          redrawn line on a terminal, a plain line per change otherwise. Then print
                          the task: a summary and response_data, or the JSON with --json
  --timeout SECONDS       with --wait: give up after this long (exit 3); the task keeps running
  --json                  print the API's JSON only (standard output stays machine-readable)
  --idempotency-key K     1-255 visible ASCII characters (default: a fresh UUID). The same key returns
                          the same task, so a retried submit never creates a second one. A 503 (zone
                          busy) or 409 (same key in progress) is retried 3 times with this key (waits
                          of 1-10 s; not when the API asks for more than 30 s).

${CONNECTION_TEXT}

${EXIT_CODES_TEXT}
`,
  get: `Usage: ${PROGRAM} get <jobid> [--json] [--url URL] [--token T | --sigv4 [--region R]]

Print a task: status, polls, times, errcode, fail_list, and response_data pretty-printed.
Exit 0 whatever the task's status (4 for an unknown jobid). A jobid that starts with "-" goes after
"--": ${PROGRAM} get -- -2abc

  --json     print the API's JSON only

${CONNECTION_TEXT}

${EXIT_CODES_TEXT}
`,
  zone: `Usage: ${PROGRAM} zone [--archive FILE] [--programs FILE] [--port N] [--host H]

Run the zone emulator alone over HTTP (as \`npm run zone\`), until Ctrl-C. Point the API at it with
ZONE_BRIDGE_URL=<its url> (npm start, or the deployed functions).

  --archive FILE    the message archive (default: $ZONE_ARCHIVE_FILE, else the sample archive)
  --programs FILE   the programs file (default: $ZONE_PROGRAMS_FILE, else the sample programs)
  --port N          default: $ZONE_PORT, else 4000 (0: any free port)
  --host H          default: $HOST, else 127.0.0.1

The other ZONE_* variables (ZONE_DEBUG, ZONE_PROGRAM_LATENCY_MS, ZONE_FAULT_*, …) apply; see docs/local.md.
Exit 1 when a file, a variable or the port is wrong.
`,
  redrive: `Usage: ${PROGRAM} redrive <poll|create|events> --from DLQ_URL --to QUEUE_URL [--max N]
                        [--region R] [--json]

Move the messages of a dead-letter queue back to a queue whose consumer handles them, once the cause
of the failures is fixed (docs/deploy-and-operate.md "Redrive"). Each dead-letter queue holds one shape; the kind names it:

  poll     PollDeadLetterQueueUrl -> PollQueueUrl: poll messages ({"jobid", "chain"}), as they are
  create   CreateRequestsDeadLetterQueueUrl -> CreateRequestsQueueUrl: create requests, as they are,
           keeping their idempotency key (the idempotency-key attribute, else the message id)
  events   CreateEventsDeadLetterQueueUrl -> CreateRequestsQueueUrl: createFromEvent's failure
           records become create requests (the event's detail), keyed by the event id

A message of another shape is left where it is and counted. Each message is sent, then deleted: an
interruption leaves at most a duplicate, which the consumer's idempotency absorbs. Message bodies are
never printed (create requests carry secret keys).

  --from URL      the dead-letter queue (stack outputs: osls info --verbose)
  --to URL        the queue to move the messages to
  --max N         move at most N messages (default: all)
  --region R      default: the queue URL's region, else $AWS_REGION, $AWS_DEFAULT_REGION, the profile's
  --json          print the counts as JSON

Credentials: the AWS default chain. Exit 0 when every message of the right shape moved; 4 when SQS
refused a call (no such queue, access denied); 5 when SQS is unreachable; 1 without credentials.
`,
};

export interface ConnectionOptions {
  url: string;
  token?: string;
  /** Sign requests with SigV4 (asked for, or an execute-api URL). */
  sigv4: boolean;
  /** For SigV4: given with --region (else the URL's or the default chain's). */
  region?: string;
  json: boolean;
}

export interface SubmitOptions extends ConnectionOptions {
  file: string;
  wait: boolean;
  /** Seconds; undefined waits until the task ends. */
  timeoutSeconds?: number;
  idempotencyKey?: string;
}

export interface GetOptions extends ConnectionOptions {
  jobid: string;
}

export interface RedriveOptions {
  kind: RedriveKind;
  from: string;
  to: string;
  max?: number;
  region?: string;
  json: boolean;
}

export interface ZoneOptions {
  archive?: string;
  programs?: string;
  port?: string;
  host?: string;
}

export type Command =
  | { name: 'help'; topic: 'main' | CommandName }
  | { name: 'submit'; options: SubmitOptions }
  | { name: 'get'; options: GetOptions }
  | { name: 'zone'; options: ZoneOptions }
  | { name: 'redrive'; options: RedriveOptions };

const CONNECTION = {
  url: { type: 'string' },
  token: { type: 'string' },
  sigv4: { type: 'boolean' },
  region: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** An AWS region name (us-east-1, ap-southeast-1, cn-north-1, us-gov-west-1). */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;

function isCommand(word: string | undefined): word is CommandName {
  return word === 'submit' || word === 'get' || word === 'zone' || word === 'redrive';
}

function checkRegion(region: string | undefined, command: CommandName): string | undefined {
  if (region !== undefined && !REGION.test(region))
    throw new UsageError('--region: not an AWS region name (e.g. ap-southeast-1)', command);
  return region;
}

/** parseArgs errors become usage errors (their messages name options, never values). */
function guarded<T>(command: CommandName, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    const dashJobid = command === 'get' && /^Unknown option '-[A-Za-z0-9_-]*'$/.test(message);
    throw new UsageError(
      dashJobid ? `${message}; a jobid that starts with "-" goes after "--": ${PROGRAM} get -- <jobid>` : message,
      command,
    );
  }
}

function connection(
  values: { url?: string; token?: string; sigv4?: boolean; region?: string; json?: boolean },
  env: NodeJS.ProcessEnv,
  command: CommandName,
): ConnectionOptions {
  const raw = values.url ?? (env[URL_ENV] || DEFAULT_URL);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url / ${URL_ENV}: not a URL`, command);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`--url / ${URL_ENV}: must be http:// or https://`, command);
  if (url.username || url.password)
    throw new UsageError(`--url / ${URL_ENV}: credentials in the URL are not supported; use --token`, command);
  const given = values.token ?? (env[TOKEN_ENV] || undefined);
  // A token read from a file (`--token "$(cat f)"` keeps none, `export T=…` from a CRLF file keeps a CR).
  const token = given === undefined ? undefined : given.replace(/[\r\n]+$/, '');
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token))
    throw new UsageError(`--token / ${TOKEN_ENV}: must be visible ASCII characters`, command);
  // The deployed API's own URL always needs a signature; anything else only when asked.
  const sigv4 = values.sigv4 === true || executeApiRegion(url) !== undefined;
  if (sigv4 && token !== undefined) {
    throw new UsageError(
      `--token / ${TOKEN_ENV} and SigV4 (--sigv4, or an execute-api URL) both use the Authorization header: choose one`,
      command,
    );
  }
  const region = checkRegion(values.region, command);
  if (region !== undefined && !sigv4) throw new UsageError('--region: only applies with --sigv4', command);
  if (sigv4 && url.protocol !== 'https:' && !isLoopback(url.hostname)) {
    throw new UsageError(
      '--sigv4: the URL must be https (requests carry secret keys, and a captured signed request can be replayed for 5 minutes)',
      command,
    );
  }
  return { url: url.href.replace(/\/+$/, ''), token, sigv4, region, json: values.json === true };
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}

function onePositional(command: CommandName, positionals: string[], what: string): string {
  if (positionals.length === 0) throw new UsageError(`${command}: missing ${what}`, command);
  if (positionals.length > 1)
    throw new UsageError(`${command}: expected one ${what}, got ${positionals.length} arguments`, command);
  return positionals[0] as string;
}

/** `argv` without the node and script paths. */
export function parseCommand(argv: string[], env: NodeJS.ProcessEnv): Command {
  const [word, ...rest] = argv;
  if (word === undefined) throw new UsageError('a command is required', 'main');
  if (word === 'help' || word === '--help' || word === '-h') {
    const topic = rest[0];
    if (topic === undefined) return { name: 'help', topic: 'main' };
    if (isCommand(topic)) return { name: 'help', topic };
    throw new UsageError(`help: unknown command "${topic.slice(0, 40)}"`, 'main');
  }
  if (!isCommand(word)) throw new UsageError(`unknown command "${word.slice(0, 40)}"`, 'main');

  if (word === 'submit') {
    const { values, positionals } = guarded('submit', () =>
      parseArgs({
        args: rest,
        options: {
          ...CONNECTION,
          wait: { type: 'boolean' },
          timeout: { type: 'string' },
          'idempotency-key': { type: 'string' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) return { name: 'help', topic: 'submit' };
    const file = onePositional('submit', positionals, 'request file (or "-" for standard input)');
    let timeoutSeconds: number | undefined;
    if (values.timeout !== undefined) {
      timeoutSeconds = Number(values.timeout);
      if (String(values.timeout).trim() === '' || !Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
        throw new UsageError('--timeout: must be a number of seconds above 0', 'submit');
      }
      if (!values.wait) throw new UsageError('--timeout: only applies with --wait', 'submit');
    }
    const idempotencyKey = values['idempotency-key'];
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
      throw new UsageError('--idempotency-key: must be 1-255 visible ASCII characters', 'submit');
    }
    return {
      name: 'submit',
      options: {
        ...connection(values, env, 'submit'),
        file,
        wait: values.wait === true,
        timeoutSeconds,
        idempotencyKey,
      },
    };
  }

  if (word === 'get') {
    const { values, positionals } = guarded('get', () =>
      parseArgs({ args: rest, options: CONNECTION, allowPositionals: true, strict: true }),
    );
    if (values.help) return { name: 'help', topic: 'get' };
    const jobid = onePositional('get', positionals, 'jobid');
    if (jobid === '') throw new UsageError('get: the jobid is empty', 'get');
    // The ~form of a location (`/tasks/~…`) names the same task as the jobid it encodes.
    return {
      name: 'get',
      options: {
        ...connection(values, env, 'get'),
        jobid: (jobid.startsWith('~') && jobidFromPathSegment(jobid)) || jobid,
      },
    };
  }

  if (word === 'redrive') {
    const { values, positionals } = guarded('redrive', () =>
      parseArgs({
        args: rest,
        options: {
          from: { type: 'string' },
          to: { type: 'string' },
          max: { type: 'string' },
          region: { type: 'string' },
          json: { type: 'boolean' },
          help: { type: 'boolean', short: 'h' },
        },
        allowPositionals: true,
        strict: true,
      }),
    );
    if (values.help) return { name: 'help', topic: 'redrive' };
    const kind = onePositional('redrive', positionals, 'kind (poll, create or events)');
    if (!(REDRIVE_KINDS as readonly string[]).includes(kind))
      throw new UsageError(
        `redrive: unknown kind "${kind.slice(0, 40)}"; one of ${REDRIVE_KINDS.join(', ')}`,
        'redrive',
      );
    const queueUrl = (option: 'from' | 'to'): string => {
      const value = values[option];
      if (value === undefined) throw new UsageError(`redrive: --${option} QUEUE_URL is required`, 'redrive');
      try {
        const parsed = new URL(value);
        if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new Error('protocol');
      } catch {
        throw new UsageError(
          `--${option}: not a queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>)`,
          'redrive',
        );
      }
      return value;
    };
    const from = queueUrl('from');
    const to = queueUrl('to');
    if (from === to) throw new UsageError('redrive: --from and --to are the same queue', 'redrive');
    let max: number | undefined;
    if (values.max !== undefined) {
      max = Number(values.max);
      if (!Number.isInteger(max) || max < 1) throw new UsageError('--max: must be a whole number above 0', 'redrive');
    }
    return {
      name: 'redrive',
      options: {
        kind: kind as RedriveKind,
        from,
        to,
        max,
        region: checkRegion(values.region, 'redrive'),
        json: values.json === true,
      },
    };
  }

  const { values, positionals } = guarded('zone', () =>
    parseArgs({
      args: rest,
      options: {
        archive: { type: 'string' },
        programs: { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (values.help) return { name: 'help', topic: 'zone' };
  if (positionals.length > 0)
    throw new UsageError(`zone: unexpected argument "${String(positionals[0]).slice(0, 40)}"`, 'zone');
  return {
    name: 'zone',
    options: {
      archive: values.archive,
      programs: values.programs,
      port: values.port,
      host: values.host,
    },
  };
}
