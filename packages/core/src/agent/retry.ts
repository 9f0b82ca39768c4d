/**
 * The agent's retry rule for a deployment it could not apply. Unlike the upstream agent (which in
 * practice never gives up), attempts are bounded: after `maxAttempts` failed applies the deployment is
 * reported `failed`. Network errors say nothing about the deployment, so they never count.
 */

export interface RetryPolicy {
  /** Delay after the first failed attempt. */
  baseMs: number;
  /** Upper bound of any delay. */
  capMs: number;
  /** Failed attempts after which the deployment is given up (`failed`). */
  maxAttempts: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { baseMs: 5_000, capMs: 10 * 60_000, maxAttempts: 10 };

/** Exponential backoff: base × 2^(attempts−1), capped; attempts counts the failures so far (≥ 1). */
export function retryDelayMs(attempts: number, policy: Pick<RetryPolicy, 'baseMs' | 'capMs'>): number {
  const exponent = Math.max(0, attempts - 1);
  // 2^exponent overflows to Infinity long before it matters; min() keeps the cap.
  return Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(exponent, 52));
}

export type FailureOutcome =
  | { error_status: 'retrying'; attempts: number; retryInMs: number }
  | { error_status: 'failed'; attempts: number };

/**
 * What a failed apply leads to. `network` failures keep the attempt count and retry after the base
 * delay (the server is unreachable, the deployment itself may be fine).
 */
export function afterFailure(
  previousAttempts: number,
  network: boolean,
  policy: RetryPolicy,
): FailureOutcome {
  if (network) return { error_status: 'retrying', attempts: previousAttempts, retryInMs: policy.baseMs };
  const attempts = previousAttempts + 1;
  if (attempts >= policy.maxAttempts) return { error_status: 'failed', attempts };
  return { error_status: 'retrying', attempts, retryInMs: retryDelayMs(attempts, policy) };
}

/** Checks a policy read from flags or options; returns the reason it is unusable, or null. */
export function retryPolicyProblem(policy: RetryPolicy): string | null {
  if (!Number.isFinite(policy.baseMs) || policy.baseMs <= 0)
    return 'retry base must be a positive number of ms';
  if (!Number.isFinite(policy.capMs) || policy.capMs < policy.baseMs)
    return 'retry cap must be at least the base';
  if (!Number.isInteger(policy.maxAttempts) || policy.maxAttempts < 1)
    return 'max attempts must be an integer ≥ 1';
  return null;
}
