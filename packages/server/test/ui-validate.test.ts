import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byPath, example, exampleSchemaSource, expectedIssues } from '../../../test/support/robot-configs.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/** Validate-only (extension): the check of instance creation, creating nothing. */
let t: TestServer;
const schemas: Record<string, string> = {};
beforeAll(async () => {
  t = await startTestServer();
  for (const name of ['mobility', 'safety'] as const) {
    const slug = `${name}-${Date.now()}`;
    const type = await t.api('POST', 'config_types', { body: { name: slug, slug } });
    const schema = await t.api('POST', 'config_schemas', {
      body: { config_type_ref: { id: type.body.id }, ...exampleSchemaSource(name) },
    });
    expect(schema.status, schema.text).toBe(200);
    schemas[name] = schema.body.id;
  }
});
afterAll(async () => {
  await t?.close();
});

const validate = (schema: string, data: string, key?: string) =>
  t.api('POST', `config_schemas/${schema}/validate`, { body: { content: { format: 'json', data } }, key });

const instanceCount = async () =>
  Number(
    (
      await t.server.store.db
        .selectFrom('config_instances')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('POST /beta/config_schemas/{id}/validate', () => {
  it('reports exactly the violations creating would (JSON Schema and CUE), and creates nothing', async () => {
    const before = await instanceCount();
    for (const [schema, file] of [
      ['mobility', 'mobility.invalid-overspeed.json'],
      ['safety', 'safety.invalid-zones.json'],
    ] as const) {
      const res = await validate(schemas[schema]!, example(`instances/${file}`));
      expect(res.status, res.text).toBe(200);
      expect(res.body.valid).toBe(false);
      expect(byPath(res.body.errors)).toEqual(byPath(expectedIssues(file)));
      const create = await t.api('POST', 'config_instances', {
        body: {
          config_schema_id: schemas[schema],
          content: { format: 'json', data: example(`instances/${file}`) },
        },
      });
      expect(create.status).toBe(422);
      expect(byPath(create.body.error.params.errors)).toEqual(byPath(res.body.errors));
    }
    const ok = await validate(schemas.mobility!, example('instances/mobility.valid-tugger.json'));
    expect(ok.body).toEqual({ object: 'validation', valid: true, errors: [] });
    expect(await instanceCount()).toBe(before);
  });

  it('refuses what create refuses: bad JSON (422), unknown schema (404), missing scope (403)', async () => {
    const bad = await validate(schemas.mobility!, '{"limits": ');
    expect(bad.status).toBe(422);
    expect(bad.body.error.code).toBe('invalid_content');
    expect((await validate('cfg_sch_nobody', '{}')).status).toBe(404);
    const weak = await t.keyWith('releases:read');
    const refused = await validate(schemas.mobility!, '{}', weak);
    expect(refused.status).toBe(403);
    expect((await t.api('POST', `config_schemas/${schemas.mobility}/validate`, { body: {} })).status).toBe(
      400,
    );
  });
});
