import { describe, expect, it } from 'vitest';
import {
  afterFailure,
  DEFAULT_RETRY_POLICY,
  retryDelayMs,
  retryPolicyProblem,
} from '../../src/agent/retry.ts';

const policy = { baseMs: 1000, capMs: 10_000, maxAttempts: 4 };

describe('retryDelayMs', () => {
  it('doubles from the base and stops at the cap', () => {
    expect([1, 2, 3, 4, 5, 60].map((a) => retryDelayMs(a, policy))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });
  it('never exceeds the cap even for absurd attempt counts', () => {
    expect(retryDelayMs(10_000, policy)).toBe(10_000);
  });
});

describe('afterFailure', () => {
  it('counts an apply failure and retries with backoff', () => {
    expect(afterFailure(0, false, policy)).toEqual({
      error_status: 'retrying',
      attempts: 1,
      retryInMs: 1000,
    });
    expect(afterFailure(2, false, policy)).toEqual({
      error_status: 'retrying',
      attempts: 3,
      retryInMs: 4000,
    });
  });
  it('gives up with failed once maxAttempts failures are reached', () => {
    expect(afterFailure(3, false, policy)).toEqual({ error_status: 'failed', attempts: 4 });
  });
  it('does not count network errors', () => {
    expect(afterFailure(3, true, policy)).toEqual({ error_status: 'retrying', attempts: 3, retryInMs: 1000 });
  });
  it('defaults to 10 attempts', () => {
    expect(DEFAULT_RETRY_POLICY.maxAttempts).toBe(10);
    expect(afterFailure(9, false, DEFAULT_RETRY_POLICY).error_status).toBe('failed');
    expect(afterFailure(8, false, DEFAULT_RETRY_POLICY).error_status).toBe('retrying');
  });
});

describe('retryPolicyProblem', () => {
  it('accepts a sane policy and names what is wrong otherwise', () => {
    expect(retryPolicyProblem(policy)).toBeNull();
    expect(retryPolicyProblem({ ...policy, baseMs: 0 })).toMatch(/base/);
    expect(retryPolicyProblem({ ...policy, capMs: 10 })).toMatch(/cap/);
    expect(retryPolicyProblem({ ...policy, maxAttempts: 0 })).toMatch(/attempts/);
  });
});
