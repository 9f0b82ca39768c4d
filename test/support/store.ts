import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBase62 } from '@bosun/core';
import { openStore, type Store } from '@bosun/server';
import pg from 'pg';

export type TestEngine = 'sqlite' | 'postgres';

/** Engines the storage suite runs on: SQLite always, PostgreSQL when BOSUN_TEST_DATABASE_URL is set. */
export function storageEngines(): TestEngine[] {
  return process.env.BOSUN_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

/** The engine HTTP and end-to-end suites run on (BOSUN_TEST_ENGINE, default sqlite). */
export function httpEngine(): TestEngine {
  const engine = (process.env.BOSUN_TEST_ENGINE ?? 'sqlite') as TestEngine;
  if (engine === 'postgres' && !process.env.BOSUN_TEST_DATABASE_URL) {
    throw new Error('BOSUN_TEST_ENGINE=postgres needs BOSUN_TEST_DATABASE_URL');
  }
  return engine;
}

export interface TestDatabase {
  engine: TestEngine;
  dataDir: string;
  databaseUrl: string | undefined;
  pgSchema: string | undefined;
  /** Removes the temp directory and drops the PostgreSQL schema. */
  destroy(): Promise<void>;
}

/** A fresh, empty database: a temp directory for SQLite, a new schema for PostgreSQL. */
export function createTestDatabase(engine: TestEngine): TestDatabase {
  const dataDir = mkdtempSync(join(tmpdir(), 'bosun-test-'));
  const databaseUrl = engine === 'postgres' ? process.env.BOSUN_TEST_DATABASE_URL : undefined;
  const pgSchema = engine === 'postgres' ? `bosun_test_${randomBase62(10).toLowerCase()}` : undefined;
  return {
    engine,
    dataDir,
    databaseUrl,
    pgSchema,
    async destroy() {
      rmSync(dataDir, { recursive: true, force: true });
      if (pgSchema && databaseUrl) {
        const client = new pg.Client({ connectionString: databaseUrl });
        await client.connect();
        try {
          await client.query(`drop schema if exists ${pgSchema} cascade`);
        } finally {
          await client.end();
        }
      }
    },
  };
}

export async function openTestStore(engine: TestEngine): Promise<{ store: Store; db: TestDatabase }> {
  const db = createTestDatabase(engine);
  const store = await openStore({ databaseUrl: db.databaseUrl, dataDir: db.dataDir, pgSchema: db.pgSchema });
  return { store, db };
}
