import { describe, expect, it } from 'vitest';
import {
  backoffCeilingMs,
  fullJitterMs,
  jitteredIntervalMs,
  RECONNECT_JITTER,
  shouldLogFailure,
} from '../../src/agent/backoff.ts';

/** A seeded generator (mulberry32), so the distribution checks are deterministic. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const policy = { baseMs: 1_000, capMs: 30_000 };

describe('full jitter', () => {
  it('the ceiling doubles per attempt and stops at the cap, even for absurd attempts', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => backoffCeilingMs(n, policy))).toEqual([
      1_000, 2_000, 4_000, 8_000, 16_000, 30_000,
    ]);
    expect(backoffCeilingMs(10_000, policy)).toBe(30_000);
    expect(backoffCeilingMs(-3, policy)).toBe(1_000);
  });

  it('stays within [min, ceiling] at the extremes of the random source', () => {
    for (const attempt of [0, 3, 40]) {
      const ceiling = backoffCeilingMs(attempt, policy);
      expect(fullJitterMs(attempt, policy, () => 0)).toBe(0);
      expect(fullJitterMs(attempt, policy, () => 0.999999)).toBeLessThanOrEqual(ceiling);
      expect(fullJitterMs(attempt, RECONNECT_JITTER, () => 0)).toBe(RECONNECT_JITTER.minMs);
    }
  });

  it('is spread over the whole range, not bunched (distribution sanity over 20,000 draws)', () => {
    const random = seeded(42);
    const ceiling = backoffCeilingMs(5, policy);
    const draws = Array.from({ length: 20_000 }, () => fullJitterMs(5, policy, random));
    expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...draws)).toBeLessThanOrEqual(ceiling);
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    expect(Math.abs(mean - ceiling / 2) / ceiling).toBeLessThan(0.02);
    // Ten equal buckets each hold about a tenth: a fleet retrying together is spread evenly.
    const buckets = new Array(10).fill(0);
    for (const d of draws) buckets[Math.min(9, Math.floor((d / ceiling) * 10))]++;
    for (const b of buckets) expect(Math.abs(b - 2_000)).toBeLessThan(200);
  });

  it('a fleet of 1,000 agents retrying after the same outage does not come back in step', () => {
    const random = seeded(7);
    const delays = Array.from({ length: 1_000 }, () => fullJitterMs(0, RECONNECT_JITTER, random));
    // With a fixed period all 1,000 would land in one 100 ms slot; jittered, no slot holds more than ~20%.
    const slots = new Map<number, number>();
    for (const d of delays) slots.set(Math.floor(d / 100), (slots.get(Math.floor(d / 100)) ?? 0) + 1);
    expect(Math.max(...slots.values())).toBeLessThan(200);
  });
});

describe('steady poll interval', () => {
  it('lies in [interval/2, interval] and averages 3/4 of it', () => {
    expect(jitteredIntervalMs(60_000, () => 0)).toBe(30_000);
    expect(jitteredIntervalMs(60_000, () => 0.999999)).toBeLessThanOrEqual(60_000);
    const random = seeded(3);
    const draws = Array.from({ length: 10_000 }, () => jitteredIntervalMs(60_000, random));
    const mean = draws.reduce((s, x) => s + x, 0) / draws.length;
    expect(Math.abs(mean - 45_000)).toBeLessThan(600);
  });
});

describe('logging an outage', () => {
  it('logs the first failure, then at a backoff (2nd, 4th, 8th, …)', () => {
    const logged = Array.from({ length: 100 }, (_, i) => i + 1).filter(shouldLogFailure);
    expect(logged).toEqual([1, 2, 4, 8, 16, 32, 64]);
    expect(shouldLogFailure(0)).toBe(false);
  });
});
