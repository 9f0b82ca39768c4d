import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byPath, expectedIssues } from '../../../test/support/robot-configs.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import {
  createSchema,
  createType,
  fixture,
  mobilitySchemaBody,
  perceptionSchemaBody,
  safetySchemaBody,
} from './support-configs.ts';

type ValidationError = { path: string; rule: string; message: string; schema_location: string };

let t: TestServer;
let mobility: { id: string; config_type_id: string; instance_filepath: string };
let perception: { id: string; config_type_id: string; instance_filepath: string };
let safety: { id: string; config_type_id: string; instance_filepath: string };
beforeAll(async () => {
  t = await startTestServer();
  mobility = await createSchema(
    t,
    mobilitySchemaBody((await createType(t, 'mobility')).id, {
      instance_filepath: '/srv/bosun/configs/mobility.json',
    }),
  );
  perception = await createSchema(t, perceptionSchemaBody((await createType(t, 'perception')).id));
  safety = await createSchema(
    t,
    safetySchemaBody((await createType(t, 'safety')).id, {
      instance_filepath: '/srv/bosun/configs/safety.json',
    }),
  );
});
afterAll(async () => {
  await t?.close();
});

const create = (schemaId: string, data: string, query = '') =>
  t.api('POST', `config_instances${query}`, {
    body: { config_schema_id: schemaId, content: { format: 'json', data } },
  });

describe('POST /config_instances: valid content', () => {
  it.each([
    ['mobility', 'mobility.valid-tugger.json'],
    ['mobility', 'mobility.valid-night-shift.json'],
    ['perception', 'perception.valid-front-rear.json'],
    ['safety', 'safety.valid-dock.json'],
  ])('accepts the %s example %s, with filepath and type from the schema', async (name, file) => {
    const schema = { mobility, perception, safety }[name]!;
    const res = await create(schema.id, fixture(`instances/${file}`), '?expand=content');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      object: 'config_instance',
      id: expect.stringMatching(/^cfg_inst_/),
      filepath: schema.instance_filepath,
      config_schema_id: schema.id,
      config_type_id: schema.config_type_id,
      content: { format: 'json', data: fixture(`instances/${file}`) },
    });
    expect(res.body).not.toHaveProperty('updated_at');
  });

  it('stores and serves content verbatim: key order, trailing .0, whitespace', async () => {
    const data =
      '{\n  "telemetry": {"interval_s": 30, "endpoint": "https://t.example.com/in"},\n\t"footprint_m":   [[0.5, 0.3], [0.5, -0.3], [-0.5, 0.0]],\n  "controller": {"goal_tolerance_m": 0.10, "algorithm": "dwb"},\n  "limits": {"max_yaw_rate_radps": 1.0, "max_accel_mps2": 0.5, "max_speed_mps": 2.50},\n  "robot_model": "tugger-t2"\n}\n\n';
    const res = await create(mobility.id, data);
    expect(res.status, res.text).toBe(200);
    const got = await t.api('GET', `config_instances/${res.body.id}?expand=content`);
    expect(got.body.content.data).toBe(data);
    const raw = await fetch(`${t.url}/beta/config_instances/${res.body.id}/content`, {
      headers: { 'miru-version': '2026-03-09.tetons', 'x-api-key': t.adminKey },
    });
    expect(raw.status).toBe(200);
    expect(raw.headers.get('content-type')).toMatch(/^application\/json/);
    expect(raw.headers.get('content-disposition')).toBe('inline; filename="mobility.json"');
    expect(Buffer.from(await raw.arrayBuffer()).equals(Buffer.from(data, 'utf8'))).toBe(true);
    const attachment = await t.api('GET', `config_instances/${res.body.id}/content?disposition=attachment`);
    expect(attachment.headers.get('content-disposition')).toBe('attachment; filename="mobility.json"');
    expect(attachment.text).toBe(data);
    expect((await t.api('GET', `config_instances/${res.body.id}/content?disposition=download`)).status).toBe(
      400,
    );
    expect((await t.api('GET', 'config_instances/cfg_inst_nope/content')).status).toBe(404);
  });

  it('applies CUE defaults: an instance may omit a defaulted field', async () => {
    const res = await create(safety.id, '{"max_payload_kg": 10, "zones": []}'); // estop: all defaults
    expect(res.status, res.text).toBe(200);
  });
});

