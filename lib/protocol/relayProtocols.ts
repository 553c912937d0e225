/**
 * The input and output protocols of the relay's two abilities, as the WeCom admin console wants them:
 * JSON samples (doc 53337: a document "matches" when each of its keys appears in the sample with a
 * value of the same JSON type; mismatches are 790016 / 790014). There is no wildcard, so each sample
 * declares every key the vendor SDK's request and answer can carry. Generated from the zod schemas
 * of the zone protocol (`zone.ts`), never written by hand: `npm run relay-protocols` writes them to
 * `relay/protocol/`, and a test fails when the committed files drift.
 */
import * as z from 'zod';
import {
  CreateProgramTaskRequestSchema,
  CreateProgramTaskResponseSchema,
  GetProgramTaskResultRequestSchema,
  GetProgramTaskResultResponseSchema,
  ZONE_API,
  type ZoneApiName,
} from './zone.js';

/** The relay's ability ids: `invoke_<api name>`, the convention of WeCom's demo programs (doc 54166). */
export const RELAY_ABILITY: Readonly<Record<ZoneApiName, string>> = {
  [ZONE_API.createProgramTask]: `invoke_${ZONE_API.createProgramTask}`,
  [ZONE_API.getProgramTaskResult]: `invoke_${ZONE_API.getProgramTaskResult}`,
};

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  const?: unknown;
};

/** A sample value of every key a JSON schema allows; strings carry the key's name as a placeholder. */
function sample(schema: JsonSchema, name: string): unknown {
  const alternatives = schema.anyOf ?? schema.oneOf;
  if (alternatives?.[0]) return sample(alternatives[0], name);
  if (schema.const !== undefined) return schema.const;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object':
      return Object.fromEntries(
        Object.entries(schema.properties ?? {}).map(([key, value]) => [key, sample(value, key)]),
      );
    case 'array':
      return [sample(schema.items ?? {}, name)];
    case 'string':
      return name.toUpperCase();
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      throw new Error(`relay protocol: no sample for ${name} (${JSON.stringify(schema)})`);
  }
}

/** The sample of a zod schema as it is written on the wire (optional and defaulted keys included). */
export function protocolSample(schema: z.ZodType): unknown {
  return sample(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw' }) as JsonSchema, 'value');
}

export interface RelayProtocolFile {
  /** e.g. `invoke_create_program_task.input.json` */
  name: string;
  abilityId: string;
  direction: 'input' | 'output';
  sample: unknown;
}

/** The four files: each ability's input (the SDK request) and output (the SDK answer). */
export function relayProtocolFiles(): RelayProtocolFile[] {
  const pairs: Array<[ZoneApiName, z.ZodType, z.ZodType]> = [
    [ZONE_API.createProgramTask, CreateProgramTaskRequestSchema, CreateProgramTaskResponseSchema],
    [ZONE_API.getProgramTaskResult, GetProgramTaskResultRequestSchema, GetProgramTaskResultResponseSchema],
  ];
  return pairs.flatMap(([api, input, output]) =>
    (['input', 'output'] as const).map((direction) => ({
      name: `${RELAY_ABILITY[api]}.${direction}.json`,
      abilityId: RELAY_ABILITY[api],
      direction,
      sample: protocolSample(direction === 'input' ? input : output),
    })),
  );
}

/** A file's text as committed: two-space JSON and a final newline. */
export function relayProtocolText(file: RelayProtocolFile): string {
  return `${JSON.stringify(file.sample, null, 2)}\n`;
}
