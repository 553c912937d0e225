/**
 * The API's OpenAPI 3.1 document, generated from the zod schemas that validate and shape the API
 * (`z.toJSONSchema`), so the document cannot say something the code does not do. The committed
 * `openapi.json` is this document; `npm run openapi` regenerates it and a unit test fails when the two
 * drift. `GET /openapi.json` serves it.
 */
import * as z from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { type ErrorBody, ErrorBodySchema, ErrorIssueSchema } from '../http/errors.js';
import { ERRCODE } from '../protocol/errcodes.js';
import { DOC_EXAMPLE_REQUEST } from '../protocol/examples.js';
import { type CreateProgramTaskInput, DebugInfoSchema, MessageRefSchema } from '../protocol/zone.js';
import { JobidPathSchema } from '../tasks/jobid.js';
import {
  FailedMessageSchema,
  type SubmittedTask,
  TaskStatusSchema,
  type TaskView,
  TaskViewSchema,
} from '../tasks/task.js';
import { CreatedTaskSchema, CreateTaskBodySchema, IdempotencyKeySchema } from './schemas.js';

export const OPENAPI_VERSION = '3.1.0';

/** Response headers. */
const LocationSchema = z.string();
const IdempotentReplayedSchema = z.literal('true');
const RetryAfterSchema = z.string().regex(/^[0-9]+$/);
/** What `GET /openapi.json` answers: this document. */
const OpenApiDocumentSchema = z.looseObject({ openapi: z.literal(OPENAPI_VERSION) });

type JsonSchema = z.core.JSONSchema.BaseSchema;
type Io = 'input' | 'output';
type ComponentMeta = { id: string; description?: string };

const SCHEMA_REF = (id: string) => `#/components/schemas/${id}`;
const ref = (id: string) => ({ $ref: SCHEMA_REF(id) });

/** A component or inline schema: no `$schema`/`$id` (the document's dialect is JSON Schema 2020-12 already). */
function clean(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema;
  return rest;
}

function jsonSchema(schema: z.ZodType, io: Io = 'output'): JsonSchema {
  return clean(z.toJSONSchema(schema, { io }));
}

/**
 * Components from registries: a schema registered here becomes `#/components/schemas/<id>` wherever
 * it is used. Requests are read as `input` (a field with a default is optional), answers as `output`.
 */
function componentSchemas(io: Io, entries: [z.ZodType, ComponentMeta][]): Record<string, JsonSchema> {
  const registry = z.registry<{ id: string }>();
  for (const [schema, { id }] of entries) registry.add(schema, { id });
  // Field metadata (`.describe()`, `.meta()`) still comes from zod's global registry, the default.
  const { schemas } = z.toJSONSchema(registry, { io, uri: SCHEMA_REF });
  // `__shared` would hold `$defs` that no component owns (a cycle): none here, and the refs would dangle.
  if ('__shared' in schemas) throw new Error('openapi: a component needs shared $defs; register the schema it reuses');
  return Object.fromEntries(
    entries.map(([, { id, description }]) => {
      const schema = schemas[id];
      if (!schema) throw new Error(`openapi: no schema emitted for ${id}`);
      return [id, description === undefined ? clean(schema) : { description, ...clean(schema) }];
    }),
  );
}

/** The source document's own example request (WeCom doc 53659). */
const EXAMPLE_REQUEST: CreateProgramTaskInput = DOC_EXAMPLE_REQUEST;
const EXAMPLE_JOBID = 'Yx3kqJ0b8Qm2c1Vf9Lr7TtZa';
const EXAMPLE_CREATED: SubmittedTask = { jobid: EXAMPLE_JOBID, status: 'PENDING', fail_list: [] };
const EXAMPLE_CREATED_WITH_DUPLICATE: SubmittedTask = {
  jobid: EXAMPLE_JOBID,
  status: 'PENDING',
  fail_list: [{ errcode: ERRCODE.msgidDuplicated, errmsg: 'msgid duplicated', msgid: 'MSGID2' }],
};
const EXAMPLE_PENDING: TaskView = {
  jobid: EXAMPLE_JOBID,
  status: 'PENDING',
  program_id: 'PROG_ID',
  ability_id: 'ABILITY_ID',
  attempts: 1,
  created_at: '2026-11-26T08:00:00.000Z',
  updated_at: '2026-11-26T08:00:02.000Z',
  completed_at: null,
  errcode: null,
  errmsg: null,
  response_errcode: null,
  response_data: null,
  fail_list: [],
};
const EXAMPLE_SUCCEEDED: TaskView = {
  ...EXAMPLE_PENDING,
  status: 'SUCCEEDED',
  attempts: 2,
  updated_at: '2026-11-26T08:00:04.000Z',
  completed_at: '2026-11-26T08:00:04.000Z',
  response_errcode: 0,
  response_data: '{"avg_reply_time":2,"negative_feedback_cnt":0}',
};

