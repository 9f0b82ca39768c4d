import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import {
  createSchema,
  createType,
  fixture,
  mobilitySchemaBody,
  perceptionSchemaBody,
  safetySchemaBody,
} from './support-configs.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('POST /config_schemas', () => {
  it('creates a JSON Schema (json) with the wire shape; documents are stored byte for byte', async () => {
    const type = await createType(t, 'mobility');
    const res = await t.api('POST', 'config_schemas?expand=documents&expand=config_type', {
      body: mobilitySchemaBody(type.id, { instance_filepath: '/srv/bosun/configs/mobility.json' }),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      object: 'config_schema',
      id: expect.stringMatching(/^cfg_sch_/),
      digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      config_type_name: type.name,
      config_type_id: type.id,
      instance_filepath: '/srv/bosun/configs/mobility.json',
      language: 'jsonschema',
      format: 'json',
      config_type: { object: 'config_type', id: type.id, slug: type.slug },
    });
    expect(res.body.documents).toEqual([
      {
        id: expect.stringMatching(/^doc_/),
        name: 'mobility.schema.json',
        data: fixture('schemas/mobility.schema.json'),
      },
    ]);
    expect(res.body.created_at).toBe(res.body.updated_at);
  });

  it('creates a YAML JSON Schema and a three-file CUE package', async () => {
    const perception = await createSchema(t, perceptionSchemaBody((await createType(t)).id));
    expect(perception).toMatchObject({ format: 'yaml', language: 'jsonschema' });
    const safety = await createSchema(t, safetySchemaBody((await createType(t)).id));
    expect(safety).toMatchObject({ format: 'cue', language: 'cue' });
    const got = await t.api('GET', `config_schemas/${safety.id}?expand=documents`);
    expect(got.body.documents.map((d: { name: string }) => d.name)).toEqual([
      'estop.cue',
      'safety.cue',
      'zones.cue',
    ]);
    expect(got.body.documents[2].data).toBe(fixture('schemas/safety/zones.cue'));
  });

  it('resolves config_type_ref by slug, id winning over slug; unknown → 404', async () => {
    const a = await createType(t);
    const b = await createType(t);
    const bySlug = await createSchema(t, { ...mobilitySchemaBody(''), config_type_ref: { slug: a.slug } });
    expect(bySlug.config_type_id).toBe(a.id);
    const both = await createSchema(t, {
      ...mobilitySchemaBody(''),
      config_type_ref: { id: b.id, slug: a.slug },
    });
    expect(both.config_type_id).toBe(b.id);
    for (const ref of [
      { id: 'cfg_typ_nope' },
      { slug: 'no-such-type' },
      { id: 'cfg_typ_nope', slug: a.slug },
    ]) {
      const res = await t.api('POST', 'config_schemas', {
        body: { ...mobilitySchemaBody(''), config_type_ref: ref },
      });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('resource_not_found');
    }
    const empty = await t.api('POST', 'config_schemas', {
      body: { ...mobilitySchemaBody(''), config_type_ref: {} },
    });
    expect(empty.status).toBe(400);
    expect(empty.body.error.params.field).toBe('config_type_ref');
  });

  it('defaults instance_filepath to /srv/bosun/configs/<slug>.json and refuses paths that are not absolute and normalised', async () => {
    const type = await createType(t);
    expect((await createSchema(t, mobilitySchemaBody(type.id))).instance_filepath).toBe(
      `/srv/bosun/configs/${type.slug}.json`,
    );
    for (const p of ['relative.json', '/srv/../etc/passwd', '/srv//a.json', '/srv/', '']) {
      const res = await t.api('POST', 'config_schemas', {
        body: mobilitySchemaBody(type.id, { instance_filepath: p }),
      });
      expect(res.status, p).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'invalid_filepath',
        params: { field: 'instance_filepath' },
      });
    }
  });

  it('is idempotent: equal canonical content, type, language, format and path returns the existing schema', async () => {
    const type = await createType(t);
    const first = await t.api('POST', 'config_schemas', { body: mobilitySchemaBody(type.id) });
    // Same schema, reformatted and keys reordered.
    const parsed = JSON.parse(fixture('schemas/mobility.schema.json'));
    const reordered = Object.fromEntries(Object.entries(parsed).reverse());
    const again = await t.api('POST', 'config_schemas?expand=documents', {
      body: {
        ...mobilitySchemaBody(type.id),
        documents: [{ name: 'other-name.json', data: JSON.stringify(reordered) }],
      },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(first.body.id);
    expect(again.body.digest).toBe(first.body.digest);
    // The stored document is the first upload, untouched.
    expect(again.body.documents[0].data).toBe(fixture('schemas/mobility.schema.json'));
    const list = await t.api('GET', `config_schemas?config_type_id=${type.id}`);
    expect(list.body.data).toHaveLength(1);
  });

  it('the digest ignores formatting (JSON, YAML, CUE) but a different path or type is a different schema', async () => {
    const type = await createType(t);
    const json = await createSchema(t, mobilitySchemaBody(type.id));
    const yaml = (await import('yaml')).stringify(JSON.parse(fixture('schemas/mobility.schema.json')));
    const asYaml = await createSchema(t, {
      ...mobilitySchemaBody(type.id),
      format: 'yaml',
      documents: [{ name: 'm.yaml', data: yaml }],
    });
    expect(asYaml.digest).toBe(json.digest);
    expect(asYaml.id).not.toBe(json.id);
    const otherPath = await createSchema(
      t,
      mobilitySchemaBody(type.id, { instance_filepath: '/etc/m.json' }),
    );
    expect(otherPath.id).not.toBe(json.id);
    const otherType = await createSchema(t, mobilitySchemaBody((await createType(t)).id));
    expect(otherType.id).not.toBe(json.id);

    const cueType = await createType(t);
    const cue = await createSchema(t, safetySchemaBody(cueType.id));
    const respaced = safetySchemaBody(cueType.id);
    respaced.documents = [...respaced.documents]
      .reverse()
      .map((d) => ({ name: d.name, data: `\n${d.data.replace(/\t/g, '    ').replace(/\n/g, '\r\n')}\n\n` }));
    const cueAgain = await t.api('POST', 'config_schemas', { body: respaced });
    expect(cueAgain.body.id).toBe(cue.id);
    const changed = safetySchemaBody(cueType.id);
    changed.documents[1] = { name: 'safety.cue', data: changed.documents[1]!.data.replace('<=300', '<=400') };
    expect((await createSchema(t, changed)).digest).not.toBe(cue.digest);
  });

  it('accepts $schema absent or the 2020-12 URI in http and https form; other drafts are 422', async () => {
    const type = await createType(t);
    for (const $schema of [
      undefined,
      'https://json-schema.org/draft/2020-12/schema',
      'http://json-schema.org/draft/2020-12/schema',
    ]) {
      const res = await t.api('POST', 'config_schemas', {
        body: mobilitySchemaBody(type.id, {
          instance_filepath: `/x/${$schema ? $schema.slice(0, 5) : 'none'}.json`,
          documents: [{ name: 's.json', data: JSON.stringify({ $schema, type: 'object' }) }],
        }),
      });
      expect(res.status, String($schema)).toBe(200);
    }
    const old = await t.api('POST', 'config_schemas', {
      body: mobilitySchemaBody(type.id, {
        documents: [
          { name: 's.json', data: JSON.stringify({ $schema: 'http://json-schema.org/draft-07/schema#' }) },
        ],
      }),
    });
    expect(old.status).toBe(422);
    expect(old.body.error).toMatchObject({ code: 'unsupported_schema_draft', params: { field: '$schema' } });
  });

  it('rejects JSON Schemas that do not parse or compile with 422 and the compiler message', async () => {
    const type = await createType(t);
    const cases: [string, string, RegExp][] = [
      ['json', '{"type": "object",', /not valid JSON/],
      ['yaml', 'type: [object\n', /not valid YAML/],
      ['json', '{"type": "strin"}', /does not compile.*type/],
      ['json', '{"properties": {"a": {"$ref": "#/$defs/missing"}}}', /does not compile.*missing/],
      ['json', '{"minimum": "zero"}', /does not compile/],
    ];
    for (const [format, data, message] of cases) {
      const res = await t.api('POST', 'config_schemas', {
        body: mobilitySchemaBody(type.id, { format, documents: [{ name: `s.${format}`, data }] }),
      });
      expect(res.status, data).toBe(422);
      expect(res.body.error.code).toBe('invalid_schema');
      expect(res.body.error.message).toMatch(message);
    }
    expect((await t.api('GET', `config_schemas?config_type_id=${type.id}`)).body.data).toEqual([]);
  });

  it('rejects a JSON Schema whose default values violate it (422), naming each default', async () => {
    const type = await createType(t);
    const schema = {
      type: 'object',
      properties: {
        speed: { type: 'number', maximum: 5, default: 7.5 },
        nested: { type: 'object', properties: { mode: { enum: ['a', 'b'], default: 'c' } } },
        ok: { type: 'integer', default: 3 },
      },
    };
    const res = await t.api('POST', 'config_schemas', {
      body: mobilitySchemaBody(type.id, { documents: [{ name: 's.json', data: JSON.stringify(schema) }] }),
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('invalid_schema_default');
    expect(res.body.error.params.violations.map((v: { pointer: string }) => v.pointer)).toEqual([
      '/properties/speed',
      '/properties/nested/properties/mode',
    ]);
  });

  it('rejects CUE packages that do not compile or mix packages (422 with the compiler message)', async () => {
    const type = await createType(t);
    const broken = await t.api('POST', 'config_schemas', {
      body: safetySchemaBody(type.id, {
        documents: [{ name: 'a.cue', data: 'package a\nx: int & "text"\ny: [' }],
      }),
    });
    expect(broken.status).toBe(422);
    expect(broken.body.error.code).toBe('invalid_schema');
    expect(broken.body.error.message).toContain("expected ']'");
    const conflict = await t.api('POST', 'config_schemas', {
      body: safetySchemaBody(type.id, {
        documents: [{ name: 'a.cue', data: 'package a\nx: int & "text"\n' }],
      }),
    });
    expect(conflict.status).toBe(422);
    expect(conflict.body.error.params.compiler_message).toMatch(/conflicting values/);
    const mixed = await t.api('POST', 'config_schemas', {
      body: safetySchemaBody(type.id, {
        documents: [
          { name: 'a.cue', data: 'package a\nx: int\n' },
          { name: 'b.cue', data: 'package b\ny: int\n' },
        ],
      }),
    });
    expect(mixed.status).toBe(422);
    expect(mixed.body.error.message).toMatch(/one package/);
  });

  it('checks language/format pairs and document counts', async () => {
    const type = await createType(t);
    const bad: [Record<string, unknown>, number, string][] = [
      [{ language: 'jsonschema', format: 'cue' }, 422, 'invalid_format'],
      [{ language: 'cue', format: 'json' }, 422, 'invalid_format'],
      [{ language: 'opaque', format: 'json' }, 400, 'invalid_request'],
      [{ documents: [] }, 422, 'invalid_documents'],
      [
        {
          documents: [
            { name: 'a.json', data: '{}' },
            { name: 'b.json', data: '{}' },
          ],
        },
        422,
        'invalid_documents',
      ],
      [{ documents: [{ name: 'a.json' }] }, 400, 'invalid_request'],
    ];
    for (const [patch, status, code] of bad) {
      const res = await t.api('POST', 'config_schemas', { body: mobilitySchemaBody(type.id, patch) });
      expect(res.status, JSON.stringify(patch)).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
  });

  it('links a git commit by id or sha with repo-relative file paths', async () => {
    const commit = await t.api('POST', 'git_commits', {
      body: { sha: 'a'.repeat(40), message: 'schemas', origin: 'https://github.com/acme/robot-configs.git' },
    });
    expect(commit.status).toBe(200);
    const type = await createType(t);
    const byId = await t.api('POST', 'config_schemas', {
      body: mobilitySchemaBody(type.id, {
        git_commit: {
          commit_ref: { id: commit.body.id },
          schema_filepaths: ['schemas/mobility.schema.json'],
        },
      }),
    });
    expect(byId.status).toBe(200);
    const row = await t.server.app.repos.configSchemas.get(byId.body.id);
    expect(row?.git_commit_id).toBe(commit.body.id);
    const docs = await t.server.app.repos.configSchemas.documents([byId.body.id]);
    expect(docs.get(byId.body.id)?.[0]?.repository_path).toBe('schemas/mobility.schema.json');

    const bySha = await t.api('POST', 'config_schemas', {
      body: safetySchemaBody(type.id, {
        instance_filepath: '/srv/bosun/configs/safety.json',
        git_commit: {
          commit_ref: { sha: 'a'.repeat(40) },
          schema_filepaths: [
            'schemas/safety/estop.cue',
            'schemas/safety/safety.cue',
            'schemas/safety/zones.cue',
          ],
        },
      }),
    });
    expect(bySha.status).toBe(200);
    expect((await t.server.app.repos.configSchemas.get(bySha.body.id))?.git_commit_id).toBe(commit.body.id);

    const unknown = await t.api('POST', 'config_schemas', {
      body: mobilitySchemaBody(type.id, {
        git_commit: { commit_ref: { sha: 'b'.repeat(40) }, schema_filepaths: ['x.json'] },
      }),
    });
    expect(unknown.status).toBe(404);
    const absolute = await t.api('POST', 'config_schemas', {
      body: mobilitySchemaBody(type.id, {
        git_commit: { commit_ref: { id: commit.body.id }, schema_filepaths: ['/abs.json'] },
      }),
    });
    expect(absolute.status).toBe(400);
    const count = await t.api('POST', 'config_schemas', {
      body: mobilitySchemaBody(type.id, {
        git_commit: { commit_ref: { id: commit.body.id }, schema_filepaths: [] },
      }),
    });
    expect(count.status).toBe(422);
  });
});

describe('GET /config_schemas', () => {
  it('gets by id with expansions omitted unless asked; unknown id → 404; bad expand → 400', async () => {
    const type = await createType(t);
    const s = await createSchema(t, mobilitySchemaBody(type.id));
    const plain = await t.api('GET', `config_schemas/${s.id}`);
    expect(plain.status).toBe(200);
    expect(plain.body).not.toHaveProperty('documents');
    expect(plain.body).not.toHaveProperty('config_type');
    const expanded = await t.api('GET', `config_schemas/${s.id}?expand=config_type`);
    expect(expanded.body.config_type).toMatchObject({ id: type.id });
    expect(expanded.body).not.toHaveProperty('documents');
    expect((await t.api('GET', 'config_schemas/cfg_sch_nope')).status).toBe(404);
    expect((await t.api('GET', `config_schemas/${s.id}?expand=content`)).status).toBe(400);
  });

  it('shows the live config type name after a rename', async () => {
    const type = await createType(t);
    const s = await createSchema(t, mobilitySchemaBody(type.id));
    const renamed = `Renamed ${type.slug}`.slice(0, 48);
    expect((await t.api('PATCH', `config_types/${type.id}`, { body: { name: renamed } })).status).toBe(200);
    expect((await t.api('GET', `config_schemas/${s.id}`)).body.config_type_name).toBe(renamed);
  });

  it('lists with id and config_type_id filters, pagination and expansions', async () => {
    const a = await createType(t);
    const b = await createType(t);
    const s1 = await createSchema(t, mobilitySchemaBody(a.id));
    const s2 = await createSchema(t, mobilitySchemaBody(a.id, { instance_filepath: '/a/2.json' }));
    const s3 = await createSchema(t, perceptionSchemaBody(b.id));
    const byType = await t.api(
      'GET',
      `config_schemas?config_type_id=${a.id}&order_by=created_at:asc&expand=total_count`,
    );
    expect(byType.body.data.map((s: { id: string }) => s.id)).toEqual([s1.id, s2.id]);
    expect(byType.body.total_count).toBe(2);
    const byId = await t.api(
      'GET',
      `config_schemas?id=${s1.id},${s3.id}&expand=documents&expand=config_type`,
    );
    expect(byId.body.data.map((s: { id: string }) => s.id).sort()).toEqual([s1.id, s3.id].sort());
    for (const s of byId.body.data) {
      expect(s.documents).toHaveLength(1);
      expect(s.config_type.object).toBe('config_type');
    }
    const page = await t.api('GET', `config_schemas?config_type_id=${a.id},${b.id}&limit=2`);
    expect(page.body).toMatchObject({ object: 'list', limit: 2, offset: 0, has_more: true });
  });
});

describe('scopes', () => {
  it('create needs config_schemas:write; get and list need config_schemas:read', async () => {
    const type = await createType(t);
    const s = await createSchema(t, mobilitySchemaBody(type.id));
    const read = await t.keyWith('config_schemas:read');
    const write = await t.keyWith('config_schemas:write');
    const other = await t.keyWith('config_types:read', 'config_instances:write');
    expect(
      (await t.api('POST', 'config_schemas', { key: read, body: mobilitySchemaBody(type.id) })).status,
    ).toBe(403);
    expect(
      (await t.api('POST', 'config_schemas', { key: other, body: mobilitySchemaBody(type.id) })).status,
    ).toBe(403);
    expect(
      (await t.api('POST', 'config_schemas', { key: write, body: mobilitySchemaBody(type.id) })).status,
    ).toBe(200);
    expect((await t.api('GET', `config_schemas/${s.id}`, { key: write })).status).toBe(403);
    expect((await t.api('GET', 'config_schemas', { key: other })).status).toBe(403);
    expect((await t.api('GET', `config_schemas/${s.id}`, { key: read })).status).toBe(200);
    expect((await t.api('GET', 'config_schemas', { key: read })).status).toBe(200);
    expect(
      (await t.api('GET', 'config_schemas', { key: await t.keyWith('config_schemas:manage') })).status,
    ).toBe(200);
  });
});
