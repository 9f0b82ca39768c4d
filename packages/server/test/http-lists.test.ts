import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createSchema, createType, mobilitySchemaBody } from './support-configs.ts';

/**
 * List conventions (pagination, order, filters, expand) are implemented once; these tests run the
 * same checks over every list endpoint that exists so far.
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

interface ListedResource {
  path: string;
  table: 'config_types' | 'devices' | 'git_commits';
  listOp: string;
  /** Creates one item; `tag` makes it findable by `filterParam`. */
  create(tag: string, i: number): Promise<{ id: string; filterValue: string }>;
  filterParam: string;
}

const RESOURCES: ListedResource[] = [
  {
    path: 'config_types',
    table: 'config_types',
    listOp: 'listConfigTypes',
    filterParam: 'slug',
    async create(tag, i) {
      const slug = `${tag}-${i}`;
      const res = await t.api('POST', 'config_types', { body: { name: `${tag} ${i}`, slug } });
      expect(res.status, res.text).toBe(200);
      return { id: res.body.id, filterValue: slug };
    },
  },
  {
    path: 'devices',
    table: 'devices',
    listOp: 'listDevices',
    filterParam: 'name',
    async create(tag, i) {
      const name = `${tag}-${i}`;
      const res = await t.api('POST', 'devices', { body: { name } });
      expect(res.status, res.text).toBe(200);
      return { id: res.body.id, filterValue: name };
    },
  },
  {
    path: 'git_commits',
    table: 'git_commits',
    listOp: 'listGitCommits',
    filterParam: 'sha',
    async create(tag) {
      const sha = randomBytes(20).toString('hex');
      const res = await t.api('POST', 'git_commits', {
        body: { sha, message: tag, origin: `https://github.com/lists/${tag}.git` },
      });
      expect(res.status, res.text).toBe(200);
      return { id: res.body.id, filterValue: sha };
    },
  },
];

const ids = (body: any) => body.data.map((x: any) => x.id);

