/**
 * The OpenAPI document: the committed `openapi.json` is what the schemas generate, its shape is what
 * the routes do, `GET /openapi.json` serves it, and real answers of the local stack fit it.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { openApiDocument, openApiJson } from '../../lib/api/openapi.js';
import { CreatedTaskSchema, CreateTaskBodySchema, IDEMPOTENCY_KEY_PATTERN } from '../../lib/api/schemas.js';
import { makeOpenApiHandler } from '../../lib/handlers/openapi.js';
import { ErrorBodySchema } from '../../lib/http/errors.js';
import { createApiServer } from '../../lib/local/apiServer.js';
import { type LocalStack, startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { close, listen } from '../../lib/shared/nodeHttp.js';
import { JobidPathSchema as JobidSchema } from '../../lib/tasks/jobid.js';
import { TaskViewSchema } from '../../lib/tasks/task.js';
import { DOC_EXAMPLE_REQUEST } from '../support/fixtures.js';

const COMMITTED = new URL('../../openapi.json', import.meta.url);
const silent = () => createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** The document as a client reads it: plain JSON. */
const generated = (): JsonObject => JSON.parse(JSON.stringify(openApiDocument())) as JsonObject;

function at(value: Json | undefined, ...path: string[]): Json | undefined {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    current = current[key];
  }
  return current;
}

function object(value: Json | undefined, what: string): JsonObject {
  if (value === null || value === undefined || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${what}: not an object`);
  }
  return value;
}

/** Follows a local `$ref` (`#/components/...`) once. */
function resolve(document: JsonObject, value: Json | undefined): Json | undefined {
  const target = at(value, '$ref');
  if (typeof target !== 'string') return value;
  expect(target.startsWith('#/')).toBe(true);
  return at(document, ...target.slice(2).split('/'));
}

function allRefs(value: Json | undefined, found: string[] = []): string[] {
  if (Array.isArray(value)) for (const item of value) allRefs(item, found);
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key === '$ref' && typeof item === 'string') found.push(item);
      else allRefs(item, found);
    }
  }
  return found;
}

/** The values a JSON Schema allows, when it is an enumeration (`enum`, `const`, or `anyOf` of those). */
function allowedValues(schema: Json | undefined): Json[] {
  const values: Json[] = [];
  const enumeration = at(schema, 'enum');
  if (Array.isArray(enumeration)) values.push(...enumeration);
  const constant = at(schema, 'const');
  if (constant !== undefined) values.push(constant);
  for (const branch of [at(schema, 'anyOf'), at(schema, 'oneOf')]) {
    if (Array.isArray(branch)) for (const item of branch) values.push(...allowedValues(item));
  }
  return values;
}

/** A body fits a component's top level: every required field present, no field it does not declare. */
function expectFitsComponent(document: JsonObject, component: string, body: unknown) {
  const schema = object(at(document, 'components', 'schemas', component), component);
  const fields = Object.keys(object(body as Json, `${component} body`));
  const required = (at(schema, 'required') ?? []) as string[];
  const properties = Object.keys(object(at(schema, 'properties'), `${component}.properties`));
  expect(fields, `${component}: required fields`).toEqual(expect.arrayContaining(required));
  if (at(schema, 'additionalProperties') === false) {
    expect(properties, `${component}: undeclared fields`).toEqual(expect.arrayContaining(fields));
  }
}

/** The zod schema each component is generated from: a real or example body must parse with it, strictly. */
const SOURCES: Record<string, z.ZodObject> = {
  CreateTaskBody: CreateTaskBodySchema,
  CreatedTask: CreatedTaskSchema,
  TaskView: TaskViewSchema,
  ErrorBody: ErrorBodySchema,
};

function expectConforms(document: JsonObject, component: string, body: unknown) {
  const source = SOURCES[component];
  if (!source) throw new Error(`no source schema for ${component}`);
  const parsed = z.strictObject(source.shape).safeParse(body);
  expect(parsed.success ? [] : parsed.error.issues, `${component}: ${JSON.stringify(body)}`).toEqual([]);
  expectFitsComponent(document, component, body);
}

describe('openapi.json', () => {
  it('is the document the schemas generate (else run `npm run openapi`)', () => {
    let committed: unknown;
    try {
      committed = JSON.parse(readFileSync(COMMITTED, 'utf8'));
    } catch (error) {
      expect.fail(
        `openapi.json is missing or not JSON (${(error as Error).message}): run \`npm run openapi\` and commit it`,
      );
    }
    expect(
      committed,
      'openapi.json does not match the zod schemas of the API: run `npm run openapi` and commit openapi.json',
    ).toEqual(generated());
  });

  it('is written pretty-printed with a trailing newline', () => {
    const text = openApiJson();
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toMatch(/^ {2}"openapi": "3\.1\.0",$/);
  });
});

