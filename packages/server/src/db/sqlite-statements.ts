import type SQLite from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept prepared; `in (?, ?, …)` lists make a long tail that must stay bounded. */
export const STATEMENT_CACHE_SIZE = 1000;

/**
 * The better-sqlite3 database as Kysely's SQLite dialect sees it, with each SQL text prepared once
 * (docs/decisions.md #90): Kysely calls `prepare` before every execution, and compiling the SQL
 * was ~8 % of the server's CPU under a create load. A least-recently-used cache of
 * STATEMENT_CACHE_SIZE texts; SQLite re-prepares a cached statement by itself after a schema change.
 * Streaming gets a fresh statement, since an open iterator keeps its statement busy.
 */
export function cachedStatements(sqlite: SQLite.Database, size = STATEMENT_CACHE_SIZE): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => sqlite.close(),
    prepare(text: string): SqliteStatement {
      const hit = cache.get(text);
      if (hit) {
        cache.delete(text);
        cache.set(text, hit);
        return hit;
      }
      const stmt = sqlite.prepare(text);
      const cached: SqliteStatement = {
        reader: stmt.reader,
        all: (parameters) => stmt.all(parameters),
        run: (parameters) => stmt.run(parameters),
        iterate: (parameters) => sqlite.prepare(text).iterate(parameters),
      };
      cache.set(text, cached);
      if (cache.size > size) cache.delete(cache.keys().next().value!);
      return cached;
    },
  };
}
