/**
 * The deployment figures the cost rows depend on, read from `serverless.yml` itself (not a copy):
 * the poller's memory, its event source's batch size, and the poll queue's `maxReceiveCount`. The
 * template's CloudFormation tags (`!Ref`, `!GetAtt`, ...) are read as plain values, and
 * `${self:custom.…}` references are followed into the files `custom` reads (`${file(...)}`).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

type Tree = Record<string, unknown>;

function at(tree: unknown, path: readonly string[]): unknown {
  let node = tree;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Tree)[key];
  }
  return node;
}

/** Follow `${file(./x.json)}` and `${self:a.b.c}` the way the framework does, for the forms this template uses. */
function resolve(value: unknown, template: Tree, root: string): unknown {
  if (typeof value !== 'string') return value;
  const file = /^\$\{file\((.+?)\)\}$/.exec(value);
  if (file?.[1]) return JSON.parse(readFileSync(join(root, file[1]), 'utf8'));
  const self = /^\$\{self:([\w.]+)\}$/.exec(value);
  if (!self?.[1]) return value;
  const path = self[1].split('.');
  // Walk down, resolving each step (custom.schedule is itself a ${file(...)}).
  let node: unknown = template;
  for (const key of path) {
    node = resolve(at(node, [key]), template, root);
    if (node === undefined) throw new Error(`serverless.yml: \${self:${self[1]}} does not resolve`);
  }
  return node;
}

export interface ServerlessSettings {
  /** MB: the pollResult function's memory (its own, else the provider's). */
  pollerMemoryMb: number;
  /** The poll queue event source's batch size. */
  pollBatchSize: number;
  /** The poll queue's redrive policy: receives before a message is dead-lettered. */
  pollQueueMaxReceiveCount: number;
  architecture: string;
  region: string;
}

function asNumber(value: unknown, what: string): number {
  const number = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(number)) throw new Error(`serverless.yml: ${what} is not a number (${String(value)})`);
  return number;
}

export function readServerlessSettings(root: string = ROOT): ServerlessSettings {
  // CloudFormation's short tags (!Ref, !GetAtt …) are unknown to a YAML parser: read as plain values,
  // as test/support/moto.ts reads the same file.
  const template = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'error' }) as Tree;
  const get = (path: string[]) => resolve(at(template, path), template, root);
  const pollEvent = (at(template, ['functions', 'pollResult', 'events']) as Tree[] | undefined)?.find(
    (event) => event.sqs !== undefined,
  )?.sqs as Tree | undefined;
  const region = String(get(['provider', 'region']) ?? '');
  return {
    pollerMemoryMb: asNumber(
      get(['functions', 'pollResult', 'memorySize']) ?? get(['provider', 'memorySize']),
      'pollResult memory',
    ),
    pollBatchSize: asNumber(resolve(pollEvent?.batchSize, template, root), 'pollResult batchSize'),
    pollQueueMaxReceiveCount: asNumber(
      get(['resources', 'Resources', 'PollQueue', 'Properties', 'RedrivePolicy', 'maxReceiveCount']),
      'PollQueue maxReceiveCount',
    ),
    architecture: String(get(['provider', 'architecture']) ?? 'x86_64'),
    // `${opt:region, 'ap-southeast-1'}`: the default is what a plain deploy uses.
    region: /'([a-z0-9-]+)'/.exec(region)?.[1] ?? region,
  };
}
