/**
 * The source document's own example request (WeCom doc 53659), verbatim: the sample configuration
 * answers it, the OpenAPI document shows it, the tests and the benchmark send it.
 */
import type { CreateProgramTaskInput } from './zone.js';

export const DOC_EXAMPLE_REQUEST: CreateProgramTaskInput = {
  program_id: 'PROG_ID',
  ability_id: 'ABILITY_ID',
  msg_list: [
    { msgid: 'MSGID1', encrypt_info: { secret_key: 'SECRETKEY1' } },
    { msgid: 'MSGID2', encrypt_info: { secret_key: 'SECRETKEY2' } },
  ],
  debug_info: { chat: 'xxx', chat_content: 'xxx' },
  escape_type: 0,
};
