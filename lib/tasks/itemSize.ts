/**
 * DynamoDB's item size, computed before a write instead of discovered from a failed one. An item
 * holds at most 400 KB: attribute names and values together, strings as UTF-8, numbers about one
 * byte per two significant digits plus one, lists and maps 3 bytes plus 1 per element plus their
 * elements (AWS: DynamoDB Developer Guide, "Item sizes and formats"; "Service, account, and table
 * quotas": "The maximum item size in DynamoDB is 400 KB"). The in-memory stores refuse what DynamoDB
 * would, so `npm start` fails where AWS would, and the code that sizes records is tested everywhere.
 */
import { ItemTooLargeError } from './errors.js';

/** DynamoDB's item limit: 400 KB. */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;

function numberBytes(value: number): number {
  const digits = Math.abs(value).toExponential().replace(/e.*$/, '').replace('.', '').replace(/0+$/, '');
  return Math.ceil(Math.max(1, digits.length) / 2) + 1;
}

/** The size of one attribute value as DynamoDB counts it (undefined: not written). */
export function attributeValueBytes(value: unknown): number {
  if (value === undefined) return 0;
  if (value === null || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') return numberBytes(value);
  if (value instanceof Uint8Array) return value.byteLength;
  if (Array.isArray(value))
    return 3 + value.reduce<number>((sum, element) => sum + 1 + attributeValueBytes(element), 0);
  if (typeof value === 'object') {
    let sum = 3;
    for (const [name, element] of Object.entries(value as Record<string, unknown>)) {
      if (element === undefined) continue;
      sum += 1 + Buffer.byteLength(name, 'utf8') + attributeValueBytes(element);
    }
    return sum;
  }
  return Buffer.byteLength(String(value), 'utf8');
}

/** The size of an item: its attribute names and values (undefined attributes are not written). */
export function itemBytes(item: object): number {
  let sum = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    sum += Buffer.byteLength(name, 'utf8') + attributeValueBytes(value);
  }
  return sum;
}

/** Throws {@link ItemTooLargeError} when DynamoDB would refuse the item. */
export function checkItemSize(item: object): void {
  const bytes = itemBytes(item);
  if (bytes > DYNAMODB_MAX_ITEM_BYTES) throw new ItemTooLargeError(bytes);
}

/** `text` cut to at most `maxBytes` UTF-8 bytes on a character boundary, marked with `…` when cut. */
export function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  const budget = maxBytes - 3; // "…" is 3 bytes
  for (const char of text) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > budget) break;
    out += char;
    bytes += size;
  }
  return `${out}…`;
}
