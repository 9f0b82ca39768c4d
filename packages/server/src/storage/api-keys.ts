import { createHash } from 'node:crypto';
import { newId, randomBase62 } from '@bosun/core';
import { type Kysely, SqliteAdapter, sql } from 'kysely';
import type { Database } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { fetchPage, type Page, type PageRequest, whereFilters } from './list.ts';

/** Keys Bosun generates carry this prefix so secret scanners can spot a leaked one. */
export const API_KEY_PREFIX = 'bsn_';

export interface ApiKeyRecord {
  id: string;
  name: string;
  scopes: string[];
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

/**
 * Keys are 190 bits of randomness, so a plain SHA-256 is the right hash: a slow password hash would
 * only cost latency on every request without adding safety against guessing.
 */
export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function generateApiKeySecret(): string {
  return API_KEY_PREFIX + randomBase62(32);
}

function toRecord(row: Database['api_keys']): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    scopes: JSON.parse(row.scopes) as string[],
    created_at: row.created_at,
    last_used_at: row.last_used_at,
    revoked_at: row.revoked_at,
  };
}

/**
 * How long a replica trusts a key it verified (docs/decisions.md #91): revoking, renaming or
 * removing a key through this store forgets it at once; a revocation by another replica or process
 * takes effect here within this time.
 */
export const API_KEY_CACHE_TTL_MS = 5_000;
/** Verified keys kept at most; beyond it the oldest entry goes (a replica rarely sees this many). */
const API_KEY_CACHE_MAX = 10_000;

export interface ApiKeyStoreOptions {
  /** 0 turns the cache of verified keys off. */
  cacheTtlMs?: number;
  /** Milliseconds clock of the cache (tests move it). */
  now?: () => number;
}

export class ApiKeyStore {
  /** Active keys by hash, as `authenticate` last read them; unknown and revoked keys are never kept. */
  private readonly verified = new Map<string, { key: ApiKeyRecord; until: number }>();
  /** Bumped by every change of a key, so a lookup that raced with it does not cache what it read. */
  private generation = 0;
  private readonly ttlMs: number;
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<Database>,
    opts: ApiKeyStoreOptions = {},
  ) {
    this.ttlMs = opts.cacheTtlMs ?? API_KEY_CACHE_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** Stores only the hash of `secret`; the caller shows the secret once and forgets it. */
  async create(input: { name: string; scopes: string[]; secret: string }): Promise<ApiKeyRecord> {
    const row = {
      id: newId('apiKey'),
      name: input.name,
      key_hash: hashApiKey(input.secret),
      scopes: JSON.stringify(input.scopes),
      created_at: nowIso(),
      last_used_at: null,
      revoked_at: null,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return toRecord(row);
  }

  /**
   * Creates the key only when the table is empty, atomically across processes (replicas starting
   * together, docs/decisions.md #58): PostgreSQL counts and inserts under a transaction-level advisory
   * lock of the schema, SQLite inside `BEGIN IMMEDIATE` (the write lock is taken before the count).
   * Returns undefined when a key already existed.
   */
  async createIfNone(input: {
    name: string;
    scopes: string[];
    secret: string;
  }): Promise<ApiKeyRecord | undefined> {
    const run = async (tx: Kysely<Database>) => {
      if ((await new ApiKeyStore(tx).count()) > 0) return undefined;
      return new ApiKeyStore(tx).create(input);
    };
    if (this.db.getExecutor().adapter instanceof SqliteAdapter) {
      return this.db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          const created = await run(conn);
          await sql`commit`.execute(conn);
          return created;
        } catch (err) {
          await sql`rollback`.execute(conn);
          throw err;
        }
      });
    }
    return this.db.transaction().execute(async (tx) => {
      await sql`select pg_advisory_xact_lock(hashtext('bosun.bootstrap.' || current_schema()))`.execute(tx);
      return run(tx);
    });
  }

  /** The active key whose hash matches, or undefined for an unknown or revoked key. */
  async authenticate(secret: string): Promise<ApiKeyRecord | undefined> {
    const hash = hashApiKey(secret);
    const hit = this.verified.get(hash);
    if (hit && hit.until > this.now()) return hit.key;
    if (hit) this.verified.delete(hash);
    const generation = this.generation;
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row) return undefined;
    const key = toRecord(row);
    if (this.ttlMs > 0 && generation === this.generation) {
      this.verified.set(hash, { key, until: this.now() + this.ttlMs });
      if (this.verified.size > API_KEY_CACHE_MAX) this.verified.delete(this.verified.keys().next().value!);
    }
    return key;
  }

  /** Drops every cached verification of key `id` (before and after its change is written). */
  private forget(id: string): void {
    this.generation++;
    for (const [hash, entry] of this.verified) if (entry.key.id === id) this.verified.delete(hash);
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<string | number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async list(): Promise<ApiKeyRecord[]> {
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toRecord);
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const row = await this.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  /** One page of keys (the platform API's list), revoked ones included: the history stays visible. */
  async page(filter: { id?: string[] | undefined }, page: PageRequest): Promise<Page<ApiKeyRecord>> {
    const q = whereFilters(this.db.selectFrom('api_keys').selectAll(), filter, { id: 'id' });
    const result = await fetchPage(q, page);
    return { ...result, rows: result.rows.map(toRecord) };
  }

  async rename(id: string, name: string): Promise<ApiKeyRecord | undefined> {
    this.forget(id);
    await this.db.updateTable('api_keys').set({ name }).where('id', '=', id).execute();
    this.forget(id);
    return this.get(id);
  }

  /**
   * Revocation is irreversible, immediate on this replica and within API_KEY_CACHE_TTL_MS on the
   * others; returns false when no active key has that id.
   */
  async revoke(id: string): Promise<boolean> {
    this.forget(id);
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: nowIso() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    this.forget(id);
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes a key outright; only for undoing a bootstrap key that start-up never got to show. */
  async remove(id: string): Promise<void> {
    this.forget(id);
    await this.db.deleteFrom('api_keys').where('id', '=', id).execute();
    this.forget(id);
  }

  /** Records that the key was just used (the storage clock, like every other timestamp). */
  async touch(id: string): Promise<void> {
    const at = nowIso();
    // The cached record shows the new time too, so the next request does not write it again.
    for (const entry of this.verified.values())
      if (entry.key.id === id) entry.key = { ...entry.key, last_used_at: at };
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }
}
