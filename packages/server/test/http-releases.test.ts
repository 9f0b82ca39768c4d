import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import {
  createSchema,
  createType,
  mobilitySchemaBody,
  perceptionSchemaBody,
  safetySchemaBody,
} from './support-configs.ts';

let t: TestServer;
let mobility: { id: string; config_type_id: string };
let perception: { id: string; config_type_id: string };
let safety: { id: string; config_type_id: string };
beforeAll(async () => {
  t = await startTestServer();
  mobility = await createSchema(t, mobilitySchemaBody((await createType(t, 'mobility')).id));
  perception = await createSchema(t, perceptionSchemaBody((await createType(t, 'perception')).id));
  safety = await createSchema(t, safetySchemaBody((await createType(t, 'safety')).id));
});
afterAll(async () => {
  await t?.close();
});

const create = (body: Record<string, unknown>, query = '') => t.api('POST', `releases${query}`, { body });

describe('POST /releases', () => {
  it('creates a release with its schema set; config_schemas only when expanded', async () => {
    const res = await create({ version: 'v1.0.0', config_schema_ids: [mobility.id, safety.id] });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toEqual({
      object: 'release',
      id: expect.stringMatching(/^rls_/),
      version: 'v1.0.0',
      git_commit_id: null,
      created_at: expect.any(String),
      updated_at: res.body.created_at,
    });
    const got = await t.api('GET', `releases/${res.body.id}?expand=config_schemas.config_type`);
    expect(got.body.config_schemas.map((s: { id: string }) => s.id)).toEqual([mobility.id, safety.id]);
    expect(got.body.config_schemas[1]).toMatchObject({
      object: 'config_schema',
      language: 'cue',
      config_type: { id: safety.config_type_id },
    });
    expect(got.body.config_schemas[0]).not.toHaveProperty('documents');
    const withDocs = await t.api('POST', 'releases?expand=config_schemas.documents', {
      body: { version: '0.9', config_schema_ids: [safety.id] },
    });
    expect(withDocs.body.config_schemas[0].documents.map((d: { name: string }) => d.name)).toEqual([
      'estop.cue',
      'safety.cue',
      'zones.cue',
    ]);
  });

  it('checks the version grammar (400) with valid forms accepted', async () => {
    for (const version of ['v2', '2.1', 'v3.2.1', '4.3.2-rc.1', 'v5.4.3+metadata', '6.5.4-beta.2+metadata']) {
      expect((await create({ version, config_schema_ids: [mobility.id] })).status, version).toBe(200);
    }
    for (const version of ['', 'latest', '1.2.3.4', '01.2', 'V1', '1.2-']) {
      const res = await create({ version, config_schema_ids: [mobility.id] });
      expect(res.status, version).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_version', params: { field: 'version' } });
    }
  });

  it('versions are unique, v1.2.0 and 1.2.0 being the same (409)', async () => {
    expect((await create({ version: 'v1.2.0', config_schema_ids: [mobility.id] })).status).toBe(200);
    for (const version of ['1.2.0', 'v1.2.0']) {
      const res = await create({ version, config_schema_ids: [perception.id] });
      expect(res.status, version).toBe(409);
      expect(res.body.error).toMatchObject({
        code: 'already_exists',
        params: { field: 'version', existing_version: 'v1.2.0' },
      });
    }
    expect((await create({ version: '1.2', config_schema_ids: [mobility.id] })).status).toBe(200);
  });

  it('concurrent creates of one version: exactly one wins, the rest are 409', async () => {
    const results = await Promise.all(
      ['7.0.0', 'v7.0.0', '7.0.0', 'v7.0.0'].map((version) =>
        create({ version, config_schema_ids: [mobility.id] }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
  });

  it('needs at least one schema; unknown ids are 404; a schema listed twice is 422', async () => {
    const empty = await create({ version: '8.0.0', config_schema_ids: [] });
    expect(empty.status).toBe(422);
    expect(empty.body.error.code).toBe('invalid_schema_set');
    const unknown = await create({ version: '8.0.0', config_schema_ids: [mobility.id, 'cfg_sch_nope'] });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.params.id).toBe('cfg_sch_nope');
    // An empty id is unknown too (found by the fuzzer: it was a 500).
    const blank = await create({ version: '8.0.0', config_schema_ids: ['', mobility.id] });
    expect(blank.status).toBe(404);
    expect(blank.body.error.params.id).toBe('');
    expect((await create({ version: '8.0.0', config_schema_ids: [mobility.id, mobility.id] })).status).toBe(
      422,
    );
    expect((await create({ version: '8.0.0' })).status).toBe(400);
  });

  it('at most one schema per config type, and distinct instance file paths (422)', async () => {
    const other = await createSchema(
      t,
      mobilitySchemaBody(mobility.config_type_id, { instance_filepath: '/srv/other.json' }),
    );
    const sameType = await create({ version: '9.0.0', config_schema_ids: [mobility.id, other.id] });
    expect(sameType.status).toBe(422);
    expect(sameType.body.error.params.clashes).toEqual([
      {
        rule: 'one_schema_per_config_type',
        value: mobility.config_type_id,
        config_schema_ids: [mobility.id, other.id],
      },
    ]);
    const clashType = await createType(t);
    const samePath = await createSchema(
      t,
      mobilitySchemaBody(clashType.id, { instance_filepath: '/srv/other.json' }),
    );
    const res = await create({ version: '9.0.0', config_schema_ids: [other.id, samePath.id] });
    expect(res.status).toBe(422);
    expect(res.body.error.params.clashes[0].rule).toBe('distinct_instance_filepaths');
    expect((await t.api('GET', 'releases?version=9.0.0')).body.data).toEqual([]);
  });

  it('links a git commit by id or sha (id wins); unknown commit 404', async () => {
    const commit = await t.api('POST', 'git_commits', {
      body: { sha: 'c'.repeat(40), message: 'release', origin: 'git@github.com:acme/robot-configs.git' },
    });
    const byId = await create({
      version: '10.0.0',
      config_schema_ids: [mobility.id],
      git_commit_ref: { id: commit.body.id },
    });
    expect(byId.body.git_commit_id).toBe(commit.body.id);
    const bySha = await create({
      version: '10.0.1',
      config_schema_ids: [mobility.id],
      git_commit_ref: { sha: 'c'.repeat(40) },
    });
    expect(bySha.body.git_commit_id).toBe(commit.body.id);
    const idWins = await create({
      version: '10.0.2',
      config_schema_ids: [mobility.id],
      git_commit_ref: { id: commit.body.id, sha: 'd'.repeat(40) },
    });
    expect(idWins.body.git_commit_id).toBe(commit.body.id);
    expect(
      (
        await create({
          version: '10.0.3',
          config_schema_ids: [mobility.id],
          git_commit_ref: { sha: 'd'.repeat(40) },
        })
      ).status,
    ).toBe(404);
    expect(
      (
        await create({
          version: '10.0.3',
          config_schema_ids: [mobility.id],
          git_commit_ref: { id: 'git_cmt_nope' },
        })
      ).status,
    ).toBe(404);
    expect(
      (await create({ version: '10.0.3', config_schema_ids: [mobility.id], git_commit_ref: {} })).status,
    ).toBe(400);
  });
});

describe('GET /releases', () => {
  it('get by id; unknown 404; bad expand 400', async () => {
    const r = (await create({ version: '11.0.0', config_schema_ids: [perception.id] })).body;
    expect((await t.api('GET', `releases/${r.id}`)).body).toEqual(r);
    expect((await t.api('GET', 'releases/rls_nope')).status).toBe(404);
    expect((await t.api('GET', `releases/${r.id}?expand=config_instances`)).status).toBe(400);
  });

  it('lists with id and version filters (v-prefix insensitive) and expand=config_schemas', async () => {
    const a = (await create({ version: 'v12.0.0', config_schema_ids: [mobility.id, perception.id] })).body;
    const b = (await create({ version: '12.1.0', config_schema_ids: [safety.id] })).body;
    for (const q of ['version=12.0.0', 'version=v12.0.0']) {
      expect(
        (await t.api('GET', `releases?${q}`)).body.data.map((r: { id: string }) => r.id),
        q,
      ).toEqual([a.id]);
    }
    const both = await t.api(
      'GET',
      `releases?id=${a.id},${b.id}&expand=config_schemas&expand=total_count&order_by=created_at:asc`,
    );
    expect(both.body.total_count).toBe(2);
    expect(
      both.body.data.map((r: { config_schemas: { id: string }[] }) => r.config_schemas.map((s) => s.id)),
    ).toEqual([[mobility.id, perception.id], [safety.id]]);
    const plain = await t.api('GET', `releases?id=${a.id}`);
    expect(plain.body.data[0]).not.toHaveProperty('config_schemas');
  });
});

describe('scopes', () => {
  it('create needs releases:write; get and list need releases:read', async () => {
    const r = (await create({ version: '13.0.0', config_schema_ids: [mobility.id] })).body;
    const read = await t.keyWith('releases:read');
    const write = await t.keyWith('releases:write');
    const body = { version: '13.0.1', config_schema_ids: [mobility.id] };
    expect((await t.api('POST', 'releases', { key: read, body })).status).toBe(403);
    expect(
      (await t.api('POST', 'releases', { key: await t.keyWith('config_schemas:write'), body })).status,
    ).toBe(403);
    expect((await t.api('POST', 'releases', { key: write, body })).status).toBe(200);
    for (const path of [`releases/${r.id}`, 'releases']) {
      expect((await t.api('GET', path, { key: write })).status).toBe(403);
      expect((await t.api('GET', path, { key: read })).status).toBe(200);
    }
  });
});
