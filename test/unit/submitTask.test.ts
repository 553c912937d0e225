import { describe, expect, it, vi } from 'vitest';
import { MemoryCallBudget } from '../../lib/budget/memoryBudget.js';
import {
  BudgetSpentError,
  ZoneRateLimitedError,
  ZoneRejectedError,
  ZoneUnavailableError,
} from '../../lib/create/errors.js';
import { submitTask } from '../../lib/create/submitTask.js';
import { DEFAULT_CLASSIFIER } from '../../lib/poll/classify.js';
import { DEFAULT_POLL_SCHEDULE } from '../../lib/poll/schedule.js';
import { ERRCODE, SDK_CODE } from '../../lib/protocol/errcodes.js';
import { CreateProgramTaskRequestSchema, type CreateProgramTaskResponse } from '../../lib/protocol/zone.js';
import { EmbeddedQueue } from '../../lib/queue/embeddedQueue.js';
import { MemoryTaskStore } from '../../lib/tasks/memoryStore.js';
import { ZoneTransportError } from '../../lib/zone/errors.js';
import { DOC_EXAMPLE_REQUEST, message, recordingLogger } from '../support/fixtures.js';

const request = CreateProgramTaskRequestSchema.parse(DOC_EXAMPLE_REQUEST);
const T0 = Date.parse('2026-11-25T10:00:00Z');
const OK: CreateProgramTaskResponse = { errcode: 0, errmsg: 'ok', jobid: 'job-ok', fail_list: [] };
const BUSY: CreateProgramTaskResponse = { errcode: ERRCODE.systemBusy, errmsg: 'busy', fail_list: [] };

function deps(answers: (CreateProgramTaskResponse | Error)[]) {
  const createProgramTask = vi.fn(async () => {
    const answer = answers.shift() ?? OK;
    if (answer instanceof Error) throw answer;
    return answer;
  });
  const store = new MemoryTaskStore();
  const queue = new EmbeddedQueue();
  return {
    createProgramTask,
    store,
    queue,
    deps: {
      zone: { createProgramTask, getProgramTaskResult: vi.fn() },
      store,
      queue,
      schedule: DEFAULT_POLL_SCHEDULE,
      classifier: DEFAULT_CLASSIFIER,
      logger: recordingLogger(),
      retentionSeconds: 86_400,
      sleep: async () => undefined,
    },
  };
}

describe('submitTask', () => {
  it('stores the task without keys and sends its one poll message', async () => {
    const setup = deps([
      {
        ...OK,
        fail_list: [{ errcode: 710613, errmsg: 'dup', msgid: 'MSGID1', encrypt_info: { secret_key: 'SECRETKEY1' } }],
      },
    ]);
    const task = await submitTask({ ...request, msg_list: [message(1), message(2), message(1)] }, setup.deps);
    expect(task).toEqual({
      jobid: 'job-ok',
      status: 'PENDING',
      fail_list: [{ errcode: 710613, errmsg: 'dup', msgid: 'MSGID1' }],
    });
    expect(JSON.stringify(setup.store.snapshot())).not.toContain('SECRETKEY');
    expect(await setup.store.get('job-ok')).toMatchObject({ message_count: 2, chain: 0, attempts: 0 });
    expect(setup.queue.sent).toEqual([{ body: '{"jobid":"job-ok","chain":0}', delaySeconds: 2 }]);
  });

  it('retries a busy answer (nothing was created) and then creates once', async () => {
    const setup = deps([BUSY, BUSY, OK]);
    expect((await submitTask(request, setup.deps)).jobid).toBe('job-ok');
    expect(setup.createProgramTask).toHaveBeenCalledTimes(3);
  });

  // Issue 13: a 45009 used to be retried into the budget it had just spent, and answered "the corp
  // has used its WeCom call budget", which is not what happened.
  it('a 45009 / 45033 is WeCom rate-limiting the corp: not retried, the corp backs off, and it says so (not "budget spent")', async () => {
    for (const errcode of [ERRCODE.frequencyLimit, ERRCODE.concurrencyLimit]) {
      const setup = deps([{ ...BUSY, errcode }, OK, OK]);
      const budget = new MemoryCallBudget([{ seconds: 60, limit: 100 }]);
      const withBudget = { ...setup.deps, budget, now: () => T0 };
      const first = submitTask(request, withBudget);
      await expect(first).rejects.toBeInstanceOf(ZoneRateLimitedError);
      await expect(first).rejects.toMatchObject({
        errcode,
        retryAt: T0 + 60_000,
        message: expect.stringMatching(/WeCom says the corp is over its call limit/),
      });
      // The next create within the minute is not sent: the corp is still rate-limited, not out of budget.
      const second = submitTask(request, withBudget);
      await expect(second).rejects.toBeInstanceOf(ZoneRateLimitedError);
      await expect(second).rejects.not.toBeInstanceOf(BudgetSpentError);
      expect(setup.createProgramTask).toHaveBeenCalledTimes(1);
      // Our own budget running out is the other error.
      const spent = new MemoryCallBudget([{ seconds: 60, limit: 1 }]);
      await submitTask(request, { ...setup.deps, budget: spent, now: () => T0 });
      await expect(submitTask(request, { ...setup.deps, budget: spent, now: () => T0 })).rejects.toBeInstanceOf(
        BudgetSpentError,
      );
    }
  });

  it('gives up after the retries with ZoneUnavailableError, storing nothing', async () => {
    const setup = deps([BUSY, BUSY, BUSY, OK]);
    await expect(submitTask(request, setup.deps)).rejects.toBeInstanceOf(ZoneUnavailableError);
    expect(setup.createProgramTask).toHaveBeenCalledTimes(3);
    expect(setup.store.snapshot()).toEqual([]);
  });

  it('never retries a transport failure: the zone may have created the task', async () => {
    const setup = deps([new ZoneTransportError(SDK_CODE.networkFailure, 'reset'), OK]);
    await expect(submitTask(request, setup.deps)).rejects.toMatchObject({ errcode: SDK_CODE.networkFailure });
    expect(setup.createProgramTask).toHaveBeenCalledTimes(1);
  });

  it('passes a refusal through as ZoneRejectedError', async () => {
    const setup = deps([{ errcode: ERRCODE.abilityNotFound, errmsg: 'ability not found', fail_list: [] }]);
    await expect(submitTask(request, setup.deps)).rejects.toBeInstanceOf(ZoneRejectedError);
  });

  it('answers PENDING even when the first poll message cannot be sent: the sweeper resumes it', async () => {
    const setup = deps([OK]);
    vi.spyOn(setup.queue, 'sendPoll').mockRejectedValue(new Error('SQS down'));
    expect((await submitTask(request, setup.deps)).status).toBe('PENDING');
    expect((setup.deps.logger as ReturnType<typeof recordingLogger>).lines.join('\n')).toContain('sweeper will resume');
    expect(await setup.store.findOverdue(Date.now() + 10_000, 10)).toHaveLength(1);
  });
});
