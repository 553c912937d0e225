import { describe, expect, it } from 'vitest';
import { ERRCODE, SDK_CODE } from '../../lib/protocol/errcodes.js';
import type { ProgramConfig } from '../../lib/zone/emulator/config.js';
import { ZoneEmulator, type ZoneEmulatorOptions } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { ZoneTransportError } from '../../lib/zone/errors.js';
import { DOC_EXAMPLE_REQUEST, message, waitFor } from '../support/fixtures.js';

function emulator(options: Partial<ZoneEmulatorOptions> = {}) {
  return new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0), ...options });
}

async function resultOf(zone: ZoneEmulator, jobid: string) {
  return waitFor(
    async () => {
      const answer = zone.getProgramTaskResult({ jobid });
      return answer.errcode === ERRCODE.resultPending ? undefined : answer;
    },
    5000,
    5,
  );
}

describe('zone emulator: create_program_task', () => {
  it('runs the source document example verbatim to a result matching the output protocol', async () => {
    const zone = emulator();
    const created = zone.createProgramTask(DOC_EXAMPLE_REQUEST);
    expect(created).toMatchObject({ errcode: 0, errmsg: 'ok', fail_list: [] });
    const result = await resultOf(zone, created.jobid as string);
    expect(result).toMatchObject({ errcode: 0, fail_list: [], response_errcode: 0 });
    expect(JSON.parse(result.response_data as string)).toEqual({ avg_reply_time: 2, negative_feedback_cnt: 0 });
  });

  it('answers 710642 while the program has not reported', () => {
    const zone = emulator({ programs: samplePrograms(60_000) });
    const { jobid } = zone.createProgramTask(DOC_EXAMPLE_REQUEST);
    expect(zone.getProgramTaskResult({ jobid })).toMatchObject({ errcode: ERRCODE.resultPending });
  });

  it('keeps the first of duplicated msgids and echoes each later one with its key (710613)', async () => {
    const zone = emulator();
    const created = zone.createProgramTask({
      ...DOC_EXAMPLE_REQUEST,
      ability_id: 'echo',
      msg_list: [message(1), message(2), message(1), message(1)],
    });
    expect(created.fail_list).toEqual([
      {
        errcode: ERRCODE.msgidDuplicated,
        errmsg: 'msgid duplicated',
        msgid: 'MSGID1',
        encrypt_info: { secret_key: 'SECRETKEY1' },
      },
      {
        errcode: ERRCODE.msgidDuplicated,
        errmsg: 'msgid duplicated',
        msgid: 'MSGID1',
        encrypt_info: { secret_key: 'SECRETKEY1' },
      },
    ]);
    const result = await resultOf(zone, created.jobid as string);
    expect(JSON.parse(JSON.parse(result.response_data as string).input).chat).toBe(
      'A说：今天天气真不错！ B说：确实呀！',
    );
  });

  it('lets the duplicate errcode be configured (the document example shows 710601)', () => {
    const zone = emulator({ duplicateErrcode: 710601 });
    const created = zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, msg_list: [message(1), message(1)] });
    expect(created.fail_list?.[0]?.errcode).toBe(710601);
  });

  it.each([
    [
      'more than 1000 messages',
      { msg_list: Array.from({ length: 1001 }, (_, i) => message(i)) },
      ERRCODE.tooManyMessages,
    ],
    ['an empty msg_list', { msg_list: [] }, ERRCODE.invalidParameter],
    ['an empty program_id', { program_id: '' }, ERRCODE.invalidParameter],
    ['escape_type 2', { escape_type: 2 }, ERRCODE.invalidParameter],
    ['debug_info without chat_content', { debug_info: { chat: 'x' } }, ERRCODE.invalidParameter],
    ['an unknown program', { program_id: 'NOPE' }, ERRCODE.programNotFound],
    ['an unknown ability', { ability_id: 'NOPE' }, ERRCODE.abilityNotFound],
  ])('refuses %s', (_name, change, errcode) => {
    const created = emulator().createProgramTask({ ...DOC_EXAMPLE_REQUEST, ...change });
    expect(created.errcode).toBe(errcode);
    expect(created.jobid).toBeUndefined();
  });

  it('reports unknown msgids, wrong keys and unsupported types in the result fail_list', async () => {
    const zone = emulator();
    const { jobid } = zone.createProgramTask({
      ...DOC_EXAMPLE_REQUEST,
      ability_id: 'echo',
      escape_type: 1,
      msg_list: [
        message(1),
        { msgid: 'MSGID2', encrypt_info: { secret_key: 'WRONG' } },
        message(3),
        message(5),
        { msgid: 'NOPE', encrypt_info: { secret_key: 'k' } },
      ],
    });
    const result = await resultOf(zone, jobid as string);
    expect(result.fail_list).toEqual([
      { errcode: ERRCODE.secretKeyInvalid, errmsg: 'secret_key incorrect', msgid: 'MSGID2' },
      { errcode: ERRCODE.msgtypeUnsupported, errmsg: 'msgtype not supported', msgid: 'MSGID5' },
      { errcode: ERRCODE.msgidInvalid, errmsg: 'msgid not found', msgid: 'NOPE' },
    ]);
    // Voice messages enter as their transcript.
    const input = JSON.parse(JSON.parse(result.response_data as string).input);
    expect(input.chat).toBe('A说：今天天气真不错！\nA说：发货太慢了，我要投诉');
  });

  it('ends a task whose every message failed with 710637', async () => {
    const zone = emulator();
    const { jobid } = zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, msg_list: [message(5)] });
    expect(zone.getProgramTaskResult({ jobid })).toMatchObject({
      errcode: ERRCODE.allMessagesFailed,
      fail_list: [{ msgid: 'MSGID5', errcode: ERRCODE.msgtypeUnsupported }],
    });
  });

  it('in debug mode renders debug_info and ignores msg_list (still required)', async () => {
    const zone = emulator({ debug: true });
    const created = zone.createProgramTask({
      ...DOC_EXAMPLE_REQUEST,
      ability_id: 'echo',
      msg_list: [{ msgid: 'NOPE', encrypt_info: { secret_key: 'x' } }],
      debug_info: { chat: 'D说："hi"', chat_content: 'line1\nline2' },
      escape_type: 1,
    });
    const result = await resultOf(zone, created.jobid as string);
    expect(result.fail_list).toEqual([]);
    expect(JSON.parse(JSON.parse(result.response_data as string).input)).toEqual({
      chat: 'D说："hi"',
      chatcontent: 'line1\nline2',
    });
    expect(zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, msg_list: [] }).errcode).toBe(ERRCODE.invalidParameter);
  });
});

