import { describe, expect, it } from 'vitest';
import { isContentDigest } from '../../src/agent/digest.ts';
import { driftMessage, findDrift } from '../../src/agent/drift.ts';

const a = `sha256:${'a'.repeat(64)}`;
const b = `sha256:${'b'.repeat(64)}`;

describe('findDrift', () => {
  it('finds nothing when every file matches', () => {
    expect(findDrift({ '/x': a, '/y': b }, { '/x': a, '/y': b })).toEqual([]);
  });
  it('reports changed and missing files in path order', () => {
    expect(findDrift({ '/z': a, '/y': b, '/x': a }, { '/z': b, '/y': null })).toEqual([
      { path: '/x', change: 'missing' },
      { path: '/y', change: 'missing' },
      { path: '/z', change: 'changed' },
    ]);
  });
  it('ignores files on disk that were never deployed', () => {
    expect(findDrift({ '/x': a }, { '/x': a, '/other': b })).toEqual([]);
  });
});

describe('driftMessage', () => {
  it('names each path and what the agent did', () => {
    const drift = [
      { path: '/x', change: 'changed' as const },
      { path: '/y', change: 'missing' as const },
    ];
    expect(driftMessage(drift, 'restore')).toBe(
      'Drift on the device: /x was changed; /y is missing; restored the deployed content.',
    );
    expect(driftMessage(drift, 'report')).toMatch(/report-only/);
  });
});

describe('isContentDigest', () => {
  it('accepts only sha256 with 64 lowercase hex digits', () => {
    expect(isContentDigest(a)).toBe(true);
    expect(isContentDigest(`sha256:${'A'.repeat(64)}`)).toBe(false);
    expect(isContentDigest(`sha512:${'a'.repeat(64)}`)).toBe(false);
    expect(isContentDigest('sha256:abc')).toBe(false);
  });
});
