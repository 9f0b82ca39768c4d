import { createHash, timingSafeEqual } from 'node:crypto';
import {
  BosunError,
  csrfRequired,
  randomBase62,
  type SessionPolicy,
  sessionExpiresAt,
  sessionNeedsTouch,
  sessionState,
} from '@bosun/core';
import type { FastifyRequest } from 'fastify';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { nowIso, toIso } from '../db/time.ts';
import type { ApiKeyRecord, ApiKeyStore } from '../storage/api-keys.ts';

/** httpOnly cookie holding the session token. */
export const SESSION_COOKIE = 'bosun_session';
/** Cookie the page reads to echo in `X-CSRF-Token` (double submit, checked against the stored hash). */
export const CSRF_COOKIE = 'bosun_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Tokens are 190 bits of randomness: a plain SHA-256 is enough (as for API keys). */
const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

export interface ActiveSession {
  key: ApiKeyRecord;
  csrfHash: string;
  createdAt: string;
  expiresAt: string;
}

/** Dashboard sessions over `ui_sessions`: only hashes are stored, the key is read at each request. */
export class UiSessionStore {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly apiKeys: ApiKeyStore,
    readonly policy: SessionPolicy,
  ) {}

  /** Opens a session for a key; returns the two secrets, which only the caller's cookies keep. */
  async create(key: ApiKeyRecord): Promise<{ token: string; csrf: string; expiresAt: string }> {
    const token = randomBase62(32);
    const csrf = randomBase62(32);
    const now = nowIso();
    const times = { createdAt: Date.parse(now), lastSeenAt: Date.parse(now) };
    const expiresAt = new Date(sessionExpiresAt(times, times.createdAt, this.policy)).toISOString();
    await this.db
      .insertInto('ui_sessions')
      .values({
        token_hash: hash(token),
        csrf_hash: hash(csrf),
        api_key_id: key.id,
        created_at: now,
        last_seen_at: now,
        expires_at: new Date(times.createdAt + this.policy.absoluteMs).toISOString(),
      })
      .execute();
    return { token, csrf, expiresAt };
  }

  /**
   * The session's key and times, or undefined when the token is unknown, the session has expired
   * (idle or absolute; an expired row is deleted) or the key was revoked.
   */
  async resolve(token: string): Promise<ActiveSession | undefined> {
    const tokenHash = hash(token);
    const row = await this.db
      .selectFrom('ui_sessions')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!row) return undefined;
    const now = Date.now();
    const times = {
      createdAt: Date.parse(toIso(row.created_at)),
      lastSeenAt: Date.parse(toIso(row.last_seen_at)),
    };
    if (sessionState(times, now, this.policy) !== 'active') {
      await this.remove(token);
      return undefined;
    }
    const key = await this.apiKeys.get(row.api_key_id);
    if (!key || key.revoked_at) return undefined;
    if (sessionNeedsTouch(times, now)) {
      // Best effort: a failed bookkeeping write must not fail the request.
      await this.db
        .updateTable('ui_sessions')
        .set({ last_seen_at: nowIso() })
        .where('token_hash', '=', tokenHash)
        .execute()
        .catch(() => {});
    }
    return {
      key,
      csrfHash: row.csrf_hash,
      createdAt: toIso(row.created_at),
      expiresAt: new Date(sessionExpiresAt(times, now, this.policy)).toISOString(),
    };
  }

  async remove(token: string): Promise<void> {
    await this.db.deleteFrom('ui_sessions').where('token_hash', '=', hash(token)).execute();
  }

  /** Drops sessions past their absolute limit (idle ones are dropped when next presented). */
  async purgeExpired(): Promise<void> {
    await this.db.deleteFrom('ui_sessions').where('expires_at', '<=', nowIso()).execute();
  }
}

/** True when `presented` is the token whose hash is `expectedHash` (constant-time comparison). */
export function csrfMatches(presented: string | undefined, expectedHash: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(hash(presented), 'hex');
  const b = Buffer.from(expectedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function header(request: FastifyRequest, name: string): string | undefined {
  const v = request.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The platform API's second way in: the session cookie, for requests without `X-API-Key`. Returns
 * undefined when no cookie was sent (the caller then asks for a key). A state-changing request must
 * echo the CSRF token in `X-CSRF-Token`; SameSite=Strict already keeps other sites' requests from
 * carrying the cookie, the token also covers same-site attackers (another app on a sibling port).
 */
export function sessionAuthenticator(store: UiSessionStore) {
  return async (request: FastifyRequest): Promise<ApiKeyRecord | undefined> => {
    const token = request.cookies?.[SESSION_COOKIE];
    if (!token) return undefined;
    const session = await store.resolve(token);
    if (!session) {
      throw new BosunError(401, 'session_expired', 'The dashboard session has ended; sign in again.', {
        cookie: SESSION_COOKIE,
      });
    }
    if (csrfRequired(request.method) && !csrfMatches(header(request, CSRF_HEADER), session.csrfHash)) {
      throw new BosunError(
        403,
        'csrf_token_invalid',
        'A state-changing request made with the session cookie must send its CSRF token in X-CSRF-Token.',
        { header: 'X-CSRF-Token' },
      );
    }
    return session.key;
  };
}

export type SessionAuthenticator = ReturnType<typeof sessionAuthenticator>;
