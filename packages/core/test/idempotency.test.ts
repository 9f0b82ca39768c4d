import { describe, expect, it } from 'vitest';
import {
  checkIdempotencyKey,
  decideIdempotentRetry,
  IDEMPOTENCY_STALE_MS,
  IDEMPOTENCY_TTL_MS,
  isReplayableStatus,
} from '../src/index.ts';

const now = Date.parse('2026-03-09T12:00:00.000Z');
const request = { method: 'POST', path: '/beta/devices', bodyHash: 'h1' };
const stored = (over: Partial<Parameters<typeof decideIdempotentRetry>[0]> = {}) => ({
  ...request,
  responseStatus: 200,
  createdAt: new Date(now - 1000).toISOString(),
  expiresAt: new Date(now - 1000 + IDEMPOTENCY_TTL_MS).toISOString(),
  ...over,
});

describe('decideIdempotentRetry', () => {
  it('same request, answered → replay', () => {
    expect(decideIdempotentRetry(stored(), request, now)).toEqual({ kind: 'replay' });
    expect(decideIdempotentRetry(stored({ responseStatus: 422 }), request, now)).toEqual({ kind: 'replay' });
  });
  it('other body or path → 422 idempotency_key_reused', () => {
    expect(() => decideIdempotentRetry(stored(), { ...request, bodyHash: 'h2' }, now)).toThrow(
      expect.objectContaining({
        status: 422,
        code: 'idempotency_key_reused',
        params: expect.objectContaining({ differs: 'body' }),
      }),
    );
    expect(() => decideIdempotentRetry(stored(), { ...request, path: '/beta/releases' }, now)).toThrow(
      expect.objectContaining({ status: 422, params: expect.objectContaining({ differs: 'path' }) }),
    );
  });
  it('in flight → 409 idempotency_key_in_use, until it is old enough to be abandoned', () => {
    expect(() => decideIdempotentRetry(stored({ responseStatus: null }), request, now)).toThrow(
      expect.objectContaining({ status: 409, code: 'idempotency_key_in_use' }),
    );
    const old = new Date(now - IDEMPOTENCY_STALE_MS).toISOString();
    expect(decideIdempotentRetry(stored({ responseStatus: null, createdAt: old }), request, now)).toEqual({
      kind: 'stale',
    });
  });
  it('past its 24 h → expired, whatever the request', () => {
    const s = stored({ expiresAt: new Date(now).toISOString() });
    expect(decideIdempotentRetry(s, { ...request, bodyHash: 'other' }, now)).toEqual({ kind: 'expired' });
  });
  it('only 5xx are not replayable', () => {
    expect([200, 400, 404, 409, 422, 500, 503].map(isReplayableStatus)).toEqual([
      true,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });
});

describe('checkIdempotencyKey', () => {
  it('accepts 1..255 visible ASCII characters, refuses the rest with 400', () => {
    expect(checkIdempotencyKey(undefined)).toBeUndefined();
    expect(checkIdempotencyKey('8e03978e-40d5-43e8-bc93-6894a57f9324')).toBe(
      '8e03978e-40d5-43e8-bc93-6894a57f9324',
    );
    expect(checkIdempotencyKey('k'.repeat(255))).toHaveLength(255);
    for (const bad of ['', 'k'.repeat(256), 'a b', 'ü', ['a', 'b']]) {
      expect(() => checkIdempotencyKey(bad)).toThrow(
        expect.objectContaining({ status: 400, code: 'invalid_idempotency_key' }),
      );
    }
  });
});
