/**
 * Header lookups as API Gateway delivers them: lowercased by an HTTP API (payload 2.0), in the
 * client's own case by a REST API (payload 1.0) and an ALB. Every handler reads headers through
 * `headerValue`; the packaged createTask is exercised with REST and ALB events in bundles.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { headerValue, readJsonBody } from '../../lib/http/request.js';

describe('headerValue', () => {
  it('finds a header whatever the case of its name or of the name asked for', () => {
    for (const name of ['Idempotency-Key', 'IDEMPOTENCY-KEY', 'idempotency-key', 'iDeMpOtEnCy-KeY']) {
      expect(headerValue({ [name]: 'k1', Host: 'h' }, 'idempotency-key'), name).toBe('k1');
      expect(headerValue({ 'idempotency-key': 'k1' }, name), name).toBe('k1');
    }
  });

  it('is undefined for an absent header and for events without headers (REST API sends null)', () => {
    expect(headerValue({ host: 'h' }, 'idempotency-key')).toBeUndefined();
    expect(headerValue(null, 'idempotency-key')).toBeUndefined();
    expect(headerValue(undefined, 'content-type')).toBeUndefined();
    expect(headerValue({ 'idempotency-key': undefined }, 'idempotency-key')).toBeUndefined();
  });

  it('treats names differing only in case as one field (RFC 9110 5.3): the values joined, in order', () => {
    expect(headerValue({ 'Idempotency-Key': 'a', 'idempotency-key': 'b' }, 'Idempotency-Key')).toBe('a, b');
  });

  it('reads the content type in any case', () => {
    const body = '{"a":1}';
    expect(readJsonBody({ headers: { 'CONTENT-TYPE': 'application/json' }, body, isBase64Encoded: false })).toEqual({
      a: 1,
    });
    expect(() => readJsonBody({ headers: { 'Content-Type': 'text/plain' }, body, isBase64Encoded: false })).toThrow(
      /content-type must be application\/json/,
    );
  });
});
