import {
  decideIdempotentRetry,
  IDEMPOTENCY_TTL_MS,
  type IdempotentRequest,
  isReplayableStatus,
} from '@bosun/core';
import type { Kysely } from 'kysely';
import { uniqueViolation } from '../db/errors.ts';
import type { Database } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';

export type IdempotencyClaim =
  /** This request owns the key: run it, then `complete` or `release`. */
  | { kind: 'claimed'; createdAt: string }
  /** The key already answered: send this again. */
  | { kind: 'replay'; status: number; body: string };

export interface IdempotencyScope {
  apiKeyId: string;
  key: string;
}

/**
 * `Idempotency-Key`s in the database, so they hold across replicas and restarts. A claim inserts the
 * row first: the unique index, not a read-then-write, decides which of two racing requests runs.
 */
export class IdempotencyStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Claims the key for `request`, or says what to do instead (throws the 409/422 of the rules). */
  async claim(scope: IdempotencyScope, request: IdempotentRequest): Promise<IdempotencyClaim> {
    // Each pass either inserts, decides, or removes a dead row first; three passes cover a row that
    // expires or is released while we look at it.
    for (let pass = 0; pass < 3; pass++) {
      const createdAt = nowIso();
      try {
        await this.db
          .insertInto('idempotency_keys')
          .values({
            api_key_id: scope.apiKeyId,
            idempotency_key: scope.key,
            request_method: request.method,
            request_path: request.path,
            request_hash: request.bodyHash,
            response_status: null,
            response_body: null,
            created_at: createdAt,
            expires_at: new Date(Date.parse(createdAt) + IDEMPOTENCY_TTL_MS).toISOString(),
          })
          .execute();
        return { kind: 'claimed', createdAt };
      } catch (err) {
        if (!uniqueViolation(err)) throw err;
      }
      const row = await this.row(scope);
      if (!row) continue; // released (a 5xx) in between: claim it again
      const decision = decideIdempotentRetry(
        {
          method: row.request_method,
          path: row.request_path,
          bodyHash: row.request_hash,
          responseStatus: row.response_status,
          createdAt: row.created_at,
          expiresAt: row.expires_at,
        },
        request,
        Date.now(),
      );
      if (decision.kind === 'replay') {
        return { kind: 'replay', status: Number(row.response_status), body: row.response_body ?? '' };
      }
      // Expired or abandoned: remove exactly the row we judged (a newer claim has another created_at).
      await this.db
        .deleteFrom('idempotency_keys')
        .where('api_key_id', '=', scope.apiKeyId)
        .where('idempotency_key', '=', scope.key)
        .where('created_at', '=', row.created_at)
        .execute();
    }
    throw new Error('idempotency key claim did not settle');
  }

  /** Stores the response of the claimed request (a 5xx releases the key instead). */
  async finish(scope: IdempotencyScope, createdAt: string, status: number, body: string): Promise<void> {
    if (!isReplayableStatus(status)) {
      await this.release(scope, createdAt);
      return;
    }
    await this.db
      .updateTable('idempotency_keys')
      .set({ response_status: status, response_body: body })
      .where('api_key_id', '=', scope.apiKeyId)
      .where('idempotency_key', '=', scope.key)
      .where('created_at', '=', createdAt)
      .execute();
  }

  /** Forgets the claim, so a retry with the same key runs the request again. */
  async release(scope: IdempotencyScope, createdAt: string): Promise<void> {
    await this.db
      .deleteFrom('idempotency_keys')
      .where('api_key_id', '=', scope.apiKeyId)
      .where('idempotency_key', '=', scope.key)
      .where('created_at', '=', createdAt)
      .execute();
  }

  /** Deletes keys past their 24 hours; returns how many. */
  async prune(now: string = nowIso()): Promise<number> {
    const r = await this.db.deleteFrom('idempotency_keys').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }

  private row(scope: IdempotencyScope) {
    return this.db
      .selectFrom('idempotency_keys')
      .selectAll()
      .where('api_key_id', '=', scope.apiKeyId)
      .where('idempotency_key', '=', scope.key)
      .executeTakeFirst();
  }
}
