import { describe, expect, it } from 'vitest';
import { csrfRequired, sessionExpiresAt, sessionNeedsTouch, sessionState } from '../src/ui-session.ts';

const policy = { idleMs: 1_000, absoluteMs: 10_000 };

describe('dashboard session rules', () => {
  it('is active within both limits', () => {
    expect(sessionState({ createdAt: 0, lastSeenAt: 5_000 }, 5_999, policy)).toBe('active');
  });
  it('ends after the idle limit', () => {
    expect(sessionState({ createdAt: 0, lastSeenAt: 5_000 }, 6_000, policy)).toBe('idle_expired');
  });
  it('ends at the absolute limit however active', () => {
    expect(sessionState({ createdAt: 0, lastSeenAt: 9_999 }, 10_000, policy)).toBe('expired');
  });
  it('expires at the earlier of the two limits', () => {
    expect(sessionExpiresAt({ createdAt: 0, lastSeenAt: 2_000 }, 2_500, policy)).toBe(3_500);
    expect(sessionExpiresAt({ createdAt: 0, lastSeenAt: 9_500 }, 9_600, policy)).toBe(10_000);
  });
  it('records activity at most once a minute', () => {
    expect(sessionNeedsTouch({ createdAt: 0, lastSeenAt: 0 }, 59_999)).toBe(false);
    expect(sessionNeedsTouch({ createdAt: 0, lastSeenAt: 0 }, 60_000)).toBe(true);
  });
  it('asks a CSRF token of every method but the safe ones', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'get']) expect(csrfRequired(m)).toBe(false);
    for (const m of ['POST', 'PATCH', 'PUT', 'DELETE']) expect(csrfRequired(m)).toBe(true);
  });
});