describe('POST /config_instances: invalid content', () => {
  // The expected violations are those of examples/robot-configs/expected.json (mirrored by its README).
  it('mobility.invalid-overspeed.json: one entry per violation with path, message, rule and location', async () => {
    const res = await create(mobility.id, fixture('instances/mobility.invalid-overspeed.json'));
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('schema_violation');
    expect(res.body.error.params.config_schema_id).toBe(mobility.id);
    const errors = res.body.error.params.errors as ValidationError[];
    expect(errors).toHaveLength(6);
    expect(byPath(errors)).toEqual(byPath(expectedIssues('mobility.invalid-overspeed.json')));
    expect(errors.find((e) => e.rule === 'enum')).toMatchObject({
      message: 'must be one of "dwb", "mppi", "regulated_pure_pursuit"',
      schema_location: '#/properties/controller/properties/algorithm/enum',
    });
    expect(res.body.error.message).toContain('/limits/max_speed_mps must be <= 2.5');
  });

  it('perception.invalid-sensors.json (YAML schema, $ref into $defs): one entry per violation', async () => {
    const res = await create(perception.id, fixture('instances/perception.invalid-sensors.json'));
    expect(res.status).toBe(422);
    const errors = res.body.error.params.errors as ValidationError[];
    expect(errors).toHaveLength(6);
    expect(byPath(errors)).toEqual(byPath(expectedIssues('perception.invalid-sensors.json')));
  });

  it('safety.invalid-zones.json (CUE package): one entry per violation', async () => {
    const res = await create(safety.id, fixture('instances/safety.invalid-zones.json'));
    expect(res.status).toBe(422);
    const errors = res.body.error.params.errors as ValidationError[];
    expect(errors).toHaveLength(4);
    expect(byPath(errors)).toEqual(byPath(expectedIssues('safety.invalid-zones.json')));
    expect(errors.find((e) => e.path === '/zones/1/max_speed_mps')).toMatchObject({
      message: 'invalid value 2.2 (out of bound <=1.5)',
      rule: '<=1.5',
      schema_location: 'zones.cue:7:32',
    });
    expect(errors.find((e) => e.path === '/zones/1/kind')?.message).toBe(
      '"corridor" is not one of "aisle" | "crossing" | "dock" | "keep_out"',
    );
  });

  it('JSON Schema formats and closed objects are enforced (ajv-formats, additionalProperties)', async () => {
    const instance = JSON.parse(fixture('instances/mobility.valid-tugger.json'));
    instance.telemetry.endpoint = 'not a uri';
    instance.turbo = true;
    const res = await create(mobility.id, JSON.stringify(instance));
    expect(res.status).toBe(422);
    expect(
      res.body.error.params.errors.map((e: { path: string; rule: string }) => [e.path, e.rule]).sort(),
    ).toEqual(
      [
        ['/telemetry/endpoint', 'format'],
        ['/turbo', 'additionalProperties'],
      ].sort(),
    );
  });

  it('a missing required CUE field is reported at its path', async () => {
    const res = await create(safety.id, '{"zones": []}');
    expect(res.status).toBe(422);
    expect(res.body.error.params.errors).toEqual([expect.objectContaining({ path: '/max_payload_kg' })]);
  });

  it('content that does not parse is 422 invalid_content; other formats are 400; unknown schema is 404', async () => {
    const bad = await create(mobility.id, '{"robot_model": "tugger-t2",');
    expect(bad.status).toBe(422);
    expect(bad.body.error).toMatchObject({ code: 'invalid_content', params: { field: 'content.data' } });
    const yaml = await t.api('POST', 'config_instances', {
      body: { config_schema_id: mobility.id, content: { format: 'yaml', data: 'a: 1' } },
    });
    expect(yaml.status).toBe(400);
    expect((await create('cfg_sch_nope', '{}')).status).toBe(404);
    const missing = await t.api('POST', 'config_instances', { body: { config_schema_id: mobility.id } });
    expect(missing.status).toBe(400);
  });

  it('a rejected instance changes nothing', async () => {
    const before = (
      await t.api('GET', `config_instances?config_schema_id=${perception.id}&expand=total_count`)
    ).body.total_count;
    await create(perception.id, fixture('instances/perception.invalid-sensors.json'));
    const after = (
      await t.api('GET', `config_instances?config_schema_id=${perception.id}&expand=total_count`)
    ).body.total_count;
    expect(after).toBe(before);
  });
});

