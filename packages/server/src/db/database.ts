import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import type { Engine } from './dialect.ts';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';
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
    if (store.engine === 'postgres' && opts.pgSchema) {
      await store.db.schema.createSchema(opts.pgSchema).ifNotExists().execute();
    }
    // Without a schema of its own (a plain URL, or one whose `options` set search_path) the store
    // lives in the connection's current schema; naming it keeps another schema's Kysely tables
    // (another app, another Bosun) from being mistaken for ours.
    const schema =
      store.engine === 'postgres'
        ? (opts.pgSchema ??
          (await sql<{ s: string }>`select current_schema() as s`.execute(store.db)).rows[0]?.s)
        : undefined;
    await migrateToLatest(store.db, store.engine, schema);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

function openSqlite(opts: DatabaseOptions): Store {
  mkdirSync(opts.dataDir, { recursive: true });
  const file = join(opts.dataDir, 'bosun.db');
  const sqlite = new SQLite(file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
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
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  url.password = '';
  return { db, engine: 'postgres', location: url.toString(), close: () => db.destroy() };
}
