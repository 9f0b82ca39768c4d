/**
 * Rules of dashboard sessions (docs/decisions.md, dashboard section): a session cookie stands for an
 * API key, ends after a spell of inactivity (idle) and at a fixed age (absolute), whichever is first;
 * state-changing requests made with the cookie must carry the session's CSRF token.
 */
export interface SessionPolicy {
  /** Inactivity after which the session ends. */
  idleMs: number;
  /** Age after which the session ends, however active. */
  absoluteMs: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { idleMs: 30 * 60_000, absoluteMs: 12 * 3_600_000 };

/** How stale `last_seen_at` may get before it is written again: one write a minute, not one per request. */
export const SESSION_TOUCH_RESOLUTION_MS = 60_000;

export interface SessionTimes {
  createdAt: number;
  lastSeenAt: number;
}

export type SessionState = 'active' | 'idle_expired' | 'expired';

/** Where a session stands at `now` (all times in ms since the epoch). */
export function sessionState(session: SessionTimes, now: number, policy: SessionPolicy): SessionState {
  if (now >= session.createdAt + policy.absoluteMs) return 'expired';
  if (now >= session.lastSeenAt + policy.idleMs) return 'idle_expired';
  return 'active';
}

/** The moment the session ends if it stays idle from `now` on: the earlier of the two limits. */
export function sessionExpiresAt(session: SessionTimes, now: number, policy: SessionPolicy): number {
  return Math.min(session.createdAt + policy.absoluteMs, Math.max(session.lastSeenAt, now) + policy.idleMs);
}

/** Whether a request in an active session should record the activity (bounded writes). */
export function sessionNeedsTouch(session: SessionTimes, now: number): boolean {
  return now - session.lastSeenAt >= SESSION_TOUCH_RESOLUTION_MS;
}

/** Methods that change nothing need no CSRF token; every other method made with the cookie does. */
export function csrfRequired(method: string): boolean {
  return !['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase());
}
