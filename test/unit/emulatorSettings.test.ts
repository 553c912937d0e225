import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ERRCODE, SDK_CODE } from '../../lib/protocol/errcodes.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { serveEmulator } from '../../lib/zone/emulator/server.js';
import {
  configureEmulator,
  loadArchiveFile,
  loadProgramsFile,
  parseZoneEnv,
  ZoneConfigError,
} from '../../lib/zone/emulator/settings.js';
import { ZoneTransportError } from '../../lib/zone/errors.js';
import { HttpZoneTransport } from '../../lib/zone/httpTransport.js';
import { DOC_EXAMPLE_REQUEST } from '../support/fixtures.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zone-config-'));
});

async function file(name: string, content: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const ability = {
  ability_id: 'A',
  input_protocol: { msg: '{chat}' },
  output_protocol: { score: 1 },
  handler: { type: 'builtin', name: 'echo' },
};

describe('configuration files', () => {
  it('loads the example archive and programs (protocols as text or as objects)', async () => {
    expect(await loadArchiveFile('examples/archive.json')).toHaveLength(5);
    const programs = await loadProgramsFile('examples/programs.json');
    expect(programs.map((program) => program.program_id)).toEqual(['WORD_COUNT', 'PROG_ID']);
    expect(programs[0]?.abilities[0]?.input_protocol).toBe('{"task":"count","msg":"{chat}"}');
  });

  it.each([
    ['archive.json', 'not json', /archive\.json: not valid JSON/],
    [
      'archive.json',
      { messages: [{ msgid: 'M', msgtype: 1, sender: 'A' }] },
      /archive\.json: messages\[0\]\.secret_key:/,
    ],
    [
      'archive.json',
      { messages: [{ msgid: 'M', secret_key: 'k', msgtype: '1', sender: 'A' }] },
      /messages\[0\]\.msgtype:/,
    ],
    [
      'archive.json',
      {
        messages: [
          { msgid: 'M', secret_key: 'k', msgtype: 1, sender: 'A' },
          { msgid: 'M', secret_key: 'k', msgtype: 1, sender: 'B' },
        ],
      },
      /messages\[1\]\.msgid: duplicate msgid M/,
    ],
  ])('refuses a wrong archive file, naming file and field (%#)', async (name, content, message) => {
    await expect(loadArchiveFile(await file(name, content))).rejects.toThrow(message);
  });

  it.each([
    [
      { programs: [{ program_id: 'P', abilities: [{ ...ability, input_protocol: '{"msg": {chat}}' }] }] },
      /programs\[0\]\.abilities\[0\]\.input_protocol: must be a JSON object/,
    ],
    [
      { programs: [{ program_id: 'P', abilities: [{ ...ability, handler: { type: 'lambda' } }] }] },
      /programs\[0\]\.abilities\[0\]\.handler/,
    ],
    [
      { programs: [{ program_id: 'P', abilities: [{ ...ability, handler: { type: 'http', url: 'not a url' } }] }] },
      /handler\.url/,
    ],
    [
      {
        programs: [
          { program_id: 'P', abilities: [ability] },
          { program_id: 'P', abilities: [ability] },
        ],
      },
      /programs\[1\]\.program_id: duplicate program_id P/,
    ],
    [
      { programs: [{ program_id: 'P', abilities: [ability, ability] }] },
      /programs\[0\]\.abilities\[1\]\.ability_id: duplicate/,
    ],
    [{ programs: [{ program_id: 'P', abilities: [] }] }, /programs\[0\]\.abilities/],
  ])('refuses a wrong programs file, naming file and field (%#)', async (content, message) => {
    const path = await file('programs.json', content);
    await expect(loadProgramsFile(path)).rejects.toThrow(message);
    await expect(loadProgramsFile(path)).rejects.toThrow(path);
  });

  it('names a file that cannot be read', async () => {
    await expect(loadArchiveFile(join(dir, 'missing.json'))).rejects.toThrow(
      /missing\.json: cannot be read \(ENOENT\)/,
    );
  });

  it('names a wrong variable', () => {
    expect(() => parseZoneEnv({ ZONE_FAULT_ERROR_RATE: '2' })).toThrow(/ZONE_FAULT_ERROR_RATE/);
    expect(() => parseZoneEnv({ ZONE_FAULT_ERRCODES: '-1,busy' })).toThrow(/ZONE_FAULT_ERRCODES/);
    expect(() => parseZoneEnv({ ZONE_DEBUG: 'yes' })).toThrow(/ZONE_DEBUG/);
    expect(
      parseZoneEnv({ ZONE_FAULT_ERROR_RATE: '0.1', ZONE_FAULT_ERRCODES: '-1, 45009,-10002' }).ZONE_FAULT_ERRCODES,
    ).toEqual([-1, 45009, -10002]);
  });

  it('builds the emulator from the environment and file options', async () => {
    const configured = await configureEmulator(parseZoneEnv({ ZONE_DEBUG: '1' }), {
      archive: 'examples/archive.json',
      programs: 'examples/programs.json',
    });
    expect(configured.summary).toMatch(/5 archived messages from examples\/archive\.json, 2 program\(s\).*debug mode/);
    expect(configured.emulator.createProgramTask({ ...DOC_EXAMPLE_REQUEST }).errcode).toBe(0);
  });
});

describe('fault knobs', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers a drawn WeCom errcode instead of the real answer', async () => {
    const zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(0),
      faults: { errorRate: 1, errcodes: [ERRCODE.frequencyLimit] },
    });
    const answer = JSON.parse(await zone.invoke('create_program_task', JSON.stringify(DOC_EXAMPLE_REQUEST)));
    expect(answer).toEqual({ errcode: ERRCODE.frequencyLimit, errmsg: 'injected fault' });
    expect(zone.faultsInjected).toBe(1);
  });

  it('injects faults at the configured rate only', async () => {
    let draw = 0;
    const draws = [0.1, 0, 0.9, 0.5, 0.29, 0];
    const zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(0),
      faults: { errorRate: 0.3, errcodes: [ERRCODE.systemBusy], random: () => draws[draw++ % draws.length] ?? 0 },
    });
    const codes: number[] = [];
    for (let i = 0; i < 4; i++)
      codes.push(JSON.parse(await zone.invoke('get_program_task_result', '{"jobid":"x"}')).errcode);
    // Draws 0.1 (fault, then 0 picks the code), 0.9 and 0.5 (no fault), 0.29 (fault).
    expect(codes).toEqual([ERRCODE.systemBusy, ERRCODE.jobidInvalid, ERRCODE.jobidInvalid, ERRCODE.systemBusy]);
  });

  it('fails the call itself for an SDK transport code; over HTTP the connection drops (-10002)', async () => {
    const zone = new ZoneEmulator({
      archive: SAMPLE_ARCHIVE,
      programs: samplePrograms(0),
      faults: { errorRate: 1, errcodes: [SDK_CODE.networkFailure] },
    });
    await expect(zone.invoke('get_program_task_result', '{"jobid":"x"}')).rejects.toMatchObject({
      sdkCode: SDK_CODE.networkFailure,
    });
    const served = await serveEmulator(zone);
    try {
      const transport = new HttpZoneTransport({ baseUrl: served.url });
      const failure = await transport
        .invoke('get_program_task_result', '{"jobid":"x"}')
        .catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(ZoneTransportError);
      expect((failure as ZoneTransportError).sdkCode).toBe(SDK_CODE.networkFailure);
    } finally {
      await served.close();
    }
  });

  it('adds the configured latency to every call', async () => {
    vi.useFakeTimers();
    const zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0), faults: { latencyMs: 500 } });
    let settled = false;
    const call = zone.invoke('get_program_task_result', '{"jobid":"x"}').then(() => {
      settled = true;
    });
    await vi.advanceTimersByTimeAsync(499);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    await call;
    expect(settled).toBe(true);
  });
});