describe.each(RESOURCES)('GET /$path list conventions', (r) => {
  let items: Array<{ id: string; filterValue: string }>;
  let filter: string;
  const list = async (query: string) => {
    const res = await t.api('GET', `${r.path}?${filter}${query ? `&${query}` : ''}`);
    expect(res.status, res.text).toBe(200);
    expectReferenceResponse(r.listOp, res.body);
    return res.body;
  };

  beforeAll(async () => {
    const tag = `lst${randomBytes(3).toString('hex')}`;
    items = [];
    for (let i = 0; i < 5; i++) items.push(await r.create(tag, i));
    filter = `${r.filterParam}=${items.map((x) => x.filterValue).join(',')}`;
  });

  it('defaults: offset 0, limit 10, newest first, no total_count', async () => {
    const body = await list('');
    expect(body).toMatchObject({ object: 'list', offset: 0, limit: 10, has_more: false });
    expect(body).not.toHaveProperty('total_count');
    expect(ids(body)).toEqual(items.map((x) => x.id).reverse());
  });

  it('pages with limit/offset, has_more exact at the boundary, every item exactly once', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < 6; offset += 2) {
      const body = await list(`limit=2&offset=${offset}&order_by=created_at:asc`);
      expect(body).toMatchObject({ limit: 2, offset });
      expect(body.has_more).toBe(offset + 2 < 5);
      seen.push(...ids(body));
    }
    expect(seen).toEqual(items.map((x) => x.id));
    const exact = await list('limit=5');
    expect(exact.has_more).toBe(false);
    const past = await list('offset=50');
    expect(past).toMatchObject({ data: [], has_more: false, offset: 50 });
  });

  it('clamps limit to 1..100 and offset to ≥ 0 (and says so in the body)', async () => {
    expect(await list('limit=0')).toMatchObject({ limit: 1, has_more: true });
    expect((await list('limit=0')).data).toHaveLength(1);
    expect(await list('limit=-7')).toMatchObject({ limit: 1 });
    expect(await list('limit=1000')).toMatchObject({ limit: 100 });
    expect(await list('limit=99999999999999999999999')).toMatchObject({ limit: 100 });
    expect(await list('limit=-99999999999999999999999')).toMatchObject({ limit: 1 });
    expect(await list('offset=99999999999999999999999')).toMatchObject({ data: [], has_more: false });
    const negative = await list('offset=-3&order_by=created_at:asc');
    expect(negative.offset).toBe(0);
    expect(ids(negative)[0]).toBe(items[0]!.id);
  });

  it('expand=total_count in every form counts all matches', async () => {
    for (const q of [
      'expand=total_count',
      'expand[]=total_count',
      'expand=total_count&expand=total_count',
      'expand=total_count,total_count',
      'expand=total_count|total_count',
      'expand[]=total_count&expand=total_count',
    ]) {
      const body = await list(`${q}&limit=2`);
      expect(body.total_count, q).toBe(5);
      expect(body.data).toHaveLength(2);
    }
  });

  it('order_by: each key, both directions, repeated and comma-joined; unknown → 400', async () => {
    const byId = [...items].map((x) => x.id).sort();
    expect(ids(await list('order_by=id:asc'))).toEqual(byId);
    expect(ids(await list('order_by=id:desc'))).toEqual([...byId].reverse());
    expect(ids(await list('order_by=created_at:asc'))).toEqual(items.map((x) => x.id));
    expect(ids(await list('order_by=created_at:desc'))).toEqual(items.map((x) => x.id).reverse());
    expect(ids(await list('order_by=id:desc&order_by=created_at:asc'))).toEqual([...byId].reverse());
    expect(ids(await list('order_by=created_at:asc,id:desc'))).toEqual(items.map((x) => x.id));
    for (const bad of ['name:asc', 'id:up', 'created_at:asc:desc', 'id;drop table']) {
      const res = await t.api('GET', `${r.path}?order_by=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_parameter', params: { field: 'order_by' } });
    }
  });

  it('ties on created_at are broken by id ascending, so paging is stable', async () => {
    const tieIds = items.map((x) => x.id);
    const same = '2020-01-01T00:00:00.000Z';
    await t.server.store.db
      .updateTable(r.table)
      .set({ created_at: same })
      .where('id', 'in', tieIds)
      .execute();
    try {
      const sorted = [...tieIds].sort();
      expect(ids(await list('order_by=created_at:desc'))).toEqual(sorted);
      expect(ids(await list('order_by=created_at:asc'))).toEqual(sorted);
      const paged: string[] = [];
      for (let offset = 0; offset < 5; offset += 2)
        paged.push(...ids(await list(`limit=2&offset=${offset}`)));
      expect(paged).toEqual(sorted);
      // An explicit id key wins over the tie-breaker.
      expect(ids(await list('order_by=created_at:desc,id:desc'))).toEqual([...sorted].reverse());
    } finally {
      // Restore distinct, increasing timestamps so the other tests see creation order again.
      for (const [i, id] of tieIds.entries()) {
        await t.server.store.db
          .updateTable(r.table)
          .set({ created_at: `2030-01-01T00:00:0${i}.000Z` })
          .where('id', '=', id)
          .execute();
      }
    }
  });

  it('array filters accept repeated, comma-joined, pipe-joined and mixed forms', async () => {
    const [a, b, c] = items as [any, any, any];
    const key = r.filterParam;
    const forms = [
      `${key}=${a.filterValue}&${key}=${b.filterValue}&${key}=${c.filterValue}`,
      `${key}=${a.filterValue},${b.filterValue},${c.filterValue}`,
      `${key}=${a.filterValue}|${b.filterValue}|${c.filterValue}`,
      `${key}=${encodeURIComponent(`${a.filterValue}|${b.filterValue}`)}&${key}=${c.filterValue}`,
      `${key}=${a.filterValue},${b.filterValue}&${key}=${c.filterValue}`,
    ];
    for (const form of forms) {
      const res = await t.api('GET', `${r.path}?${form}&order_by=created_at:asc`);
      expect(res.status, form).toBe(200);
      expect(ids(res.body), form).toEqual([a.id, b.id, c.id]);
    }
    const byIds = await t.api('GET', `${r.path}?id=${a.id}|${c.id}&order_by=created_at:asc`);
    expect(ids(byIds.body)).toEqual([a.id, c.id]);
    // Filters combine with AND: id and the other filter must both match.
    const both = await t.api('GET', `${r.path}?id=${a.id}&${key}=${b.filterValue}`);
    expect(both.body.data).toEqual([]);
    // An empty filter value filters nothing out of the other filter's matches.
    const empty = await t.api('GET', `${r.path}?${filter}&id=`);
    expect(ids(empty.body)).toHaveLength(5);
  });

  it('unknown expand names and depth > 4 → 400 invalid_expand naming expand', async () => {
    for (const bad of ['owner', 'total_count.x', 'a.b.c.d.e', 'total_count,bogus']) {
      for (const form of ['expand', 'expand[]']) {
        const res = await t.api('GET', `${r.path}?${form}=${bad}`);
        expect(res.status, `${form}=${bad}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_expand', params: { field: 'expand' } });
      }
    }
    const deep = await t.api('GET', `${r.path}?expand=a.b.c.d.e`);
    expect(deep.body.error.params).toMatchObject({ max_depth: 4, value: 'a.b.c.d.e' });
  });
});

