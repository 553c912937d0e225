/**
 * The local stack on its durable store: what a user sees across a restart of the same data directory.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, describe, expect, it } from 'vitest';
import { startLocalStack } from '../../lib/local/stack.js';
import { createLogger } from '../../lib/log.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, SECRETS_AND_CHAT, waitFor } from '../support/fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'wzt-durable-stack-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const quiet = () => createLogger(new Logger({ serviceName: 'durable-test', logLevel: 'SILENT' }));
const fast = { firstDelaySeconds: 0, minWaitSeconds: 0, growth: 0, maxWaitSeconds: 0 };

async function post(url: string, key: string) {
  const response = await fetch(`${url}/tasks`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(DOC_EXAMPLE_REQUEST),
  });
  return {
    status: response.status,
    replayed: response.headers.get('idempotent-replayed'),
    body: (await response.json()) as { jobid: string },
  };
}

const view = async (url: string, jobid: string) => {
  const response = await fetch(`${url}/tasks/${jobid}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

describe('the local stack on its durable store', () => {
  it('reads earlier jobids back after a restart, replays their Idempotency-Key without a new zone task, and expires them like DynamoDB TTL', async () => {
    // The zone outlives the server, as WeCom's does.
    const zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(100) });
    const options = { dataDir: dir, zone, schedule: fast, logger: quiet(), env: { TASK_RETENTION_DAYS: '2' } };

    const first = await startLocalStack(options);
    expect(first.state).toMatchObject({ durable: true, location: join(dir, 'wecom-zone-tasks.sqlite') });
    const created = await post(first.url, 'restart-key');
    expect(created.status).toBe(202);
    const { jobid } = created.body;
    const done = await waitFor(async () => {
      const { body } = await view(first.url, jobid);
      return body.status === 'PENDING' ? undefined : body;
    });
    expect(done).toMatchObject({ status: 'SUCCEEDED', response_errcode: 0 });
    await first.stop();

    const second = await startLocalStack(options);
    try {
      expect(await view(second.url, jobid)).toEqual({ status: 200, body: done });
      const again = await post(second.url, 'restart-key');
      expect(again).toMatchObject({ status: 202, replayed: 'true', body: { jobid } });
      expect(zone.calls.create_program_task).toBe(1);

      // TASK_RETENTION_DAYS after the deadline (POLL_DEADLINE_SECONDS, 1 day), the record is gone.
      const createdAt = Date.parse(String(done.created_at));
      await second.housekeep(createdAt + 2 * 86_400_000);
      expect((await view(second.url, jobid)).status).toBe(200);
      await second.housekeep(createdAt + 3 * 86_400_000 + 1000);
      expect((await view(second.url, jobid)).status).toBe(404);
    } finally {
      await second.stop();
    }
  });

  it('writes no secret_key, chat text or debug_info to the data directory', async () => {
    const zone = new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(0) });
    const stack = await startLocalStack({ dataDir: dir, zone, schedule: fast, logger: quiet() });
    try {
      for (const key of ['privacy-1', 'privacy-2']) {
        const { body } = await post(stack.url, key);
        await waitFor(async () => ((await view(stack.url, body.jobid)).body.status === 'PENDING' ? undefined : true));
      }
      // Read while the server runs (the write-ahead log holds the newest pages), and after it stopped.
      const scan = () =>
        readdirSync(dir)
          .map((file) => readFileSync(join(dir, file)).toString('utf8'))
          .join('\n');
      const running = scan();
      await stack.stop();
      const everything = `${running}\n${scan()}`;
      expect(everything).toContain('PROG_ID');
      for (const secret of [...SECRETS_AND_CHAT, 'chat_content']) expect(everything).not.toContain(secret);
    } finally {
      await stack.stop();
    }
  });
});
