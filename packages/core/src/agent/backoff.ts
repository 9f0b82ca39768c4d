/**
 * Timers of a fleet. After a server or broker restart every robot notices at about the same moment;
 * retrying on a fixed period (or on plain exponential backoff) brings them back in lockstep, so each
 * wave hits the server at once. "Full jitter" spreads them: the n-th retry waits a uniformly random
 * time between 0 and min(cap, base × 2^n), which keeps the expected load flat while the outage lasts.
 */

export interface JitterPolicy {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** Upper bound of any delay. */
  capMs: number;
  /** Lower bound of any delay (a timer of 0 can mean "never" to some clients, e.g. mqtt.js). */
  minMs?: number;
}

/** Reconnecting to the broker: the first retry within 1 s, never more than 30 s apart. */
export const RECONNECT_JITTER: JitterPolicy = { baseMs: 1_000, capMs: 30_000, minMs: 100 };

/**
 * Work the agent knows is waiting (a sync hint arrived, a download or a report failed on the network):
 * retried within half a second first, never more than 4 s apart, so a robot applies a deployment made
 * during an outage within seconds of its server's return rather than at the next poll (issue 19).
 */
export const PENDING_WORK_JITTER: JitterPolicy = { baseMs: 500, capMs: 4_000, minMs: 100 };

/** The ceiling of the `attempt`-th retry (0-based): min(cap, base × 2^attempt). */
export function backoffCeilingMs(attempt: number, policy: Pick<JitterPolicy, 'baseMs' | 'capMs'>): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 52);
  return Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
}

/**
 * Full jitter: uniform in [min, min(cap, base × 2^attempt)]. `random` is injectable (a number in
 * [0, 1)) so the rule is tested without chance.
 */
export function fullJitterMs(
  attempt: number,
  policy: JitterPolicy,
  random: () => number = Math.random,
): number {
  const ceiling = backoffCeilingMs(attempt, policy);
  const floor = Math.min(policy.minMs ?? 0, ceiling);
  return Math.round(floor + random() * (ceiling - floor));
}

/**
 * The steady poll: uniform in [interval / 2, interval], so robots started together (a fleet booted
 * at once, or all reconnected after an outage) drift apart instead of polling in step, and no robot
 * waits longer than the configured interval.
 */
export function jitteredIntervalMs(intervalMs: number, random: () => number = Math.random): number {
  return Math.round(intervalMs / 2 + random() * (intervalMs / 2));
}

/**
 * Whether the `failures`-th consecutive failure (1-based) is worth a log line: the first, then the
 * 2nd, 4th, 8th, … so an outage is logged once and then at a backoff, not on every retry.
 */
export function shouldLogFailure(failures: number): boolean {
  return failures >= 1 && Number.isInteger(failures) && (failures & (failures - 1)) === 0;
}
