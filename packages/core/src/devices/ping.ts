import { badRequest } from '../errors.ts';

/** The longest a ping waits for the agent (docs/decisions.md #13). */
export const MAX_PING_TIMEOUT_NANOS = 10_000_000_000;

/** `timeout_nanos` ≤ 0 is refused; above 10 s it is clamped to 10 s. Returns milliseconds to wait. */
export function pingTimeoutMs(timeoutNanos: number): number {
  if (!Number.isFinite(timeoutNanos) || timeoutNanos <= 0) {
    throw badRequest('invalid_timeout', "Field 'timeout_nanos' must be a positive number of nanoseconds.", {
      field: 'timeout_nanos',
      value: timeoutNanos,
    });
  }
  return Math.max(1, Math.ceil(Math.min(timeoutNanos, MAX_PING_TIMEOUT_NANOS) / 1_000_000));
}
