import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { createType } from './support-configs.ts';

/**
 * Schemas that refer to themselves without end (found by the reliability fuzzer): a YAML alias inside
 * its own anchor, and a `$ref` cycle that never descends into the instance. Each is a 422, never a
 * 500 (stack overflow), and a refused schema stores nothing.
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const schemaBody = (typeId: string, format: 'json' | 'yaml', data: string) => ({
  config_type_ref: { id: typeId },
  language: 'jsonschema',
  format,
  documents: [{ name: `schema.${format}`, data }],
});

const schemaCount = async () =>
  (await t.api('GET', 'config_schemas?expand=total_count&limit=1')).body.total_count;

describe('self-referencing schemas', () => {
  it('a YAML alias inside its own anchor is 422 invalid_schema, and nothing is stored', async () => {
    const type = await createType(t, 'cyclic-yaml');
    const before = await schemaCount();
    for (const data of ['&a [*a, *a]', 'a: &x\n  b: *x\n']) {
      const res = await t.api('POST', 'config_schemas', { body: schemaBody(type.id, 'yaml', data) });
      expect(res.status, res.text).toBe(422);
      expect(res.body.error.code).toBe('invalid_schema');
      expect(res.body.error.message).toMatch(/cycle/);
    }
    expect(await schemaCount()).toBe(before);
  });

  it('a YAML alias to a sibling (no cycle) is still accepted', async () => {
    const type = await createType(t, 'alias-yaml');
    const data = '$defs:\n  hz: &hz\n    type: integer\ntype: object\nproperties:\n  a: *hz\n  b: *hz\n';
    const res = await t.api('POST', 'config_schemas', { body: schemaBody(type.id, 'yaml', data) });
    expect(res.status, res.text).toBe(200);
  });

  it('a $ref cycle at the root ({"$ref":"#"}) is 422 invalid_schema at creation', async () => {
    const type = await createType(t, 'ref-root');
    const before = await schemaCount();
    for (const data of [
      '{"$ref":"#"}',
      '{"anyOf":[{"$ref":"#"}]}',
      '{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#"}}}',
    ]) {
      const res = await t.api('POST', 'config_schemas', { body: schemaBody(type.id, 'json', data) });
      expect(res.status, res.text).toBe(422);
      expect(res.body.error.code).toBe('invalid_schema');
      expect(res.body.error.message).toMatch(/refers to itself/);
    }
    expect(await schemaCount()).toBe(before);
  });

  it('a $ref cycle reached only under some instances makes those instances 422, not 500', async () => {
    const type = await createType(t, 'ref-nested');
    // Only an object with `a` re-enters the root with the same value, so the probes at creation pass.
    const data = '{"if":{"type":"object","required":["a"]},"then":{"$ref":"#"}}';
    const schema = await t.api('POST', 'config_schemas', { body: schemaBody(type.id, 'json', data) });
    expect(schema.status, schema.text).toBe(200);
    const instance = (text: string) =>
      t.api('POST', 'config_instances', {
        body: { config_schema_id: schema.body.id, content: { format: 'json', data: text } },
      });
    expect((await instance('{}')).status).toBe(200);
    const res = await instance('{"a":1}');
    expect(res.status, res.text).toBe(422);
    expect(res.body.error.code).toBe('invalid_schema');
  });
});