describe('the OpenAPI document', () => {
  const document = generated();
  const post = object(at(document, 'paths', '/tasks', 'post'), 'POST /tasks');
  const get = object(at(document, 'paths', '/tasks/{jobid}', 'get'), 'GET /tasks/{jobid}');

  it('is OpenAPI 3.1 with both task routes and the document route', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(object(document.paths, 'paths')).sort()).toEqual(['/openapi.json', '/tasks', '/tasks/{jobid}']);
    expect(Object.keys(object(at(document, 'paths', '/tasks'), '/tasks'))).toEqual(['post']);
    expect(Object.keys(object(at(document, 'paths', '/tasks/{jobid}'), '/tasks/{jobid}'))).toEqual(['get']);
    expect(Object.keys(object(at(document, 'paths', '/openapi.json'), '/openapi.json'))).toEqual(['get']);
  });

  it('has every $ref resolve', () => {
    const refs = allRefs(document);
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of refs) expect(resolve(document, { $ref: ref }), ref).toBeDefined();
  });

  it('takes the create_program_task body: required fields, at most 1000 messages, escape_type 0 or 1, nothing unknown', () => {
    const body = resolve(document, at(post, 'requestBody', 'content', 'application/json', 'schema'));
    expect(at(post, 'requestBody', 'required')).toBe(true);
    expect(at(body, 'type')).toBe('object');
    expect(at(body, 'required')).toEqual(expect.arrayContaining(['program_id', 'ability_id', 'msg_list']));
    expect(at(body, 'required')).not.toContain('escape_type');
    expect(at(body, 'additionalProperties')).toBe(false);
    expect(at(body, 'properties', 'msg_list', 'maxItems')).toBe(1000);
    expect(at(body, 'properties', 'msg_list', 'minItems')).toBe(1);
    expect(allowedValues(at(body, 'properties', 'escape_type')).sort()).toEqual([0, 1]);
    expect(at(body, 'properties', 'escape_type', 'default')).toBe(0);
    const message = resolve(document, at(body, 'properties', 'msg_list', 'items'));
    expect(at(message, 'required')).toEqual(['msgid', 'encrypt_info']);
    expect(at(message, 'properties', 'encrypt_info', 'required')).toEqual(['secret_key']);
  });

  it('answers every status of the error table in docs/api.md, each error with the error body', () => {
    const statuses = (operation: JsonObject) => Object.keys(object(operation.responses, 'responses')).sort();
    expect(statuses(post)).toEqual([
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '415',
      '422',
      '500',
      '502',
      '503',
    ]);
    expect(statuses(get)).toEqual(['200', '400', '401', '404', '500']);
    for (const operation of [post, get]) {
      for (const [status, answer] of Object.entries(object(operation.responses, 'responses'))) {
        if (Number(status) < 400) continue;
        expect(at(resolve(document, answer), 'content', 'application/json', 'schema'), status).toEqual({
          $ref: '#/components/schemas/ErrorBody',
        });
      }
    }
    expect(
      at(
        resolve(document, at(post, 'responses', '202', 'content', 'application/json', 'schema')),
        'properties',
        'status',
      ),
    ).toEqual({
      type: 'string',
      enum: ['PENDING'],
    });
    expect(Object.keys(object(at(post, 'responses', '202', 'headers'), '202 headers')).sort()).toEqual([
      'idempotent-replayed',
      'location',
    ]);
    for (const status of ['409', '503'])
      expect(at(post, 'responses', status, 'headers', 'retry-after'), status).toBeDefined();
    const error = object(at(document, 'components', 'schemas', 'ErrorBody'), 'ErrorBody');
    expect(at(error, 'required')).toEqual(['error', 'message']);
    expect(Object.keys(object(error.properties, 'ErrorBody.properties')).sort()).toEqual([
      'corp_id',
      'errcode',
      'errmsg',
      'error',
      'issues',
      'jobid',
      'message',
    ]);
  });

  it('takes the Idempotency-Key header and the jobid path parameter with the patterns the handlers check', () => {
    const [idempotency] = (post.parameters as Json[]).map((parameter) => resolve(document, parameter));
    expect(at(idempotency, 'name')).toBe('Idempotency-Key');
    expect(at(idempotency, 'in')).toBe('header');
    expect(at(idempotency, 'required')).toBe(false);
    const keyPattern = new RegExp(at(idempotency, 'schema', 'pattern') as string);
    for (const key of ['k', 'a'.repeat(255), 'a'.repeat(256), 'with space', 'é', '']) {
      expect(keyPattern.test(key), key).toBe(IDEMPOTENCY_KEY_PATTERN.test(key));
    }

    const [jobid] = (get.parameters as Json[]).map((parameter) => resolve(document, parameter));
    expect(at(jobid, 'name')).toBe('jobid');
    expect(at(jobid, 'in')).toBe('path');
    expect(at(jobid, 'required')).toBe(true);
    const jobidPattern = new RegExp(at(jobid, 'schema', 'pattern') as string);
    for (const candidate of ['Yx3kqJ0b8Qm2c1Vf9Lr7TtZa', 'a_b-C', 'x'.repeat(128), 'x'.repeat(129), 'a/b', 'a.b', '']) {
      expect(jobidPattern.test(candidate), candidate).toBe(JobidSchema.safeParse(candidate).success);
    }
  });

  it('asks for SigV4 on the task routes, and nothing for the document', () => {
    expect(document.security).toEqual([{ awsSigv4: [] }]);
    expect(at(document, 'components', 'securitySchemes', 'awsSigv4')).toMatchObject({
      type: 'apiKey',
      in: 'header',
      name: 'Authorization',
      'x-amazon-apigateway-authtype': 'awsSigv4',
      description: expect.stringContaining('Signature Version 4'),
    });
    expect(at(document, 'paths', '/openapi.json', 'get', 'security')).toEqual([]);
  });

  it('has examples that its source schemas accept', () => {
    let checked = 0;
    const contents: [string, Json | undefined][] = [['request', at(post, 'requestBody', 'content')]];
    for (const operation of [post, get]) {
      for (const [status, answer] of Object.entries(object(operation.responses, 'responses'))) {
        contents.push([`${String(operation.operationId)} ${status}`, at(resolve(document, answer), 'content')]);
      }
    }
    for (const [where, content] of contents) {
      const media = at(content, 'application/json');
      const component = (at(media, 'schema', '$ref') as string).split('/').pop() ?? '';
      const examples = Object.values(object(at(media, 'examples'), `${where} examples`));
      expect(examples.length, where).toBeGreaterThan(0);
      for (const example of examples) {
        expectConforms(document, component, at(example, 'value'));
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });
});

