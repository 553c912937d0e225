/**
 * The path of a zod issue as a reader writes it, for error messages that name the offending field.
 * Shared by the API's request validation (`lib/http/request.ts`) and the emulator's settings files
 * (`lib/zone/emulator/settings.ts`), so it lives below both.
 */

/** `msg_list.3.encrypt_info.secret_key` → `msg_list[3].encrypt_info.secret_key` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(body)' : out;
}