describe('nested expand forms (releases → config_schemas → config_type / documents)', () => {
  let release: { id: string };
  let typeId: string;
  beforeAll(async () => {
    const type = await createType(t, 'nested');
    typeId = type.id;
    const schema = await createSchema(t, mobilitySchemaBody(type.id));
    const res = await t.api('POST', 'releases', {
      body: { version: 'v7.0.0', config_schema_ids: [schema.id] },
    });
    expect(res.status, res.text).toBe(200);
    release = res.body;
  });

  const getRelease = async (query: string) => {
    const res = await t.api('GET', `releases/${release.id}?${query}`);
    expect(res.status, `${query}: ${res.text}`).toBe(200);
    expectReferenceResponse('getRelease', res.body);
    return res.body;
  };

  it('a nested path expands its parent too, in every form', async () => {
    for (const q of [
      'expand=config_schemas.config_type',
      'expand[]=config_schemas.config_type',
      'expand=config_schemas&expand=config_schemas.config_type',
      'expand[]=config_schemas&expand[]=config_schemas.config_type',
    ]) {
      const body = await getRelease(q);
      expect(body.config_schemas, q).toHaveLength(1);
      expect(body.config_schemas[0].config_type, q).toMatchObject({ object: 'config_type', id: typeId });
      expect(body.config_schemas[0], q).not.toHaveProperty('documents');
    }
  });

  it('several nested paths: comma-joined, pipe-joined, repeated and mixed', async () => {
    for (const q of [
      'expand=config_schemas.config_type,config_schemas.documents',
      'expand=config_schemas.config_type|config_schemas.documents',
      'expand=config_schemas.config_type&expand=config_schemas.documents',
      'expand[]=config_schemas.config_type&expand=config_schemas.documents',
    ]) {
      const body = await getRelease(q);
      expect(body.config_schemas[0].config_type.id, q).toBe(typeId);
      expect(body.config_schemas[0].documents.length, q).toBeGreaterThan(0);
    }
  });

  it('unexpanded fields are omitted, never null', async () => {
    const plain = await getRelease('');
    expect(plain).not.toHaveProperty('config_schemas');
    const one = await getRelease('expand=config_schemas');
    expect(one.config_schemas[0]).not.toHaveProperty('config_type');
    expect(one.config_schemas[0]).not.toHaveProperty('documents');
  });

  it('the same forms work on the list, with total_count alongside', async () => {
    const res = await t.api(
      'GET',
      `releases?id=${release.id}&expand[]=total_count&expand=config_schemas.config_type`,
    );
    expect(res.status, res.text).toBe(200);
    expectReferenceResponse('listReleases', res.body);
    expect(res.body.total_count).toBe(1);
    expect(res.body.data[0].config_schemas[0].config_type.id).toBe(typeId);
  });

  it('an unknown nested name or depth > 4 → 400 invalid_expand', async () => {
    for (const bad of [
      'config_schemas.owner',
      'config_schemas.config_type.schemas',
      'config_schemas.documents.x',
      'config_schemas.config_type.a.b',
    ]) {
      for (const form of ['expand', 'expand[]']) {
        const res = await t.api('GET', `releases/${release.id}?${form}=${bad}`);
        expect(res.status, `${form}=${bad}`).toBe(400);
        expect(res.body.error).toMatchObject({ code: 'invalid_expand', params: { field: 'expand' } });
      }
    }
    const deep = await t.api('GET', `releases/${release.id}?expand=config_schemas.config_type.a.b.c`);
    expect(deep.body.error.params.max_depth).toBe(4);
  });
});