describe('the emulator over HTTP', () => {
  it('serves both interfaces and answers an unknown API as the SDK would not find it', async () => {
    const served = await serveEmulator(new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) }));
    try {
      const transport = new HttpZoneTransport({ baseUrl: served.url });
      const created = JSON.parse(await transport.invoke('create_program_task', JSON.stringify(DOC_EXAMPLE_REQUEST)));
      expect(created.errcode).toBe(0);
      const result = JSON.parse(
        await transport.invoke('get_program_task_result', JSON.stringify({ jobid: created.jobid })),
      );
      expect([0, ERRCODE.resultPending]).toContain(result.errcode);
      const unknown = await fetch(`${served.url}/no_such_api`, { method: 'POST', body: '{}' });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toMatchObject({ sdk_code: SDK_CODE.unknownApi });
      await expect(transport.invoke('no_such_api', '{}')).rejects.toMatchObject({ sdkCode: SDK_CODE.badHttpStatus });
    } finally {
      await served.close();
    }
  });
});

describe('a file that is not JSON', () => {
  it('is named with the place of the error, never with its text', async () => {
    const path = await file('leaky.json', '{"messages": [{"msgid": "M", "secret_key": SECRETKEY9}]}');
    const failure = await loadArchiveFile(path).catch((error: Error) => error);
    expect(failure).toBeInstanceOf(ZoneConfigError);
    expect((failure as Error).message).toMatch(/leaky\.json: not valid JSON at line 1, column \d+/);
    expect((failure as Error).message).not.toContain('SECRETKEY9');
  });
});
