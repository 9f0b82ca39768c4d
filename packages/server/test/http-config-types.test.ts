import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

async function createType(name: string, slug: string) {
  const res = await t.api('POST', 'config_types', { body: { name, slug } });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

/** A schema row hanging off the type, as the schema endpoints will create it. */
async function attachSchema(configTypeId: string) {
  const now = new Date().toISOString();
  const id = `cfg_sch_${Math.random().toString(36).slice(2)}`;
  await t.server.store.db
    .insertInto('config_schemas')
    .values({
      id,
      config_type_id: configTypeId,
      language: 'jsonschema',
      format: 'json',
      instance_filepath: '/etc/robot/motion.json',
      digest: id,
      identity_key: id,
      git_commit_id: null,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

describe('POST /config_types (createConfigType)', () => {
  it('creates a config type in the reference shape', async () => {
    const res = await t.api('POST', 'config_types', {
      body: { name: 'Motion Control', slug: 'motion-control' },
    });
    expect(res.status).toBe(200);
    expectReferenceResponse('createConfigType', res.body);
    expect(res.body).toMatchObject({ object: 'config_type', name: 'Motion Control', slug: 'motion-control' });
    expect(res.body.id).toMatch(/^cfg_typ_[A-Za-z0-9]{8,}$/);
    expect(res.body.created_at).toMatch(RFC3339_UTC);
    expect(res.body.updated_at).toBe(res.body.created_at);
  });
  it('gives every config type a different random id', async () => {
    const a = await createType('Id A', 'id-a');
    const b = await createType('Id B', 'id-b');
    expect(a.id).not.toBe(b.id);
  });
  it('trims the name', async () => {
    const body = await createType('  Padded Name  ', 'padded-name');
    expect(body.name).toBe('Padded Name');
  });
  it('a taken slug → 409 naming the slug; nothing created', async () => {
    const first = await createType('Slug Owner', 'taken-slug');
    const res = await t.api('POST', 'config_types', { body: { name: 'Other Name', slug: 'taken-slug' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'already_exists',
      params: { field: 'slug', existing_id: first.id },
    });
    const list = await t.api('GET', 'config_types?name=Other Name');
    expect(list.body.data).toHaveLength(0);
  });
  it('a taken name → 409 naming the name; nothing created', async () => {
    const first = await createType('Taken Name', 'taken-name-1');
    const res = await t.api('POST', 'config_types', { body: { name: 'Taken Name', slug: 'taken-name-2' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'already_exists',
      params: { field: 'name', existing_id: first.id },
    });
    const list = await t.api('GET', 'config_types?slug=taken-name-2');
    expect(list.body.data).toHaveLength(0);
  });
  it('a name that differs only by surrounding spaces is the same name → 409', async () => {
    await createType('Spaced', 'spaced-1');
    const res = await t.api('POST', 'config_types', { body: { name: ' Spaced ', slug: 'spaced-2' } });
    expect(res.status).toBe(409);
  });
  it('concurrent creates of one slug or name: exactly one wins, the rest are 409 (never a 500)', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        t.api('POST', 'config_types', {
          body: i % 2 ? { name: 'Racing', slug: `racing-${i}` } : { name: `Racing ${i}`, slug: 'racing' },
        }),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    const conflicts = results.filter((r) => r.status === 409);
    expect(ok.length + conflicts.length).toBe(8);
    // The slug 'racing' and the name 'Racing' are each taken exactly once.
    expect(ok).toHaveLength(2);
    for (const r of conflicts) expect(r.body.error.code).toBe('already_exists');
    const bySlug = await t.api('GET', 'config_types?slug=racing&expand=total_count');
    expect(bySlug.body.total_count).toBe(1);
    const byName = await t.api('GET', 'config_types?name=Racing&expand=total_count');
    expect(byName.body.total_count).toBe(1);
  });
  it('an invalid slug → 400 naming slug', async () => {
    for (const slug of ['Upper', 'has space', '-lead', 'trail-', '', 'x'.repeat(49), 'under_score']) {
      const res = await t.api('POST', 'config_types', { body: { name: `Bad slug ${slug.length}`, slug } });
      expect(res.status, slug).toBe(400);
      expect(res.body.error.params.field).toBe('slug');
    }
  });
});

describe('GET /config_types/{id} (getConfigType)', () => {
  it('returns the config type in the reference shape', async () => {
    const created = await createType('Fetched', 'fetched');
    const res = await t.api('GET', `config_types/${created.id}`);
    expect(res.status).toBe(200);
    expectReferenceResponse('getConfigType', res.body);
    expect(res.body).toEqual(created);
  });
  it('an unknown id → 404 in the envelope', async () => {
    const res = await t.api('GET', 'config_types/cfg_typ_doesnotexist');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('resource_not_found');
    expect(res.body.error.message).toContain('cfg_typ_doesnotexist');
  });
});

describe('GET /config_types (listConfigTypes)', () => {
  it('lists in the reference shape, newest first by default', async () => {
    const a = await createType('List A', 'list-a');
    const b = await createType('List B', 'list-b');
    const res = await t.api('GET', 'config_types?slug=list-a,list-b');
    expect(res.status).toBe(200);
    expectReferenceResponse('listConfigTypes', res.body);
    expect(res.body).toMatchObject({ object: 'list', limit: 10, offset: 0, has_more: false });
    expect(res.body).not.toHaveProperty('total_count');
    expect(res.body.data.map((c: any) => c.id)).toEqual([b.id, a.id]);
  });
  it('filters by id, name and slug', async () => {
    const a = await createType('Filter A', 'filter-a');
    const b = await createType('Filter B', 'filter-b');
    const byId = await t.api('GET', `config_types?id=${a.id}`);
    expect(byId.body.data.map((c: any) => c.id)).toEqual([a.id]);
    const byName = await t.api('GET', `config_types?name=${encodeURIComponent('Filter B')}`);
    expect(byName.body.data.map((c: any) => c.id)).toEqual([b.id]);
    const bySlug = await t.api('GET', 'config_types?slug=filter-a&slug=filter-b&order_by=created_at:asc');
    expectReferenceResponse('listConfigTypes', bySlug.body);
    expect(bySlug.body.data.map((c: any) => c.id)).toEqual([a.id, b.id]);
    const none = await t.api('GET', `config_types?id=${a.id}&slug=filter-b`);
    expect(none.body.data).toEqual([]);
  });
  it('expand=total_count counts every match, not just the page', async () => {
    for (const i of [1, 2, 3]) await createType(`Count ${i}`, `count-${i}`);
    const res = await t.api('GET', 'config_types?slug=count-1,count-2,count-3&limit=2&expand=total_count');
    expectReferenceResponse('listConfigTypes', res.body);
    expect(res.body).toMatchObject({ total_count: 3, limit: 2, has_more: true });
    expect(res.body.data).toHaveLength(2);
  });
});

describe('PATCH /config_types/{id} (updateConfigType)', () => {
  it('renames and re-slugs; updated_at moves, created_at does not', async () => {
    const created = await createType('Before', 'before');
    const res = await t.api('PATCH', `config_types/${created.id}`, {
      body: { name: 'After', slug: 'after' },
    });
    expect(res.status).toBe(200);
    expectReferenceResponse('updateConfigType', res.body);
    expect(res.body).toMatchObject({
      id: created.id,
      name: 'After',
      slug: 'after',
      created_at: created.created_at,
    });
    expect(res.body.updated_at > created.updated_at).toBe(true);
    const got = await t.api('GET', `config_types/${created.id}`);
    expect(got.body).toEqual(res.body);
  });
  it('omitted fields stay unchanged; an empty patch changes nothing', async () => {
    const created = await createType('Partial', 'partial');
    const nameOnly = await t.api('PATCH', `config_types/${created.id}`, { body: { name: 'Partial 2' } });
    expect(nameOnly.body).toMatchObject({ name: 'Partial 2', slug: 'partial' });
    const empty = await t.api('PATCH', `config_types/${created.id}`, { body: {} });
    expect(empty.status).toBe(200);
    expectReferenceResponse('updateConfigType', empty.body);
    expect(empty.body).toEqual(nameOnly.body);
  });
  it('renaming to its own current name is not a conflict', async () => {
    const created = await createType('Same', 'same');
    const res = await t.api('PATCH', `config_types/${created.id}`, { body: { name: 'Same', slug: 'same' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual(created);
  });
  it("another type's name or slug → 409; the type is unchanged", async () => {
    const a = await createType('Patch A', 'patch-a');
    const b = await createType('Patch B', 'patch-b');
    const name = await t.api('PATCH', `config_types/${b.id}`, { body: { name: 'Patch A' } });
    expect(name.status).toBe(409);
    expect(name.body.error.params).toMatchObject({ field: 'name', existing_id: a.id });
    const slug = await t.api('PATCH', `config_types/${b.id}`, { body: { slug: 'patch-a' } });
    expect(slug.status).toBe(409);
    expect(slug.body.error.params).toMatchObject({ field: 'slug', existing_id: a.id });
    expect((await t.api('GET', `config_types/${b.id}`)).body).toEqual(b);
  });
  it('the slug may change only while the type has no schemas → 409 slug_immutable', async () => {
    const created = await createType('With Schema', 'with-schema');
    await attachSchema(created.id);
    const res = await t.api('PATCH', `config_types/${created.id}`, { body: { slug: 'renamed-slug' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'slug_immutable',
      params: { field: 'slug', schema_count: 1 },
    });
    expect((await t.api('GET', `config_types/${created.id}`)).body.slug).toBe('with-schema');
    // The name stays editable, and restating the current slug is no change.
    const rename = await t.api('PATCH', `config_types/${created.id}`, {
      body: { name: 'With Schema 2', slug: 'with-schema' },
    });
    expect(rename.status).toBe(200);
    expect(rename.body).toMatchObject({ name: 'With Schema 2', slug: 'with-schema' });
  });
  it('an unknown id → 404', async () => {
    const res = await t.api('PATCH', 'config_types/cfg_typ_missing', { body: { name: 'x' } });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('resource_not_found');
  });
  it('an invalid name or slug → 400 naming the field; unchanged', async () => {
    const created = await createType('Valid', 'valid');
    const slug = await t.api('PATCH', `config_types/${created.id}`, { body: { slug: 'Not Valid' } });
    expect(slug.status).toBe(400);
    expect(slug.body.error.params.field).toBe('slug');
    const name = await t.api('PATCH', `config_types/${created.id}`, { body: { name: '   ' } });
    expect(name.status).toBe(400);
    expect(name.body.error.params.field).toBe('name');
    expect((await t.api('GET', `config_types/${created.id}`)).body).toEqual(created);
  });
});

describe('config type scopes', () => {
  it('read allows get and list only', async () => {
    const created = await createType('Scope Read', 'scope-read');
    const key = await t.keyWith('config_types:read');
    expect((await t.api('GET', 'config_types', { key })).status).toBe(200);
    expect((await t.api('GET', `config_types/${created.id}`, { key })).status).toBe(200);
    const post = await t.api('POST', 'config_types', { key, body: { name: 'Nope', slug: 'nope' } });
    expect(post.status).toBe(403);
    expect(post.body.error).toMatchObject({
      code: 'missing_scope',
      params: { required: ['config_types:write'] },
    });
    expect((await t.api('PATCH', `config_types/${created.id}`, { key, body: { name: 'x' } })).status).toBe(
      403,
    );
  });
  it('write allows create and update but not reading', async () => {
    const key = await t.keyWith('config_types:write');
    const created = await t.api('POST', 'config_types', {
      key,
      body: { name: 'Scope Write', slug: 'scope-write' },
    });
    expect(created.status).toBe(200);
    expect(
      (await t.api('PATCH', `config_types/${created.body.id}`, { key, body: { name: 'W2' } })).status,
    ).toBe(200);
    expect((await t.api('GET', `config_types/${created.body.id}`, { key })).status).toBe(403);
    expect((await t.api('GET', 'config_types', { key })).status).toBe(403);
  });
  it('manage allows everything on config types', async () => {
    const key = await t.keyWith('config_types:manage');
    const created = await t.api('POST', 'config_types', {
      key,
      body: { name: 'Scope Manage', slug: 'scope-manage' },
    });
    expect(created.status).toBe(200);
    expect((await t.api('GET', `config_types/${created.body.id}`, { key })).status).toBe(200);
    expect((await t.api('GET', 'config_types', { key })).status).toBe(200);
    expect(
      (await t.api('PATCH', `config_types/${created.body.id}`, { key, body: { name: 'M2' } })).status,
    ).toBe(200);
  });
  it("another resource's scopes grant nothing here", async () => {
    const key = await t.keyWith('devices:manage', 'config_schemas:manage');
    expect((await t.api('GET', 'config_types', { key })).status).toBe(403);
    expect((await t.api('POST', 'config_types', { key, body: { name: 'X', slug: 'x' } })).status).toBe(403);
  });
});