describe('GET /config_instances', () => {
  it('get: expansions omitted unless asked, nested config_schema expansion, live type name', async () => {
    const inst = (await create(mobility.id, fixture('instances/mobility.valid-tugger.json'))).body;
    const plain = await t.api('GET', `config_instances/${inst.id}`);
    expect(plain.status).toBe(200);
    for (const f of ['content', 'config_schema', 'config_type']) expect(plain.body).not.toHaveProperty(f);
    const deep = await t.api(
      'GET',
      `config_instances/${inst.id}?expand=config_schema.documents,config_schema.config_type,config_type`,
    );
    expect(deep.body.config_schema).toMatchObject({
      object: 'config_schema',
      id: mobility.id,
      config_type: { id: mobility.config_type_id },
    });
    expect(deep.body.config_schema.documents[0].data).toBe(fixture('schemas/mobility.schema.json'));
    expect(deep.body.config_type).toMatchObject({ object: 'config_type', id: mobility.config_type_id });
    expect(deep.body).not.toHaveProperty('content');
    await t.api('PATCH', `config_types/${mobility.config_type_id}`, { body: { name: 'Mobility (renamed)' } });
    expect((await t.api('GET', `config_instances/${inst.id}`)).body.config_type_name).toBe(
      'Mobility (renamed)',
    );
    expect((await t.api('GET', 'config_instances/cfg_inst_nope')).status).toBe(404);
    expect((await t.api('GET', `config_instances/${inst.id}?expand=documents`)).status).toBe(400);
  });

  it('lists with id, config_schema_id and config_type_id filters and expand=content', async () => {
    const a = (await create(perception.id, fixture('instances/perception.valid-front-rear.json'))).body;
    const b = (await create(safety.id, fixture('instances/safety.valid-dock.json'))).body;
    const bySchema = await t.api('GET', `config_instances?config_schema_id=${perception.id}&expand=content`);
    expect(
      bySchema.body.data.every((i: { config_schema_id: string }) => i.config_schema_id === perception.id),
    ).toBe(true);
    expect(bySchema.body.data.find((i: { id: string }) => i.id === a.id).content.data).toBe(
      fixture('instances/perception.valid-front-rear.json'),
    );
    const byType = await t.api('GET', `config_instances?config_type_id=${safety.config_type_id}`);
    expect(byType.body.data.map((i: { id: string }) => i.id)).toContain(b.id);
    expect(
      byType.body.data.every((i: { config_type_id: string }) => i.config_type_id === safety.config_type_id),
    ).toBe(true);
    const byId = await t.api(
      'GET',
      `config_instances?id=${a.id}|${b.id}&expand=config_schema&expand=total_count`,
    );
    expect(byId.body.total_count).toBe(2);
    expect(byId.body.data.map((i: { config_schema: { id: string } }) => i.config_schema.id).sort()).toEqual(
      [perception.id, safety.id].sort(),
    );
  });
});

describe('validator cache', () => {
  it('validating instances of a schema does not recompile it', async () => {
    const { validatorCache } = await import('../src/schema-languages/index.ts');
    await create(mobility.id, fixture('instances/mobility.valid-tugger.json'));
    const before = validatorCache.compilations;
    for (let i = 0; i < 3; i++) await create(mobility.id, fixture('instances/mobility.valid-tugger.json'));
    await create(mobility.id, fixture('instances/mobility.invalid-overspeed.json'));
    expect(validatorCache.compilations).toBe(before);
  });
});

describe('scopes', () => {
  it('create needs config_instances:write; get, list and content need config_instances:read', async () => {
    const inst = (await create(mobility.id, fixture('instances/mobility.valid-tugger.json'))).body;
    const read = await t.keyWith('config_instances:read');
    const write = await t.keyWith('config_instances:write');
    const body = { config_schema_id: mobility.id, content: { format: 'json', data: '{}' } };
    expect((await t.api('POST', 'config_instances', { key: read, body })).status).toBe(403);
    expect(
      (await t.api('POST', 'config_instances', { key: await t.keyWith('config_schemas:write'), body }))
        .status,
    ).toBe(403);
    expect((await t.api('POST', 'config_instances', { key: write, body })).status).toBe(422);
    for (const path of [
      `config_instances/${inst.id}`,
      'config_instances',
      `config_instances/${inst.id}/content`,
    ]) {
      expect((await t.api('GET', path, { key: write })).status, path).toBe(403);
      expect((await t.api('GET', path, { key: read })).status, path).toBe(200);
    }
  });
});
