import { describe, expect, it } from 'vitest';
import { ALL_STATES, type DeploymentState, deriveStatus, isForward } from '../src/index.ts';

const key = (s: DeploymentState) => `${s.target}/${s.activity}/${s.error}`;

describe('deriveStatus', () => {
  it('error status wins over activity status for every combination', () => {
    expect(ALL_STATES).toHaveLength(45);
    for (const s of ALL_STATES) {
      const expected = s.error === 'none' ? s.activity : s.error;
      expect(deriveStatus(s), key(s)).toBe(expected);
    }
  });
  it.each([
    ['staged', 'none', 'staged'],
    ['deployed', 'none', 'deployed'],
    ['queued', 'retrying', 'retrying'],
    ['archived', 'failed', 'failed'],
    ['deployed', 'failed', 'failed'],
    ['drifted', 'none', 'drifted'],
  ] as const)('spec example (%s, %s) → %s', (activity, error, status) => {
    expect(deriveStatus({ activity, error })).toBe(status);
  });
});

describe('isForward', () => {
  const s = (target: any, activity: any, error: any = 'none'): DeploymentState => ({
    target,
    activity,
    error,
  });
  it.each([
    [s('staged', 'staged'), s('deployed', 'queued'), true],
    [s('staged', 'staged'), s('staged', 'drifted'), true],
    [s('staged', 'drifted'), s('staged', 'staged'), true],
    [s('staged', 'drifted'), s('archived', 'archived'), true],
    [s('deployed', 'queued'), s('deployed', 'deployed'), true],
    [s('deployed', 'deployed'), s('archived', 'deployed'), true],
    [s('archived', 'deployed'), s('archived', 'archived'), true],
    [s('deployed', 'queued', 'retrying'), s('deployed', 'deployed', 'none'), true],
    [s('deployed', 'deployed'), s('deployed', 'queued'), false],
    [s('deployed', 'queued'), s('staged', 'staged'), false],
    [s('archived', 'archived'), s('deployed', 'queued'), false],
    [s('archived', 'archived'), s('archived', 'deployed'), false],
    [s('archived', 'archived', 'failed'), s('archived', 'archived', 'none'), false],
    [s('archived', 'archived', 'failed'), s('archived', 'archived', 'failed'), true],
  ])('%j → %j is %s', (from, to, expected) => {
    expect(isForward(from, to)).toBe(expected);
  });
});
