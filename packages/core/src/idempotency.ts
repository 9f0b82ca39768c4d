import { BosunError } from './errors.ts';

/**
 * `Idempotency-Key` on POSTs, with Stripe's semantics (docs/decisions.md): a key is scoped to the API
 * key that sent it, remembered for 24 hours, bound to the first request's method, path and body, and
 * replays that request's stored response. A 5xx is never stored, so a retry runs again.
 */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An in-flight claim older than this belongs to a process that died mid-request (a live request
 * never runs this long: the longest, a ping, waits 10 s); the key is taken over rather than
 * answering 409 for a day.
 */
export const IDEMPOTENCY_STALE_MS = 5 * 60 * 1000;
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255;

/** The header's value, checked: 1..255 visible ASCII characters (UUIDs, ULIDs, Stripe-style keys). */
export function checkIdempotencyKey(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  const key = Array.isArray(value) ? value[0] : value;
  if (
    (Array.isArray(value) && value.length > 1) ||
    key === undefined ||
    key.length === 0 ||
    key.length > IDEMPOTENCY_KEY_MAX_LENGTH ||
    !/^[\x21-\x7e]+$/.test(key)
  ) {
    throw new BosunError(
      400,
      'invalid_idempotency_key',
      `The ${IDEMPOTENCY_HEADER} header must be one value of 1 to ${IDEMPOTENCY_KEY_MAX_LENGTH} visible ASCII characters (a UUID, say).`,
      { header: IDEMPOTENCY_HEADER },
    );
  }
  return key;
}

export interface IdempotentRequest {
  method: string;
  path: string;
  /** Digest of the request body (canonical JSON), so key order and whitespace do not matter. */
  bodyHash: string;
}

export interface StoredIdempotentRequest extends IdempotentRequest {
  /** `null` while the first request is still running. */
  responseStatus: number | null;
  createdAt: string;
  expiresAt: string;
}

export type IdempotencyDecision =
  /** The stored row is past its 24 h: delete it and run the request as new. */
  | { kind: 'expired' }
  /** The first request died mid-flight: take the key over and run the request. */
  | { kind: 'stale' }
  | { kind: 'replay' };

/** What a request carrying a key that is already stored gets; throws the 422/409 of Stripe's rules. */
export function decideIdempotentRetry(
  stored: StoredIdempotentRequest,
  request: IdempotentRequest,
  now: number,
): IdempotencyDecision {
  if (Date.parse(stored.expiresAt) <= now) return { kind: 'expired' };
  if (stored.method !== request.method || stored.path !== request.path) {
    throw new BosunError(
      422,
      'idempotency_key_reused',
      `This ${IDEMPOTENCY_HEADER} was used for ${stored.method} ${stored.path}; use a new key for a different request.`,
      { header: IDEMPOTENCY_HEADER, differs: 'path' },
    );
  }
  if (stored.bodyHash !== request.bodyHash) {
    throw new BosunError(
      422,
      'idempotency_key_reused',
      `This ${IDEMPOTENCY_HEADER} was used with a different request body; use a new key for a different request.`,
      { header: IDEMPOTENCY_HEADER, differs: 'body' },
    );
  }
  if (stored.responseStatus === null) {
    if (now - Date.parse(stored.createdAt) >= IDEMPOTENCY_STALE_MS) return { kind: 'stale' };
    throw new BosunError(
      409,
      'idempotency_key_in_use',
      `A request with this ${IDEMPOTENCY_HEADER} is still being processed; retry after it completes.`,
      { header: IDEMPOTENCY_HEADER },
    );
  }
  return { kind: 'replay' };
}

/** Whether a response is remembered for replay: everything but a server fault (5xx). */
export function isReplayableStatus(status: number): boolean {
  return status < 500;
}
