/**
 * The relay abilities' protocol files (relay/protocol/): generated from the zod schemas, committed,
 * and wide enough for every request we send and every answer the zone and the relay give, checked
 * with the same matcher WeCom's rule (doc 53337) is emulated with.
 */

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SDK_CODE } from '../../lib/protocol/errcodes.js';
import { relayProtocolFiles, relayProtocolText } from '../../lib/protocol/relayProtocols.js';
import { GetProgramTaskResultResponseSchema } from '../../lib/protocol/zone.js';
import { protocolMismatch } from '../../lib/render/protocolMatch.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { RELAY_REFUSED } from '../../lib/zone/wecom/relayTransport.js';
import { DOC_EXAMPLE_REQUEST } from '../support/fixtures.js';

const ROOT = new URL('../../', import.meta.url);
const committed = async (name: string) =>
  JSON.parse(await readFile(new URL(`relay/protocol/${name}`, ROOT), 'utf8')) as unknown;

describe('relay/protocol/*.json', () => {
  it('are exactly what `npm run relay-protocols` generates from the zod schemas', async () => {
    for (const file of relayProtocolFiles()) {
      expect(await readFile(new URL(`relay/protocol/${file.name}`, ROOT), 'utf8'), file.name).toBe(
        relayProtocolText(file),
      );
    }
    // The script's own check agrees (it is what a reviewer runs).
    await expect(
      promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/writeRelayProtocols.ts', '--check'], {
        cwd: ROOT,
      }),
    ).resolves.toBeDefined();
  });

  it('accept every create request the API sends and every answer the zone gives, and the relay its error answers', async () => {
    const createInput = await committed('invoke_create_program_task.input.json');
    const createOutput = await committed('invoke_create_program_task.output.json');
    const resultInput = await committed('invoke_get_program_task_result.input.json');
    const resultOutput = await committed('invoke_get_program_task_result.output.json');
    const emulator = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(0),
      duplicateErrcode: 710613,
    });

    const requests = [
      { ...DOC_EXAMPLE_REQUEST, escape_type: 0 },
      { ...DOC_EXAMPLE_REQUEST, escape_type: 1 },
      { program_id: 'PROG_ID', ability_id: 'ABILITY_ID', escape_type: 0, msg_list: DOC_EXAMPLE_REQUEST.msg_list },
      // Duplicates (create-time fail_list with keys), an image (result-time fail_list), a wrong key.
      {
        program_id: 'PROG_ID',
        ability_id: 'echo',
        escape_type: 1,
        msg_list: [
          { msgid: 'MSGID1', encrypt_info: { secret_key: 'SECRETKEY1' } },
          { msgid: 'MSGID1', encrypt_info: { secret_key: 'SECRETKEY1' } },
          { msgid: 'MSGID5', encrypt_info: { secret_key: 'SECRETKEY5' } },
          { msgid: 'MSGID2', encrypt_info: { secret_key: 'wrong' } },
        ],
      },
      // Rejections: an unknown program, an unknown ability.
      { ...DOC_EXAMPLE_REQUEST, program_id: 'NOPE' },
      { ...DOC_EXAMPLE_REQUEST, ability_id: 'NOPE' },
    ];
    const jobids: string[] = [];
    for (const request of requests) {
      expect(protocolMismatch(request, createInput)).toBeUndefined();
      const answer = JSON.parse(JSON.stringify(emulator.createProgramTask(request)));
      expect(protocolMismatch(answer, createOutput), JSON.stringify(answer)).toBeUndefined();
      if (answer.jobid) jobids.push(answer.jobid);
    }
    expect(jobids.length).toBeGreaterThanOrEqual(4);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const answers = [...jobids, 'unknown-jobid'].map((jobid) => {
      expect(protocolMismatch({ jobid }, resultInput)).toBeUndefined();
      return JSON.parse(JSON.stringify(emulator.getProgramTaskResult({ jobid })));
    });
    for (const answer of answers)
      expect(protocolMismatch(answer, resultOutput), JSON.stringify(answer)).toBeUndefined();
    // The samples were really exercised: a finished result, a result-time fail_list, an error answer.
    expect(answers.some((answer) => typeof answer.response_data === 'string')).toBe(true);
    expect(answers.some((answer) => answer.fail_list?.length > 0)).toBe(true);
    expect(answers.some((answer) => answer.errcode === 701151)).toBe(true);
    for (const errcode of [SDK_CODE.networkFailure, SDK_CODE.badHttpStatus, RELAY_REFUSED]) {
      expect(protocolMismatch({ errcode, errmsg: 'relay error' }, createOutput)).toBeUndefined();
      expect(protocolMismatch({ errcode, errmsg: 'relay error' }, resultOutput)).toBeUndefined();
    }
  });

  it("admit a result fail_list that echoes each message's key (doc 53659's FailMsg), which parsing then drops", async () => {
    const answer = {
      errcode: 0,
      errmsg: 'ok',
      fail_list: [
        { errcode: 710601, errmsg: 'msgid not found', msgid: 'MSGID9', encrypt_info: { secret_key: 'SECRETKEY9' } },
      ],
      response_errcode: 0,
      response_data: '{}',
    };
    expect(protocolMismatch(answer, await committed('invoke_get_program_task_result.output.json'))).toBeUndefined();
    const parsed = GetProgramTaskResultResponseSchema.parse(answer);
    expect(parsed.fail_list).toEqual([{ errcode: 710601, errmsg: 'msgid not found', msgid: 'MSGID9' }]);
    expect(JSON.stringify(parsed)).not.toContain('SECRETKEY9');
  });
});