/** Example answers, by route and status; the unit test parses each with its source schema. */
export const EXAMPLES = {
  request: EXAMPLE_REQUEST,
  created: { noDuplicates: EXAMPLE_CREATED, withDuplicate: EXAMPLE_CREATED_WITH_DUPLICATE },
  task: { pending: EXAMPLE_PENDING, succeeded: EXAMPLE_SUCCEEDED },
  errors: {
    invalid_json: { error: 'invalid_json', message: 'the request body is not valid JSON' },
    invalid_encoding: { error: 'invalid_encoding', message: 'the request body is not valid UTF-8' },
    invalid_request: {
      error: 'invalid_request',
      message: 'msg_list[1].encrypt_info.secret_key: must be a non-empty string',
      issues: [{ path: 'msg_list[1].encrypt_info.secret_key', message: 'must be a non-empty string' }],
    },
    invalid_idempotency_key: {
      error: 'invalid_request',
      message: 'Idempotency-Key: must be 1-255 visible ASCII characters',
    },
    invalid_jobid: {
      error: 'invalid_request',
      message:
        'jobid: is not a jobid in a path: use the location POST /tasks answered (A-Z a-z 0-9 _ - as they are; any other jobid as ~ followed by the base64url of its UTF-8 bytes)',
    },
    repeated_header: {
      error: 'invalid_request',
      message:
        'Idempotency-Key: sent more than once, or holds a comma; send it once, without commas (a repeated header arrives joined with ",", which is ambiguous)',
    },
    task_too_large: {
      error: 'task_too_large',
      message:
        "msg_list: this task's record could need 658411 bytes (its ids and one fail_list entry per message), more than the 334464 a task record may use (DynamoDB's 400 KB item limit, less 65536 for the result): use shorter ids or fewer messages per task",
    },
    corp_required: {
      error: 'corp_required',
      message: 'corp_id: required: this deployment serves several corps; name the corp the task is for',
    },
    unknown_corp: {
      error: 'unknown_corp',
      message: 'corp_id: corp wwa1b2c3d4e5f60009 is not served by this deployment (no credentials for it)',
      corp_id: 'wwa1b2c3d4e5f60009',
    },
    corp_deauthorised: {
      error: 'corp_deauthorised',
      message:
        'corp_id: corp wwa1b2c3d4e5f60004 cancelled its authorisation of the app (cancel_auth); its tasks are refused',
      corp_id: 'wwa1b2c3d4e5f60004',
    },
    unauthorized: { error: 'unauthorized', message: 'a valid bearer token is required' },
    not_found: { error: 'not_found', message: `no task with jobid ${EXAMPLE_JOBID}` },
    idempotency_in_progress: {
      error: 'idempotency_in_progress',
      message: 'a request with this Idempotency-Key is still in progress; retry shortly',
    },
    payload_too_large: { error: 'payload_too_large', message: 'the body exceeds 10485760 bytes' },
    unsupported_media_type: {
      error: 'unsupported_media_type',
      message: 'content-type must be application/json, got text/plain',
    },
    idempotency_key_reused: {
      error: 'idempotency_key_reused',
      message: 'Idempotency-Key: the Idempotency-Key was used with a different request',
    },
    zone_rejected: {
      error: 'zone_rejected',
      message: 'the zone rejected the task: program PROG_X not found',
      errcode: ERRCODE.programNotFound,
      errmsg: 'program PROG_X not found',
    },
    zone_unavailable: {
      error: 'zone_unavailable',
      message: 'the zone is busy or unreachable; nothing was created; retry later',
      errcode: ERRCODE.systemBusy,
    },
    budget_spent: {
      error: 'budget_spent',
      message:
        "this deployment's call budget for the corp is spent (BUDGET_PER_MINUTE / BUDGET_PER_HOUR); nothing was created; retry in 41 s",
    },
    zone_rate_limited: {
      error: 'zone_rate_limited',
      message:
        'WeCom says the corp is over its call limit (45009); nothing was created; the corp backs off for a minute: retry in 60 s',
      errcode: ERRCODE.frequencyLimit,
    },
    zone_misconfigured: {
      error: 'zone_misconfigured',
      message:
        "create_program_task: WeCom answered 790016 for relay ability invoke_create_program_task: the request does not match the ability's input protocol; set the input protocol of ability invoke_create_program_task in the admin console to relay/protocol/invoke_create_program_task.input.json; nothing was created",
      errcode: 790_016,
    },
    zone_outcome_unknown: {
      error: 'zone_outcome_unknown',
      message:
        'the call to the zone failed after it was sent: the zone may have created the task, which is not tracked here; submitting again creates another task',
      errcode: 710_675,
    },
    task_not_recorded: {
      error: 'task_not_recorded',
      message: `the zone created task ${EXAMPLE_JOBID}, but it could not be recorded here (the task store failed: ProvisionedThroughputExceededException); it is not tracked or polled, and submitting again creates another zone task`,
      jobid: EXAMPLE_JOBID,
    },
    internal_error: {
      error: 'internal_error',
      message: 'the request could not be completed (an internal error); it created nothing, so it is safe to retry',
    },
  },
} satisfies {
  request: CreateProgramTaskInput;
  created: Record<string, SubmittedTask>;
  task: Record<string, TaskView>;
  errors: Record<string, ErrorBody>;
};
type ErrorExample = keyof typeof EXAMPLES.errors;