describe('GET /openapi.json', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createApiServer({
      routes: [{ method: 'GET', path: '/openapi.json', handler: makeOpenApiHandler({ logger: silent() }) }],
    });
    url = await listen(server, 0, '127.0.0.1');
  });
  afterAll(() => close(server));

  it('answers 200 with the document as JSON', async () => {
    const response = await fetch(`${url}/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(await response.json()).toEqual(generated());
  });
});

describe('real answers of the local stack fit the document', () => {
  const document = generated();
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ logger: silent(), sweepEverySeconds: 0 });
  });
  afterAll(() => stack.stop());

  const send = async (path: string, init?: RequestInit) => {
    const response = await fetch(`${stack.url}${path}`, init);
    return { status: response.status, headers: response.headers, body: (await response.json()) as unknown };
  };
  const postJson = (body: unknown, headers: Record<string, string> = {}) =>
    send('/tasks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });

  it('the document example: 202 CreatedTask, then 200 TaskView', async () => {
    expectConforms(document, 'CreateTaskBody', DOC_EXAMPLE_REQUEST);
    const created = await postJson(DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'openapi-test-1' });
    expect(created.status).toBe(202);
    expectConforms(document, 'CreatedTask', created.body);
    const { jobid } = created.body as { jobid: string };
    expect(created.headers.get('location')).toBe(`/tasks/${jobid}`);
    expect(JobidSchema.safeParse(jobid).success).toBe(true);

    const replayed = await postJson(DOC_EXAMPLE_REQUEST, { 'idempotency-key': 'openapi-test-1' });
    expect(replayed.status).toBe(202);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');

    const task = await send(`/tasks/${jobid}`);
    expect(task.status).toBe(200);
    expectConforms(document, 'TaskView', task.body);
  });

  it('errors: 400 with issues, 400 bad jobid, 404, 415 and 422 fit ErrorBody', async () => {
    const invalid = await postJson({
      ...DOC_EXAMPLE_REQUEST,
      msg_list: [{ msgid: 'M', encrypt_info: { secret_key: '' } }],
      msglist: [],
    });
    expect(invalid.status).toBe(400);
    expectConforms(document, 'ErrorBody', invalid.body);
    expect((invalid.body as { issues: unknown[] }).issues.length).toBeGreaterThan(1);

    const badJobid = await send('/tasks/not.a.jobid');
    expect(badJobid.status).toBe(400);
    expectConforms(document, 'ErrorBody', badJobid.body);

    const unknown = await send('/tasks/no-such-job');
    expect(unknown.status).toBe(404);
    expectConforms(document, 'ErrorBody', unknown.body);

    const media = await send('/tasks', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    expect(media.status).toBe(415);
    expectConforms(document, 'ErrorBody', media.body);

    const rejected = await postJson({ ...DOC_EXAMPLE_REQUEST, program_id: 'NO_SUCH_PROGRAM' });
    expect(rejected.status).toBe(422);
    expectConforms(document, 'ErrorBody', rejected.body);
    expect(rejected.body).toMatchObject({
      error: 'zone_rejected',
      errcode: expect.any(Number),
      errmsg: expect.any(String),
    });
  });
});
