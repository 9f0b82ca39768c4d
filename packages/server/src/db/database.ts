import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Engine } from './dialect.ts';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';
import { cachedStatements } from './sqlite-statements.ts';
import { toIso } from './time.ts';

export interface DatabaseOptions {
  /** `postgres://...` selects PostgreSQL; otherwise SQLite in `dataDir`. */
  databaseUrl?: string | undefined;
  dataDir: string;
  /** PostgreSQL schema to use (tests isolate themselves in a fresh schema). */
  pgSchema?: string | undefined;
  poolSize?: number;
  /**
   * Called when an idle PostgreSQL connection breaks (the database restarted, a network cut). The
   * pool drops that connection and opens a new one on the next query; without a listener the
   * error event would end the process.
   */
  onConnectionError?: (err: Error) => void;
}

export interface Store {
  db: Kysely<Database>;
  engine: Engine;
  /** Human-readable location for logs (never includes a password). */
  location: string;
  close(): Promise<void>;
}

const TIMESTAMPTZ_OID = 1184;

/** The pool's type parsers: `timestamptz` values become ISO strings like SQLite's; the rest as pg's. */
function timestampsAsIso(): pg.TypeOverrides {
  const types = new pg.TypeOverrides();
  types.setTypeParser(TIMESTAMPTZ_OID, 'text', (v: string) => toIso(v));
  return types;
}

export async function openStore(opts: DatabaseOptions): Promise<Store> {
  const store =
    opts.databaseUrl && /^postgres(ql)?:\/\//.test(opts.databaseUrl) ? openPostgres(opts) : openSqlite(opts);
  try {
    if (store.engine === 'sqlite') await migrateSqlite(store.db);
    else await migratePostgres(store.db, opts.pgSchema);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * Replicas that start together on an empty PostgreSQL database (docs/decisions.md #58): schema
 * creation and every migration run under one session-level advisory lock per schema, held on a
 * connection of its own, so the second replica waits and then finds everything done. `CREATE SCHEMA
 * IF NOT EXISTS` and Kysely's own migration tables are not safe against a concurrent creator.
 */
async function migratePostgres(db: Kysely<Database>, pgSchema: string | undefined): Promise<void> {
  await db.connection().execute(async (conn) => {
    // Without a schema of its own (a plain URL, or one whose `options` set search_path) the store
    // lives in the connection's current schema; naming it keeps another schema's Kysely tables
    // (another app, another Bosun) from being mistaken for ours.
    const schema =
      pgSchema ??
      (await sql<{ s: string }>`select current_schema() as s`.execute(conn)).rows[0]?.s ??
      'public';
    const key = `bosun.migrate.${schema}`;
    await sql`select pg_advisory_lock(hashtext(${key}))`.execute(conn);
    try {
      if (pgSchema) await db.schema.createSchema(pgSchema).ifNotExists().execute();
      await migrateToLatest(db, 'postgres', schema);
    } finally {
      await sql`select pg_advisory_unlock(hashtext(${key}))`.execute(conn);
    }
  });
}

/**
 * Two processes on one SQLite file (a second server, the CLI's `keys create --data-dir`): the
 * migrations run in one `BEGIN IMMEDIATE` transaction (SQLite's DDL is transactional), so the second
 * process waits for the write lock and then finds them applied. Kysely runs SQLite migrations
 * outside any transaction.
 */
async function migrateSqlite(db: Kysely<Database>): Promise<void> {
  await db.connection().execute(async (conn) => {
    await sql`begin immediate`.execute(conn);
    try {
      await migrateToLatest(conn, 'sqlite');
      await sql`commit`.execute(conn);
    } catch (err) {
      await sql`rollback`.execute(conn);
      throw err;
    }
  });
}

function openSqlite(opts: DatabaseOptions): Store {
  mkdirSync(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, 'bosun.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: cachedStatements(sqlite) }) });
  return { db, engine: 'sqlite', location: file, close: () => db.destroy() };
}

function openPostgres(opts: DatabaseOptions): Store {
  const url = new URL(opts.databaseUrl!);
  const pool = new pg.Pool({
    connectionString: opts.databaseUrl,
    max: opts.poolSize ?? 10,
    ...(opts.pgSchema ? { options: `-c search_path=${opts.pgSchema}` } : {}),
    types: timestampsAsIso(),
  });
  pool.on('error', (err) => opts.onConnectionError?.(err));
  // The pool listens for errors only on idle clients. A client that is checked out (a transaction
  // between statements) when the database goes away emits 'error' with no listener, which would end
  // the process; with this listener the loss surfaces as the failure of that client's next query.
  pool.on('connect', (client) => {
    client.on('error', (err) => opts.onConnectionError?.(err));
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  url.password = '';
  return { db, engine: 'postgres', location: url.toString(), close: () => db.destroy() };
}
