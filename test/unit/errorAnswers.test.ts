/**
 * The one table from errors to answers (`lib/api/errors.ts`): every public error class, its HTTP
 * status, public code, message, body fields and headers, and what an event source does with it.
 */

import { describe, expect, it } from 'vitest';
import { ERROR_RULES, errorAnswer, eventDisposition } from '../../lib/api/errors.js';
import * as corpErrors from '../../lib/corps/errors.js';
import * as createErrors from '../../lib/create/errors.js';
import {
  BudgetSpentError,
  TaskNotRecordedError,
  ZoneRateLimitedError,
  ZoneRejectedError,
  ZoneUnavailableError,
} from '../../lib/create/errors.js';
import { zoneOutcomeUnknownMessage } from '../../lib/create/submitTask.js';
import { ServiceError } from '../../lib/errors.js';
import { HttpError } from '../../lib/http/errors.js';
import * as taskErrors from '../../lib/tasks/errors.js';
import {
  IdempotencyInProgressError,
  IdempotencyKeyReusedError,
  SettledFailureError,
  TaskExistsError,
  TaskTooLargeError,
} from '../../lib/tasks/errors.js';

const NOW = Date.parse('2026-11-30T12:00:00Z');
const answer = (error: unknown) => {
  const result = errorAnswer(error, NOW);
  return (
    result && {
      status: result.statusCode,
      code: result.code,
      message: result.message,
      details: result.details,
      headers: result.headers,
    }
  );
};

