/**
 * Completion announced: the event, and a signed callback to a real HTTP receiver that fails at
 * first, retried until delivered.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { startLocalStack } from '../../lib/local/stack.js';
import { createLogger, SERVICE_NAME } from '../../lib/log.js';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyCallback } from '../../lib/notify/callback.js';
import type { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import { ZoneEmulator } from '../../lib/zone/emulator/emulator.js';
import { SAMPLE_ARCHIVE, samplePrograms } from '../../lib/zone/emulator/sample.js';
import { DOC_EXAMPLE_REQUEST, SECRETS_AND_CHAT, waitFor } from '../support/fixtures.js';

const SECRET = 'callback-secret-for-the-test';
const silent = () => createLogger(new Logger({ serviceName: SERVICE_NAME, logLevel: 'SILENT' }));

describe('completion notifications through the local stack', () => {
  it('publishes ProgramTaskCompleted and delivers a signed callback, retrying a failing receiver', async () => {
    const received: { body: string; valid: boolean }[] = [];
    let calls = 0;
    const receiver = createServer(async (request, response) => {
      let body = '';
      for await (const chunk of request) body += String(chunk);
      calls += 1;
      if (calls <= 2) {
        response.writeHead(500).end();
        return;
      }
      const valid = verifyCallback(
        SECRET,
        request.headers[TIMESTAMP_HEADER] as string,
        request.headers[SIGNATURE_HEADER] as string,
        body,
      );
      received.push({ body, valid });
      response.writeHead(204).end();
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=abc`;

    const stack = await startLocalStack({
      zone: new ZoneEmulator({ archive: SAMPLE_ARCHIVE, programs: samplePrograms(100) }),
      schedule: { firstDelaySeconds: 0, minWaitSeconds: 1, growth: 0 },
      callbackSecret: SECRET,
      logger: silent(),
    });
    try {
      const created = await fetch(`${stack.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ ...DOC_EXAMPLE_REQUEST, callback_url: hook }),
      });
      expect(created.status).toBe(202);
      const { jobid } = (await created.json()) as { jobid: string };
      await waitFor(async () => (received.length > 0 ? true : undefined), 30_000, 100);

      expect(calls).toBe(3);
      expect(received).toHaveLength(1);
      expect(received[0]?.valid).toBe(true);
      const callback = JSON.parse(received[0]?.body ?? '{}');
      expect(callback).toMatchObject({ jobid, status: 'SUCCEEDED', response_errcode: 0, program_id: 'PROG_ID' });
      expect(stack.events.published).toEqual([callback]);
      for (const secret of [...SECRETS_AND_CHAT, 'avg_reply_time']) expect(received[0]?.body).not.toContain(secret);

      const task = await stack.store.get(jobid);
      expect(task).toMatchObject({ callback_attempts: 3 });
      expect(task?.callback_delivered_at).toBeDefined();
      // The message is let go once announced: nothing keeps polling.
      await waitFor(async () => ((stack.queue as EmbeddedQueue).size === 0 ? true : undefined), 10_000);
    } finally {
      await stack.stop();
      receiver.close();
    }
  }, 60_000);

  it('refuses callback_url when callbacks are not configured, or when it is not http(s)', async () => {
    const stack = await startLocalStack({ logger: silent() });
    const withSecret = await startLocalStack({ logger: silent(), callbackSecret: SECRET });
    try {
      const post = async (url: string, callback: string) => {
        const response = await fetch(`${url}/tasks`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ ...DOC_EXAMPLE_REQUEST, callback_url: callback }),
        });
        return { status: response.status, body: (await response.json()) as { message: string } };
      };
      expect(await post(stack.url, 'https://example.com/hook')).toMatchObject({
        status: 400,
        body: { message: expect.stringMatching(/^callback_url: callbacks are not configured/) },
      });
      expect(await post(withSecret.url, 'ftp://example.com/hook')).toMatchObject({
        status: 400,
        body: { message: expect.stringMatching(/^callback_url:/) },
      });
      expect((await post(withSecret.url, 'https://example.com/hook')).status).toBe(202);
    } finally {
      await stack.stop();
      await withSecret.stop();
    }
  });
});
