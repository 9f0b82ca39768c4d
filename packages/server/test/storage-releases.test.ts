import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import { createRepositories, type Repositories, type Store } from '../src/index.ts';
import { renderConfigInstances, renderReleases } from '../src/views/index.ts';

describe.each(storageEngines())('schemas, instances and releases on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;
  let repos: Repositories;
  let typeA: string;
  let typeB: string;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
    repos = createRepositories(store.db);
    typeA = (await repos.configTypes.create({ name: 'A', slug: 'a' })).id;
    typeB = (await repos.configTypes.create({ name: 'B', slug: 'b' })).id;
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  const schema = (typeId: string, key: string, path = `/srv/${key}.json`) => ({
    config_type_id: typeId,
    language: 'jsonschema' as const,
    format: 'json' as const,
    instance_filepath: path,
    digest: `sha256:${key}`,
    identity_key: key,
    git_commit_id: null,
    documents: [{ name: `${key}.json`, data: '{ }', repository_path: null }],
  });

  it('concurrent creates of one identity return one schema', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4].map(() => repos.configSchemas.create(schema(typeA, 'same'))),
    );
    expect(new Set(results.map((r) => r.row.id)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await repos.configSchemas.documents([results[0]!.row.id])).get(results[0]!.row.id)).toHaveLength(
      1,
    );
  });

  it('the database itself refuses two schemas of one type, or one path twice, in a release', async () => {
    const s1 = (await repos.configSchemas.create(schema(typeA, 's1', '/srv/x.json'))).row;
    const s2 = (await repos.configSchemas.create(schema(typeA, 's2', '/srv/y.json'))).row;
    const s3 = (await repos.configSchemas.create(schema(typeB, 's3', '/srv/x.json'))).row;
    const ref = (s: typeof s1) => ({
      id: s.id,
      config_type_id: s.config_type_id,
      instance_filepath: s.instance_filepath,
    });
    await expect(
      repos.releases.create({ version: '1', git_commit_id: null, schemas: [ref(s1), ref(s2)] }),
    ).rejects.toThrow();
    await expect(
      repos.releases.create({ version: '1', git_commit_id: null, schemas: [ref(s1), ref(s3)] }),
    ).rejects.toThrow();
    // Nothing half-written: the version is still free.
    const ok = await repos.releases.create({
      version: 'v1',
      git_commit_id: null,
      schemas: [ref(s2), ref(s3)],
    });
    expect((await repos.releases.schemaIds([ok.id])).get(ok.id)).toEqual([s2.id, s3.id]);
    await expect(
      repos.releases.create({ version: '1', git_commit_id: null, schemas: [ref(s2)] }),
    ).rejects.toMatchObject({
      status: 409,
    });
  });

  it('renders many releases and instances with nested expansions in batches', async () => {
    const s = (await repos.configSchemas.create(schema(typeB, 'render', '/srv/render.json'))).row;
    const releases = [];
    for (const v of ['2.0', '2.1', '2.2'])
      releases.push(
        await repos.releases.create({
          version: v,
          git_commit_id: null,
          schemas: [{ id: s.id, config_type_id: typeB, instance_filepath: s.instance_filepath }],
        }),
      );
    const rendered = await renderReleases(repos, releases, {
      config_schemas: { config_type: {}, documents: {} },
    });
    expect(rendered.map((r) => r.config_schemas?.[0]?.config_type?.slug)).toEqual(['b', 'b', 'b']);
    expect(rendered[0]!.config_schemas![0]!.documents![0]!.data).toBe('{ }');

    const inst = await repos.configInstances.create({
      config_schema_id: s.id,
      config_type_id: typeB,
      filepath: s.instance_filepath,
      format: 'json',
      data: '{"b": 1.0, "a": 2}',
      content_digest: 'sha256:x',
    });
    const [view] = await renderConfigInstances(repos, [inst], {
      content: {},
      config_schema: { config_type: {} },
    });
    expect(view).toMatchObject({
      config_type_name: 'B',
      content: { format: 'json', data: '{"b": 1.0, "a": 2}' },
      config_schema: { id: s.id, config_type: { id: typeB } },
    });
    expect(view).not.toHaveProperty('config_type');
  });
});
