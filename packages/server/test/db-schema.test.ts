import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import type { Store } from '../src/index.ts';

/**
 * The Kysely row types (`src/db/schema.ts`) against the database the migrations build: the same
 * tables, the same columns, and a column is nullable in the database exactly when its type admits
 * `null`. A migration that adds, drops or relaxes a column without the type following fails here.
 */

const SCHEMA_FILE = fileURLToPath(new URL('../src/db/schema.ts', import.meta.url));
const MIGRATIONS_DIR = fileURLToPath(new URL('../src/db/migrations/', import.meta.url));

type Columns = Record<string, Record<string, { nullable: boolean }>>;

let declared: Columns | undefined;

/** Tables and columns as `schema.ts` declares them, read with the TypeScript checker (once). */
function declaredColumns(): Columns {
  declared ??= readDeclaredColumns();
  return declared;
}

function readDeclaredColumns(): Columns {
  const program = ts.createProgram([SCHEMA_FILE], {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    customConditions: ['source'],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(SCHEMA_FILE)!;
  const database = source.statements.find(
    (s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'Database',
  );
  if (!database) throw new Error('schema.ts declares no Database interface');
  const out: Columns = {};
  for (const table of checker.getTypeAtLocation(database).getProperties()) {
    const row = checker.getTypeOfSymbolAtLocation(table, database);
    out[table.name] = {};
    for (const column of row.getProperties()) {
      const type = checker.getTypeOfSymbolAtLocation(column, database);
      const parts = type.isUnion() ? type.types : [type];
      out[table.name]![column.name] = { nullable: parts.some((t) => (t.flags & ts.TypeFlags.Null) !== 0) };
    }
  }
  return out;
}

/** Tables and columns of the migrated database (Kysely's own migration tables left out). */
async function migratedColumns(store: Store, db: TestDatabase): Promise<Columns> {
  const out: Columns = {};
  if (store.engine === 'sqlite') {
    const tables = await sql<{ name: string }>`
      select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db);
    for (const { name } of tables.rows) {
      const info = await sql<{ name: string; notnull: number; pk: number }>`
        select name, "notnull", pk from pragma_table_info(${name})`.execute(store.db);
      // A primary key column is never null on PostgreSQL; SQLite only fails to say so.
      out[name] = Object.fromEntries(
        info.rows.map((c) => [c.name, { nullable: c.notnull === 0 && c.pk === 0 }]),
      );
    }
  } else {
    const rows = await sql<{ table_name: string; column_name: string; is_nullable: string }>`
      select table_name, column_name, is_nullable from information_schema.columns
      where table_schema = ${db.pgSchema}`.execute(store.db);
    for (const r of rows.rows) {
      out[r.table_name] ??= {};
      out[r.table_name]![r.column_name] = { nullable: r.is_nullable === 'YES' };
    }
  }
  delete out.kysely_migration;
  delete out.kysely_migration_lock;
  return out;
}

const migrationFiles = () =>
  readdirSync(MIGRATIONS_DIR)
    .filter((f) => /^\d{3}_.+\.ts$/.test(f))
    .sort();

describe('migration files', () => {
  it('are numbered without gaps but the documented one (003 and 004 were never used)', () => {
    const numbers = migrationFiles().map((f) => Number(f.slice(0, 3)));
    expect(new Set(numbers).size).toBe(numbers.length);
    const max = Math.max(...numbers);
    const gaps = Array.from({ length: max }, (_, i) => i + 1).filter((n) => !numbers.includes(n));
    expect(gaps).toEqual([3, 4]);
  });
});

describe.each(storageEngines())('database schema on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;
  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  it('ran every migration file, in order', async () => {
    const ran = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(
      store.db,
    );
    expect(ran.rows.map((r) => r.name)).toEqual(migrationFiles().map((f) => f.replace(/\.ts$/, '')));
  });

  it('has exactly the tables, columns and nullability of the Kysely row types', async () => {
    const declared = declaredColumns();
    const actual = await migratedColumns(store, db);
    expect(Object.keys(declared).length).toBeGreaterThan(10);
    expect(Object.keys(actual).sort()).toEqual(Object.keys(declared).sort());
    for (const table of Object.keys(declared)) {
      expect(actual[table], `columns of ${table}`).toEqual(declared[table]);
    }
  });
});