describe('the error table', () => {
  it('has a rule for every public error class of the tasks, create and corps folders', () => {
    const publicClasses = [
      ...Object.values(taskErrors),
      ...Object.values(createErrors),
      ...Object.values(corpErrors),
    ].filter((value: unknown) => typeof value === 'function' && value.prototype instanceof ServiceError);
    expect(publicClasses.length).toBeGreaterThanOrEqual(10);
    for (const type of publicClasses) expect(ERROR_RULES.map((rule) => rule.type as unknown)).toContain(type);
  });

  it('names the corp: 400 corp_required, 404 unknown_corp, 403 corp_deauthorised; rejected by an event source', () => {
    expect(answer(corpErrors.corpRequired())).toEqual({
      status: 400,
      code: 'corp_required',
      message: 'corp_id: required: this deployment serves several corps; name the corp the task is for',
      details: {},
      headers: {},
    });
    expect(answer(corpErrors.unknownCorp('ww9'))).toMatchObject({
      status: 404,
      code: 'unknown_corp',
      details: { corp_id: 'ww9' },
    });
    expect(answer(corpErrors.corpDeauthorised('ww4'))).toMatchObject({
      status: 403,
      code: 'corp_deauthorised',
      message: expect.stringContaining('corp ww4 cancelled its authorisation'),
      details: { corp_id: 'ww4' },
    });
    expect(eventDisposition(corpErrors.unknownCorp('ww9'))).toBe('rejected');
  });

  it('answers a bad request as it was raised: status, code, message, fields, headers; rejected by an event source', () => {
    const error = new HttpError(400, 'invalid_request', 'msg_list: too many', {
      issues: [{ path: 'msg_list', message: 'too many' }],
    });
    expect(answer(error)).toEqual({
      status: 400,
      code: 'invalid_request',
      message: 'msg_list: too many',
      details: { issues: [{ path: 'msg_list', message: 'too many' }] },
      headers: {},
    });
    expect(eventDisposition(error)).toBe('rejected');
  });

  it('422 idempotency_key_reused, naming the header; retried by an event source', () => {
    const error = new IdempotencyKeyReusedError('the Idempotency-Key was used with a different request');
    expect(answer(error)).toEqual({
      status: 422,
      code: 'idempotency_key_reused',
      message: 'Idempotency-Key: the Idempotency-Key was used with a different request',
      details: {},
      headers: {},
    });
    expect(eventDisposition(error)).toBe('retried');
  });

  it('409 idempotency_in_progress with retry-after 1', () => {
    const error = new IdempotencyInProgressError(
      'a request with this Idempotency-Key is still in progress; retry shortly',
    );
    expect(answer(error)).toMatchObject({
      status: 409,
      code: 'idempotency_in_progress',
      headers: { 'retry-after': '1' },
    });
    expect(answer(error)?.message).toBe(error.message);
    expect(eventDisposition(error)).toBe('retried');
  });

  it('413 task_too_large with the size in its message; rejected by an event source', () => {
    const error = new TaskTooLargeError(500_000, 335_000);
    expect(answer(error)).toEqual({
      status: 413,
      code: 'task_too_large',
      message: error.message,
      details: {},
      headers: {},
    });
    expect(error.message).toMatch(/^msg_list: this task's record could need 500000 bytes/);
    expect(eventDisposition(error)).toBe('rejected');
  });

  it('422 zone_rejected with the zone’s code and words', () => {
    const error = new ZoneRejectedError(800001, 'program NOPE not found');
    expect(answer(error)).toEqual({
      status: 422,
      code: 'zone_rejected',
      message: 'the zone rejected the task: program NOPE not found',
      details: { errcode: 800001, errmsg: 'program NOPE not found' },
      headers: {},
    });
    expect(eventDisposition(error)).toBe('rejected');
  });

  it('503 budget_spent and zone_rate_limited, with the seconds until the retry in message and retry-after', () => {
    const budget = new BudgetSpentError(NOW + 12_300);
    expect(answer(budget)).toEqual({
      status: 503,
      code: 'budget_spent',
      message: `${budget.message}; retry in 13 s`,
      details: {},
      headers: { 'retry-after': '13' },
    });
    const limited = new ZoneRateLimitedError(NOW - 5, 45009);
    expect(answer(limited)).toEqual({
      status: 503,
      code: 'zone_rate_limited',
      message: `${limited.message}; the corp backs off for a minute: retry in 1 s`,
      details: { errcode: 45009 },
      headers: { 'retry-after': '1' },
    });
    expect(answer(new ZoneRateLimitedError(NOW + 60_000))?.details).toEqual({});
    expect(eventDisposition(budget)).toBe('retried');
    expect(eventDisposition(limited)).toBe('retried');
  });

  it('502 task_not_recorded with the jobid when there is one; untracked by an event source', () => {
    const error = new TaskNotRecordedError('J1', 'DynamoDB unavailable');
    expect(answer(error)).toEqual({
      status: 502,
      code: 'task_not_recorded',
      message: error.message,
      details: { jobid: 'J1' },
      headers: {},
    });
    expect(answer(new TaskNotRecordedError(undefined, 'no jobid'))?.details).toEqual({});
    expect(eventDisposition(error)).toBe('untracked');
  });

  it('the zone unavailable: 502 zone_outcome_unknown, 503 zone_misconfigured, or 503 zone_unavailable with retry-after 5', () => {
    const unknown = new ZoneUnavailableError(-2, 'timeout', 'unknown', {
      message: 'the zone did not answer in 10 s',
      misconfigured: false,
    });
    expect(answer(unknown)).toEqual({
      status: 502,
      code: 'zone_outcome_unknown',
      message: `the zone did not answer in 10 s: ${zoneOutcomeUnknownMessage}`,
      details: { errcode: -2 },
      headers: {},
    });
    expect(eventDisposition(unknown)).toBe('untracked');
    const misconfigured = new ZoneUnavailableError(-3, 'config', 'not_sent', {
      message: 'WECOM_CORP_ID is not set',
      misconfigured: true,
    });
    expect(answer(misconfigured)).toEqual({
      status: 503,
      code: 'zone_misconfigured',
      message: 'WECOM_CORP_ID is not set; nothing was created',
      details: { errcode: -3 },
      headers: {},
    });
    expect(eventDisposition(misconfigured)).toBe('retried');
    expect(answer(new ZoneUnavailableError(-1, 'busy'))).toEqual({
      status: 503,
      code: 'zone_unavailable',
      message: 'the zone is busy; nothing was created; retry later',
      details: { errcode: -1 },
      headers: { 'retry-after': '5' },
    });
    expect(
      answer(
        new ZoneUnavailableError(-4, 'refused', 'not_sent', { message: 'connection refused', misconfigured: false }),
      )?.message,
    ).toBe('the zone could not be reached (connection refused); nothing was created; retry later');
  });

  it('a replayed settled failure answers as the first request did, marked idempotent-replayed', () => {
    const notRecorded = new SettledFailureError(
      {
        error: 'task_not_recorded',
        jobid: 'J2',
        reason: 'the zone created task J2, but it could not be recorded here',
      },
      true,
    );
    expect(answer(notRecorded)).toEqual({
      status: 502,
      code: 'task_not_recorded',
      message: 'the zone created task J2, but it could not be recorded here',
      details: { jobid: 'J2' },
      headers: { 'idempotent-replayed': 'true' },
    });
    const unknown = new SettledFailureError(
      { error: 'zone_outcome_unknown', errcode: -2, reason: 'the zone did not answer' },
      true,
    );
    expect(answer(unknown)).toEqual({
      status: 502,
      code: 'zone_outcome_unknown',
      message: `the zone did not answer: ${zoneOutcomeUnknownMessage}`,
      details: { errcode: -2 },
      headers: { 'idempotent-replayed': 'true' },
    });
    expect(unknown.statusCode).toBe(502);
    expect(unknown.code).toBe('zone_outcome_unknown');
    expect(eventDisposition(unknown)).toBe('untracked');
  });

  it('has no answer for an error it does not know (the middleware answers 500 without detail); an event source retries it', () => {
    for (const error of [new Error('secret text'), new TaskExistsError('J3'), 'a string', undefined]) {
      expect(errorAnswer(error, NOW)).toBeUndefined();
      expect(eventDisposition(error)).toBe('retried');
    }
  });
});
