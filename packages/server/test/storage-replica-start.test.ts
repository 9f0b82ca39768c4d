import { afterEach, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../../../test/support/store.ts';
import { bootstrapAdminKey } from '../src/bootstrap.ts';
import { openStore, type Store } from '../src/db/database.ts';
import { createRepositories } from '../src/storage/index.ts';

/**
 * Replicas that start together (docs/decisions.md #58), squeezed into one process so the race window
 * is hit every time: several stores, each with its own connections, open (migrate) the same empty
 * database at once, then all bootstrap the admin key at once. test/reliability/replicas-start.test.ts
 * does the same with real server processes, and covers SQLite (better-sqlite3 waits for a file lock
 * synchronously, so two stores of one process on one file would block each other's event loop).
 */
const REPLICAS = 6;
const ROUNDS = 5;

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const engine = 'postgres';
describe.skipIf(!process.env.BOSUN_TEST_DATABASE_URL)('replicas starting together (postgres)', () => {
  for (const mode of ['generated', 'provided'] as const) {
    it(`migrations and a ${mode} admin key, ${REPLICAS} at once, ${ROUNDS} rounds`, async () => {
      for (let round = 0; round < ROUNDS; round++) {
        const database = createTestDatabase(engine);
        cleanups.push(() => database.destroy());
        const stores: Store[] = await Promise.all(
          Array.from({ length: REPLICAS }, () =>
            openStore({
              databaseUrl: database.databaseUrl,
              dataDir: database.dataDir,
              pgSchema: database.pgSchema,
              poolSize: 3,
            }),
          ),
        );
        cleanups.push(async () => {
          for (const s of stores) await s.close();
        });
        const provided = mode === 'provided' ? 'bsn_replicas_start_together_0123456789' : undefined;
        const results = await Promise.all(
          stores.map((s) => bootstrapAdminKey(createRepositories(s.db).apiKeys, provided)),
        );
        const created = results.filter((r) => r.kind !== 'existing');
        expect(
          created.map((r) => r.kind),
          `round ${round}`,
        ).toEqual([mode]);
        expect(await createRepositories(stores[0]!.db).apiKeys.count()).toBe(1);
        for (const c of cleanups.splice(0).reverse()) await c();
      }
    });
  }
});