describe('zone emulator: protocols and results', () => {
  const programs = (inputProtocol: string): ProgramConfig[] => [
    {
      program_id: 'P',
      abilities: [
        {
          ability_id: 'A',
          input_protocol: inputProtocol,
          output_protocol: '{"score": 1}',
          handler: { type: 'builtin', name: 'echo', latency_ms: 0 },
        },
      ],
    },
  ];

  it('refuses a rendered input that does not match the input protocol (790016)', () => {
    // A placeholder used as a key renders to a key the protocol does not have.
    const zone = emulator({ programs: programs('{"{chat}": "x"}') });
    const created = zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, program_id: 'P', ability_id: 'A' });
    expect(created.errcode).toBe(ERRCODE.inputProtocolMismatch);
  });

  it('fails a job whose program output drifts from the output protocol (790014)', async () => {
    // echo answers {"input": ...}, which the ability's output protocol {"score": 1} does not have.
    const zone = emulator({ programs: programs('{"m": "{chat}"}') });
    const { jobid } = zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, program_id: 'P', ability_id: 'A' });
    const result = await resultOf(zone, jobid as string);
    expect(result).toMatchObject({ errcode: ERRCODE.outputProtocolMismatch });
    expect(result.response_data).toBeUndefined();
  });

  it('refuses a configuration that is not valid, naming the field', () => {
    expect(() => emulator({ programs: programs('{"m": {chat}}') })).toThrow(/input_protocol/);
    expect(() => emulator({ archive: [{ msgid: 'M', msgtype: 1, sender: 'A' } as never] })).toThrow(/secret_key/);
  });

  it('answers 701151 for an unknown jobid and once results have expired', () => {
    let now = 1_000_000;
    const zone = emulator({ now: () => now, retentionSeconds: 60, programs: samplePrograms(60_000) });
    expect(zone.getProgramTaskResult({ jobid: 'nope' }).errcode).toBe(ERRCODE.jobidInvalid);
    const { jobid } = zone.createProgramTask(DOC_EXAMPLE_REQUEST);
    now += 59_000;
    expect(zone.getProgramTaskResult({ jobid }).errcode).toBe(ERRCODE.resultPending);
    now += 2_000;
    expect(zone.getProgramTaskResult({ jobid }).errcode).toBe(ERRCODE.jobidInvalid);
  });

  it('takes a program report through program_async_job_call_back by job_info', async () => {
    let call: { job_info: string } | undefined;
    const zone = emulator({
      programs: [
        {
          program_id: 'P',
          abilities: [
            {
              ability_id: 'A',
              input_protocol: '{"m":"{chat}"}',
              output_protocol: '{"score": 1}',
              handler: { type: 'http', url: 'http://127.0.0.1:9/unused' },
            },
          ],
        },
      ],
      runExternal: async (programCall) => {
        call = programCall;
        return undefined;
      },
    });
    const { jobid } = zone.createProgramTask({ ...DOC_EXAMPLE_REQUEST, program_id: 'P', ability_id: 'A' });
    const jobInfo = (await waitFor(async () => call)).job_info;
    expect(zone.getProgramTaskResult({ jobid }).errcode).toBe(ERRCODE.resultPending);
    expect(zone.programAsyncJobCallBack({ job_info: 'forged', errcode: 0, result: '{}' }).errcode).toBe(
      ERRCODE.jobidInvalid,
    );
    expect(zone.programAsyncJobCallBack({ job_info: jobInfo, errcode: 0, result: '{"score": 0.5}' })).toEqual({
      errcode: 0,
      errmsg: 'ok',
    });
    expect(zone.getProgramTaskResult({ jobid })).toMatchObject({
      errcode: 0,
      response_errcode: 0,
      response_data: '{"score": 0.5}',
    });
    expect(zone.programAsyncJobCallBack({ job_info: jobInfo, errcode: 0, result: '{}' }).errcode).toBe(
      ERRCODE.invalidParameter,
    );
  });

  it('answers like the SDK for invalid JSON and unknown API names', async () => {
    const zone = emulator();
    await expect(zone.invoke('create_program_task', '{')).rejects.toMatchObject({ sdkCode: SDK_CODE.invalidJson });
    await expect(zone.invoke('nope', '{}')).rejects.toBeInstanceOf(ZoneTransportError);
  });
});
