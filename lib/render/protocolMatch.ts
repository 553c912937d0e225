/**
 * "Match" between a document and an ability's protocol example (spec section 4): every key of the
 * document appears in the example with a value of the same JSON type, recursively for objects.
 * The zone answers 790016 when a rendered input does not match, 790014 when an output does not.
 */

type JsonType = 'null' | 'array' | 'object' | 'string' | 'number' | 'boolean';

function jsonType(value: unknown): JsonType | 'other' {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  const type = typeof value;
  return type === 'object' || type === 'string' || type === 'number' || type === 'boolean' ? type : 'other';
}

/** Where a document departs from the protocol example, or undefined when it matches. */
export function protocolMismatch(document: unknown, example: unknown, path = '$'): string | undefined {
  const docType = jsonType(document);
  const exampleType = jsonType(example);
  if (docType !== exampleType) return `${path} is ${docType}, the protocol has ${exampleType}`;
  if (docType !== 'object') return undefined;
  const exampleObject = example as Record<string, unknown>;
  for (const [key, value] of Object.entries(document as Record<string, unknown>)) {
    if (!Object.hasOwn(exampleObject, key)) return `${path}.${key} is not in the protocol`;
    const nested = protocolMismatch(value, exampleObject[key], `${path}.${key}`);
    if (nested) return nested;
  }
  return undefined;
}

/** Parse `text` as JSON and check it against the protocol example; a reason when it fails. */
export function jsonProtocolMismatch(text: string, example: unknown): string | undefined {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return 'not valid JSON';
  }
  return protocolMismatch(document, example);
}