const JSON_TYPE = 'application/json';

function errorAnswer(description: string, examples: ErrorExample[], headers?: Record<string, unknown>) {
  return {
    description,
    ...(headers ? { headers } : {}),
    content: {
      [JSON_TYPE]: {
        schema: ref('ErrorBody'),
        examples: Object.fromEntries(examples.map((name) => [name, { value: EXAMPLES.errors[name] }])),
      },
    },
  };
}

const RETRY_AFTER = { $ref: '#/components/headers/RetryAfter' };

/** The OpenAPI 3.1 document of the HTTP API. A new object on every call. */
export function openApiDocument() {
  return {
    openapi: OPENAPI_VERSION,
    info: {
      title: 'wecom-zone-tasks',
      version: packageJson.version,
      summary: 'Run WeCom Data & Intelligence Zone analysis-program tasks asynchronously.',
      description:
        '`POST /tasks` creates a task with `create_program_task` (WeCom doc 53659) and answers at once; ' +
        'a poller collects its result with `get_program_task_result`; `GET /tasks/{jobid}` reads it. ' +
        'Errors are JSON `{error, message, ...}`: `error` is a stable code, `message` names the first offending field, never a value.',
      license: { name: packageJson.license, identifier: packageJson.license },
    },
    servers: [
      {
        url: 'https://{apiId}.execute-api.{region}.amazonaws.com',
        description: 'The HTTP API on AWS (`npx osls info --stage <stage>` prints it).',
        variables: { apiId: { default: 'API_ID' }, region: { default: 'ap-east-1' } },
      },
      { url: 'http://127.0.0.1:3000', description: '`npm start`: the whole flow locally, with the zone emulator.' },
    ],
    security: [{ awsSigv4: [] }],
    tags: [{ name: 'tasks', description: 'Zone analysis-program tasks' }],
    paths: {
      '/tasks': {
        post: {
          operationId: 'createTask',
          tags: ['tasks'],
          summary: 'Create a zone analysis-program task',
          description:
            'The body is a `create_program_task` request (WeCom doc 53659), as `CreateTaskBody` defines it; unknown top-level fields are refused. ' +
            'Answers 202 as soon as the zone created the task; poll `GET /tasks/{jobid}` (the `location` header) for the result. ' +
            '`fail_list` holds the duplicated msgids the zone dropped, without their `secret_key`.',
          parameters: [{ $ref: '#/components/parameters/IdempotencyKey' }],
          requestBody: {
            required: true,
            content: {
              [JSON_TYPE]: { schema: ref('CreateTaskBody'), examples: { document: { value: EXAMPLES.request } } },
            },
          },
          responses: {
            '202': {
              description: 'The zone created the task; it is PENDING.',
              headers: {
                location: { $ref: '#/components/headers/Location' },
                'idempotent-replayed': { $ref: '#/components/headers/IdempotentReplayed' },
              },
              content: {
                [JSON_TYPE]: {
                  schema: ref('CreatedTask'),
                  examples: {
                    noDuplicates: { value: EXAMPLES.created.noDuplicates },
                    withDuplicate: { value: EXAMPLES.created.withDuplicate },
                  },
                },
              },
            },
            '400': errorAnswer(
              '`invalid_json` / `invalid_encoding`: the body is empty, not JSON, or not UTF-8. ' +
                '`invalid_request`: a field breaks the protocol (`message` names the first, `issues` lists them all), ' +
                'an unknown top-level field, a malformed `Idempotency-Key`, or a header sent twice (API Gateway joins repeats with ","). ' +
                '`corp_required`: the deployment serves several corps and the request names none (docs/many-corps.md).',
              [
                'invalid_json',
                'invalid_encoding',
                'invalid_request',
                'invalid_idempotency_key',
                'repeated_header',
                'corp_required',
              ],
            ),
            '401': { $ref: '#/components/responses/Unauthorized' },
            '403': errorAnswer(
              '`corp_deauthorised`: the corp cancelled its authorisation of the app (`cancel_auth`); nothing was created.',
              ['corp_deauthorised'],
            ),
            '404': errorAnswer(
              '`unknown_corp`: the deployment holds no credentials for `corp_id`; nothing was created.',
              ['unknown_corp'],
            ),
            '409': errorAnswer(
              '`idempotency_in_progress`: the first request with this `Idempotency-Key` is still running after 10 s.',
              ['idempotency_in_progress'],
              { 'retry-after': RETRY_AFTER },
            ),
            '413': errorAnswer(
              "`payload_too_large`: the body is over 6 MB (Lambda's synchronous payload limit). " +
                'On AWS, API Gateway answers this itself, with its own body `{"message": ...}`. ' +
                "`task_too_large`: the task's record could outgrow DynamoDB's 400 KB item limit (its ids, one fail_list entry per " +
                'message, room for the result); refused before the zone is called, so nothing was created.',
              ['payload_too_large', 'task_too_large'],
            ),
            '415': errorAnswer('`unsupported_media_type`: a content type other than JSON.', ['unsupported_media_type']),
            '422': errorAnswer(
              '`idempotency_key_reused`: the `Idempotency-Key` was used with a different request. ' +
                "`zone_rejected`: the zone refused the task; `errcode`/`errmsg` are the zone's " +
                '(unknown program 800001, ability 710636, input protocol mismatch 790016, ...).',
              ['idempotency_key_reused', 'zone_rejected'],
            ),
            '500': { $ref: '#/components/responses/InternalError' },
            '502': errorAnswer(
              '`zone_outcome_unknown`: the call to the zone failed after it was sent (a timeout, a broken answer): the zone ' +
                'may have created the task, which this service cannot track. `task_not_recorded`: the zone created the task ' +
                '(`jobid`), but its record could not be written: it is not tracked. Neither is to be retried blindly: a retry ' +
                'creates a second task at the zone; a retry with the same `Idempotency-Key` gets the same answer.',
              ['zone_outcome_unknown', 'task_not_recorded'],
            ),
            '503': errorAnswer(
              'Nothing was created; retry after `retry-after`. `zone_unavailable`: the zone is busy (-1; already retried twice ' +
                'with backoff) or could not be reached before the request was sent. `zone_rate_limited`: WeCom answered ' +
                "45009 / 45033 for the corp (now or moments ago): the corp backs off for a minute. `budget_spent`: this deployment's " +
                'own call budget for the corp (`BUDGET_PER_MINUTE` / `BUDGET_PER_HOUR`) is spent. `zone_misconfigured`: the ' +
                "deployment's zone settings are wrong (credentials, relay program, ability, protocol, API permission, " +
                'trusted IPs): retrying will not help until it is fixed; the message says what to fix.',
              ['zone_unavailable', 'zone_rate_limited', 'budget_spent', 'zone_misconfigured'],
              { 'retry-after': RETRY_AFTER },
            ),
          },
        },
      },
      '/tasks/{jobid}': {
        get: {
          operationId: 'getTask',
          tags: ['tasks'],
          summary: "A task's status and result",
          description:
            '`status` is PENDING, SUCCEEDED (the program reported errcode 0), FAILED (the program reported another errcode, in ' +
            '`response_errcode`; or the zone ended the task, in `errcode`/`errmsg`) or TIMED_OUT. `response_data` is the ' +
            "program's output as the zone returned it: a JSON string in the ability's output protocol. `fail_list` lists the " +
            'duplicates dropped at creation, then the messages the zone could not use.',
          parameters: [{ $ref: '#/components/parameters/Jobid' }],
          responses: {
            '200': {
              description: "The task's view.",
              content: {
                [JSON_TYPE]: {
                  schema: ref('TaskView'),
                  examples: {
                    pending: { value: EXAMPLES.task.pending },
                    succeeded: { value: EXAMPLES.task.succeeded },
                  },
                },
              },
            },
            '400': errorAnswer('`invalid_request`: the path segment is not a jobid in one of its two forms.', [
              'invalid_jobid',
            ]),
            '401': { $ref: '#/components/responses/Unauthorized' },
            '404': errorAnswer('`not_found`: no task with this jobid.', ['not_found']),
            '500': { $ref: '#/components/responses/InternalError' },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'getOpenApiDocument',
          summary: 'This document',
          security: [],
          responses: {
            '200': {
              description: 'The OpenAPI document of this API.',
              content: { [JSON_TYPE]: { schema: jsonSchema(OpenApiDocumentSchema) } },
            },
          },
        },
      },
    },
    components: {
      schemas: {
        ...componentSchemas('input', [
          [
            CreateTaskBodySchema,
            { id: 'CreateTaskBody', description: 'The body of `POST /tasks`; unknown top-level fields are refused.' },
          ],
          [MessageRefSchema, { id: 'MessageRef', description: 'A message of the archive and the key to decrypt it.' }],
          [
            DebugInfoSchema,
            { id: 'DebugInfo', description: 'Debug mode only: replaces `{chat}` and `{chatcontent}`.' },
          ],
        ]),
        ...componentSchemas('output', [
          [CreatedTaskSchema, { id: 'CreatedTask', description: 'The 202 answer of `POST /tasks`.' }],
          [TaskViewSchema, { id: 'TaskView', description: 'What `GET /tasks/{jobid}` answers.' }],
          [TaskStatusSchema, { id: 'TaskStatus' }],
          [
            FailedMessageSchema,
            { id: 'FailedMessage', description: 'A message the zone did not use, without its key.' },
          ],
          [ErrorBodySchema, { id: 'ErrorBody', description: 'Every error answer.' }],
          [
            ErrorIssueSchema,
            {
              id: 'ErrorIssue',
              description: 'Where in the body (`msg_list[3].encrypt_info.secret_key`), and the problem.',
            },
          ],
        ]),
      },
      parameters: {
        IdempotencyKey: {
          name: 'Idempotency-Key',
          in: 'header',
          required: false,
          description:
            'Makes retries safe: the same key returns the same jobid (`idempotent-replayed: true`) and the zone creates one task, ' +
            'also when the requests race.',
          schema: jsonSchema(IdempotencyKeySchema, 'input'),
        },
        Jobid: {
          name: 'jobid',
          in: 'path',
          required: true,
          description:
            'The task, as the `location` of `POST /tasks` writes it: a jobid of `A-Z a-z 0-9 _ -` as it is, any other jobid ' +
            "(the zone's are opaque: `+ / =`, long ones) as `~` followed by the base64url of its UTF-8 bytes.",
          schema: jsonSchema(JobidPathSchema, 'input'),
        },
      },
      headers: {
        Location: {
          description: 'The task: `/tasks/{jobid}`, the jobid in its path form.',
          schema: jsonSchema(LocationSchema),
        },
        IdempotentReplayed: {
          description: 'Present when this answer replays the first request with the same `Idempotency-Key`.',
          schema: jsonSchema(IdempotentReplayedSchema),
        },
        RetryAfter: { description: 'Seconds to wait before retrying.', schema: jsonSchema(RetryAfterSchema) },
      },
      responses: {
        Unauthorized: errorAnswer(
          '`unauthorized`: local server only (`npm start` with `LOCAL_API_TOKEN` set), when the bearer token is missing or wrong. ' +
            'On AWS, API Gateway refuses unsigned requests itself (403, its own body).',
          ['unauthorized'],
        ),
        InternalError: errorAnswer('`internal_error`: an unexpected failure; nothing is echoed.', ['internal_error']),
      },
      securitySchemes: {
        awsSigv4: {
          type: 'apiKey',
          name: 'Authorization',
          in: 'header',
          'x-amazon-apigateway-authtype': 'awsSigv4',
          description:
            'AWS Signature Version 4 (API Gateway IAM authorization, `authorizer: type: aws_iam`): sign every request ' +
            '(e.g. `aws4fetch`, `awscurl`, `@smithy/signature-v4`) with credentials allowed `execute-api:Invoke` on the API. ' +
            'OpenAPI has no SigV4 scheme, hence `apiKey` on `Authorization` with the API Gateway extension. ' +
            'The local server (`npm start`) has no IAM: with `LOCAL_API_TOKEN` set it requires `Authorization: Bearer <token>` instead.',
        },
      },
    },
  };
}

/** The committed file's text: 2-space indent, trailing newline. */
export function openApiJson(): string {
  return `${JSON.stringify(openApiDocument(), null, 2)}\n`;
}
