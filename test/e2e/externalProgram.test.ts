/**
 * Bring your own program: a real analysis program process over HTTP, through the whole flow; and
 * the emulator served alone by `npm run zone`.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { httpProgramRunner } from '../../lib/zone/emulator/externalProgram.js';
import { CALLBACK_PATH, type ServedEmulator, serveEmulator } from '../../lib/zone/emulator/server.js';
import { loadArchiveFile } from '../../lib/zone/emulator/settings.js';
import { HttpZoneTransport } from '../../lib/zone/httpTransport.js';
import { waitFor } from '../support/fixtures.js';
import { type RunningProcess, runTsProcess, startTsProcess } from '../support/processes.js';

const silent = () => createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));
const cs = (n: number) => ({ msgid: `CS-00${n}`, encrypt_info: { secret_key: `key-cs-00${n}` } });

describe('an external analysis program process, through the whole flow', () => {
  let asyncProgram: RunningProcess;
  let syncProgram: RunningProcess;
  let served: ServedEmulator;
  let emulator: ZoneEmulator;

  beforeAll(async () => {
    [asyncProgram, syncProgram] = await Promise.all([
      startTsProcess('examples/external-program.ts', [], { PORT: '0', PROGRAM_DELAY_MS: '300' }),
      startTsProcess('examples/external-program.ts', [], { PORT: '0', PROGRAM_MODE: 'sync' }),
    ]);
    let callbackUrl = '';
    const ability = (id: string, url: string) => ({
      ability_id: id,
      input_protocol: { task: 'count', msg: '{chat}' },
      output_protocol: { message_count: 2, char_count: 10, speakers: 2 },
      handler: { type: 'http' as const, url },
    });
    emulator = new ZoneEmulator({
      archive: await loadArchiveFile('examples/archive.json'),
      programs: [
        {
          program_id: 'WORD_COUNT',
          abilities: [
            ability('async', `${asyncProgram.url}/`),
            ability('sync', `${syncProgram.url}/`),
            ability('down', 'http://127.0.0.1:9/'),
            { ...ability('drifts', `${syncProgram.url}/`), output_protocol: { score: 1 } },
          ],
        },
      ],
      runExternal: httpProgramRunner({ callbackUrl: () => callbackUrl, timeoutMs: 5000 }),
    });
    served = await serveEmulator(emulator);
    callbackUrl = `${served.url}${CALLBACK_PATH}`;
  });
  afterAll(async () => {
    await Promise.all([asyncProgram?.stop(), syncProgram?.stop(), served?.close()]);
  });

  async function runTask(abilityId: string) {
    // The flow reaches the zone across a socket too: the HTTP transport to the served emulator.
    const stack = await startLocalStack({
      zone: new HttpZoneTransport({ baseUrl: served.url }),
      schedule: { firstDelaySeconds: 0, minWaitSeconds: 1, growth: 0 },
      logger: silent(),
    });
    try {
      const created = await fetch(`${stack.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          program_id: 'WORD_COUNT',
          ability_id: abilityId,
          msg_list: [cs(1), cs(2), cs(3), cs(5)],
        }),
      });
      expect(created.status).toBe(202);
      const { jobid } = (await created.json()) as { jobid: string };
      return await waitFor(
        async () => {
          const task = (await (await fetch(`${stack.url}/tasks/${jobid}`)).json()) as Record<string, unknown>;
          return task.status === 'PENDING' ? undefined : task;
        },
        20_000,
        100,
      );
    } finally {
      await stack.stop();
    }
  }

  it('an asynchronous program accepts, reports through the callback, and the task SUCCEEDS', async () => {
    const task = await runTask('async');
    expect(task).toMatchObject({ status: 'SUCCEEDED', response_errcode: 0 });
    expect(JSON.parse(task.response_data as string)).toEqual({ message_count: 3, char_count: 31, speakers: 2 });
    expect(task.fail_list).toEqual([{ errcode: 710602, errmsg: 'msgtype not supported', msgid: 'CS-005' }]);
    expect(asyncProgram.output()).toContain('reported a job: zone answered errcode 0');
  });

  it('a synchronous program answers its report at once', async () => {
    const task = await runTask('sync');
    expect(JSON.parse(task.response_data as string)).toEqual({ message_count: 3, char_count: 31, speakers: 2 });
  });

  it('a program that cannot be reached fails the task with 710638', async () => {
    expect(await runTask('down')).toMatchObject({ status: 'FAILED', errcode: 710638 });
  });

  it('a program whose output drifts from its protocol fails the task with 790014', async () => {
    expect(await runTask('drifts')).toMatchObject({ status: 'FAILED', errcode: 790014 });
  });
});

describe('npm run zone', () => {
  it('serves the emulator alone with the archive and programs given on the command line', async () => {
    const zone = await startTsProcess('lib/cli/main.ts', [
      'zone',
      '--archive',
      'examples/archive.json',
      '--programs',
      'examples/programs.json',
      '--port',
      '0',
    ]);
    try {
      expect(zone.output()).toContain('5 archived messages from examples/archive.json');
      const transport = new HttpZoneTransport({ baseUrl: zone.url });
      const request = { program_id: 'PROG_ID', ability_id: 'ABILITY_ID', msg_list: [cs(1), cs(2), cs(3)] };
      const created = JSON.parse(await transport.invoke('create_program_task', JSON.stringify(request)));
      expect(created).toMatchObject({ errcode: 0, jobid: expect.any(String) });
      const result = await waitFor(
        async () => {
          const answer = JSON.parse(
            await transport.invoke('get_program_task_result', JSON.stringify({ jobid: created.jobid })),
          );
          return answer.errcode === 710642 ? undefined : answer;
        },
        10_000,
        100,
      );
      expect(JSON.parse(result.response_data)).toEqual({ avg_reply_time: 5, negative_feedback_cnt: 1 });
    } finally {
      await zone.stop();
    }
  });

  it('refuses a wrong file, naming the file and the field', async () => {
    const { code, output } = await runTsProcess('lib/cli/main.ts', [
      'zone',
      '--archive',
      'examples/programs.json',
      '--port',
      '0',
    ]);
    expect(code).toBe(1);
    expect(output).toMatch(/examples\/programs\.json: messages: /);
  });

  it('refuses an unknown option', async () => {
    const { code, output } = await runTsProcess('lib/cli/main.ts', ['zone', '--archvie', 'x.json']);
    expect(code).toBe(1);
    expect(output).toMatch(/archvie/);
  });
});
