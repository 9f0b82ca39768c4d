import { sql } from 'kysely';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/store.ts';
import { openStore } from '../src/db/database.ts';

/**
 * A database connection that dies while the server holds it (a transaction between two statements)
 * must fail that transaction, not the process. pg's pool listens for errors only on idle clients;
 * without a listener on checked-out ones, the 'error' event was unhandled and the server exited
 * (found by the PostgreSQL-restart fault test at 20 restarts).
 */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe.skipIf(!process.env.BOSUN_TEST_DATABASE_URL)('a lost PostgreSQL connection (postgres)', () => {
  it('ends the transaction that held it with an error; the process and the store carry on', async () => {
    const database = createTestDatabase('postgres');
    cleanups.push(() => database.destroy());
    const lost: Error[] = [];
    const store = await openStore({
      databaseUrl: database.databaseUrl,
      dataDir: database.dataDir,
      pgSchema: database.pgSchema,
      onConnectionError: (err) => lost.push(err),
    });
    cleanups.push(() => store.close());
    const admin = new pg.Client({ connectionString: database.databaseUrl });
    await admin.connect();
    cleanups.push(() => admin.end());

    const failed = store.db.transaction().execute(async (tx) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(tx);
      // The server side of this very connection goes away while the transaction is idle in it.
      await admin.query('select pg_terminate_backend($1)', [rows[0]!.pid]);
      await new Promise((r) => setTimeout(r, 300));
      await sql`select 1`.execute(tx);
    });
    await expect(failed).rejects.toThrow();
    expect(lost.length).toBeGreaterThan(0);
    // The pool replaces the connection: the store still works.
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(store.db);
    expect(rows[0]!.one).toBe(1);
  });
});
