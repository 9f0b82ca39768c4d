import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import { createRepositories, type Repositories, type Store } from '../src/index.ts';
import { hashApiKey } from '../src/storage/api-keys.ts';

const page = (over: Partial<{ offset: number; limit: number; totalCount: boolean }> = {}) => ({
  offset: 0,
  limit: 10,
  totalCount: false,
  order: [
    { field: 'created_at' as const, direction: 'desc' as const },
    { field: 'id' as const, direction: 'asc' as const },
  ],
  ...over,
});

describe.each(storageEngines())('storage on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;
  let repos: Repositories;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
    repos = createRepositories(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  it('stores API keys hashed, never in plain text', async () => {
    const secret = 'bsn_storage_test_secret_value_123';
    const key = await repos.apiKeys.create({ name: 'ci', scopes: ['devices:read'], secret });
    const row = await store.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', key.id)
      .executeTakeFirstOrThrow();
    expect(row.key_hash).toBe(hashApiKey(secret));
    expect(JSON.stringify(row)).not.toContain(secret);
    expect((await repos.apiKeys.authenticate(secret))?.id).toBe(key.id);
    expect(await repos.apiKeys.revoke(key.id)).toBe(true);
    expect(await repos.apiKeys.authenticate(secret)).toBeUndefined();
    expect(await repos.apiKeys.revoke(key.id)).toBe(false);
  });

  it('the database itself forbids duplicate slugs, names and device names', async () => {
    const now = new Date().toISOString();
    await store.db
      .insertInto('config_types')
      .values({ id: 'cfg_typ_a', name: 'A', slug: 'a', created_at: now, updated_at: now })
      .execute();
    await expect(
      store.db
        .insertInto('config_types')
        .values({ id: 'cfg_typ_b', name: 'B', slug: 'a', created_at: now, updated_at: now })
        .execute(),
    ).rejects.toThrow();
    await expect(
      store.db
        .insertInto('config_types')
        .values({ id: 'cfg_typ_c', name: 'A', slug: 'c', created_at: now, updated_at: now })
        .execute(),
    ).rejects.toThrow();
    const device = { name: 'dup', status: 'inactive' as const, created_at: now, updated_at: now };
    await store.db
      .insertInto('devices')
      .values({ id: 'dvc_a', ...device })
      .execute();
    await expect(
      store.db
        .insertInto('devices')
        .values({ id: 'dvc_b', ...device })
        .execute(),
    ).rejects.toThrow();
  });

  it('pages with a stable order, has_more and an optional total', async () => {
    const created = [];
    for (let i = 0; i < 7; i++) created.push(await repos.devices.create({ name: `page-${engine}-${i}` }));
    const filter = { name: created.map((d) => d.name) };
    const first = await repos.devices.list(filter, page({ limit: 3, totalCount: true }));
    expect(first.rows.map((r) => r.name)).toEqual([6, 5, 4].map((i) => `page-${engine}-${i}`));
    expect(first.hasMore).toBe(true);
    expect(first.totalCount).toBe(7);
    const last = await repos.devices.list(filter, page({ offset: 6, limit: 3 }));
    expect(last.rows).toHaveLength(1);
    expect(last.hasMore).toBe(false);
    expect(last.totalCount).toBeUndefined();
  });

  it('returns the existing git commit for the same sha and repository', async () => {
    const input = { sha: 'c'.repeat(40), message: 'm', origin: 'git@github.com:acme/fleet.git' };
    const a = await repos.gitCommits.create(input);
    const b = await repos.gitCommits.create({ ...input, origin: 'https://github.com/acme/fleet' });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.row.id).toBe(a.row.id);
    const other = await repos.gitCommits.create({ ...input, origin: 'https://gitlab.com/acme/fleet' });
    expect(other.row.id).not.toBe(a.row.id);
  });

  it('keeps timestamps as RFC 3339 UTC strings', async () => {
    const t = await repos.configTypes.create({ name: `Time ${engine}`, slug: `time-${engine}` });
    const read = await repos.configTypes.get(t.id);
    expect(read?.created_at).toBe(t.created_at);
    expect(read?.created_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  });
});
