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

export class ApiKeyStore {
  constructor(private readonly db: Kysely<Database>) {}

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
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('key_hash', '=', hashApiKey(secret))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? toRecord(row) : undefined;
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
    await this.db.updateTable('api_keys').set({ name }).where('id', '=', id).execute();
    return this.get(id);
  }

  /** Revocation is immediate and irreversible; returns false when no active key has that id. */
  async revoke(id: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: nowIso() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Deletes a key outright; only for undoing a bootstrap key that start-up never got to show. */
  async remove(id: string): Promise<void> {
    await this.db.deleteFrom('api_keys').where('id', '=', id).execute();
  }

  /** Records that the key was just used (the storage clock, like every other timestamp). */
  async touch(id: string): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: nowIso() }).where('id', '=', id).execute();
  }
}
