import { randomUUID } from 'node:crypto';
import { LIMITS } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionDevice, type TestDevice } from '../../../test/support/device-agent.ts';
import { type ApiResponse, startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * Regression tests of issue 11 (hostile input): each request here once crashed, froze or 500'd the
 * server. Every answer must be the envelope with the stated status, the process must keep answering
 * /healthz, and refused writes change nothing.
 */
let t: TestServer;
let typeId: string;
let release: { schemaId: string; releaseId: string };
let device: TestDevice;
let deploymentId: string;
beforeAll(async () => {
  t = await startTestServer();
  typeId = (await t.api('POST', 'config_types', { body: { name: 'Hostile', slug: 'hostile' } })).body.id;
  const schema = await t.api('POST', 'config_schemas', { body: schemaBody('{"type":"object"}') });
  const rel = await t.api('POST', 'releases', {
    body: { version: 'v1.0.0', config_schema_ids: [schema.body.id] },
  });
  release = { schemaId: schema.body.id, releaseId: rel.body.id };
  device = await provisionDevice(t);
  const instance = await t.api('POST', 'config_instances', {
    body: { config_schema_id: schema.body.id, content: { format: 'json', data: '{}' } },
  });
  deploymentId = (
    await t.server.app.repos.deployments.create(
      {
        target_status: 'deployed',
        description: 'hostile',
        release_id: rel.body.id,
        device_id: device.id,
        config_instance_ids: [instance.body.id],
      },
      { type: 'system' },
    )
  ).id;
});
afterAll(async () => {
  await t?.close();
});

function expectError(res: ApiResponse, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.body.error, res.text).toMatchObject({
    code,
    message: expect.any(String),
    params: expect.any(Object),
  });
}

async function expectAlive() {
  const res = await t.api('GET', '/healthz');
  expect(res.status).toBe(200);
}

const schemaBody = (data: string, format: 'json' | 'yaml' = 'json', language = 'jsonschema') => ({
  config_type_ref: { id: typeId },
  language,
  format,
  documents: [{ name: `s.${format}`, data }],
});

async function countRows(table: 'config_schemas' | 'config_instances' | 'devices' | 'deployment_events') {
  const row = await t.server.store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('deeply nested documents (defects 1 and 6)', () => {
  it('a YAML flow sequence nested 20,000 deep is a 400 every time, and the process survives', async () => {
    const data = '['.repeat(20_000) + ']'.repeat(20_000);
    const before = await countRows('config_schemas');
    for (let i = 0; i < 8; i++) {
      const res = await t.api('POST', 'config_schemas', { body: schemaBody(data, 'yaml') });
      expectError(res, 400, 'limit_exceeded');
      expect(res.body.error.params).toMatchObject({ limit: 'documentDepth', max: LIMITS.documentDepth });
    }
    await expectAlive();
    expect(await countRows('config_schemas')).toBe(before);
  });

  it('deep YAML block nesting (compact sequences, indentation) is a 400', async () => {
    const compact = `${'- '.repeat(5000)}x`;
    expectError(
      await t.api('POST', 'config_schemas', { body: schemaBody(compact, 'yaml') }),
      400,
      'limit_exceeded',
    );
    const indented = Array.from({ length: 3000 }, (_, i) => `${' '.repeat(i)}a:`).join('\n');
    expectError(
      await t.api('POST', 'config_schemas', { body: schemaBody(`${indented} 1`, 'yaml') }),
      400,
      'limit_exceeded',
    );
  });

  it('a one-line YAML document with an error every two characters is a 422 naming the first, at once', async () => {
    // 200,000 quotes: 100,000 syntax errors on one line. Excerpting the line for each of them (the
    // parser's pretty errors) took minutes of a blocked event loop; the fuzzer found it.
    const before = await countRows('config_schemas');
    const res = await t.api('POST', 'config_schemas', { body: schemaBody('"'.repeat(200_000), 'yaml') });
    expectError(res, 422, 'invalid_schema');
    expect(res.body.error.params.compiler_message).toMatch(/^Unexpected .* at line 1, column 3: "/);
    const multiLine = await t.api('POST', 'config_schemas', {
      body: schemaBody('type: object\nproperties:\n  a: {type: string\n  b: 1', 'yaml'),
    });
    expectError(multiLine, 422, 'invalid_schema');
    expect(multiLine.body.error.params.compiler_message).toMatch(/at line \d+, column \d+/);
    await expectAlive();
    expect(await countRows('config_schemas')).toBe(before);
  });

  it('a YAML document longer than its limit is a 400 before it is parsed; the same schema as JSON is accepted', async () => {
    const properties = Object.fromEntries(
      Array.from({ length: 4000 }, (_, i) => [`field_${i}`, { type: 'string', description: 'x'.repeat(40) }]),
    );
    const yaml = `type: object\nproperties:\n${Object.entries(properties)
      .map(([k, v]) => `  ${k}: {type: ${v.type}, description: ${v.description}}`)
      .join('\n')}`;
    expect(yaml.length).toBeGreaterThan(LIMITS.yamlDocumentChars);
    const res = await t.api('POST', 'config_schemas', { body: schemaBody(yaml, 'yaml') });
    expectError(res, 400, 'limit_exceeded');
    expect(res.body.error.params).toMatchObject({
      limit: 'yamlDocumentChars',
      max: LIMITS.yamlDocumentChars,
    });
    const json = await t.api('POST', 'config_schemas', {
      body: schemaBody(JSON.stringify({ type: 'object', properties })),
    });
    expect(json.status).toBe(200);
  });

  it('a JSON schema document nested 5,000 deep is a 400, not a stack overflow', async () => {
    const data = `${'{"items":'.repeat(5000)}{}${'}'.repeat(5000)}`;
    for (let i = 0; i < 3; i++) {
      expectError(await t.api('POST', 'config_schemas', { body: schemaBody(data) }), 400, 'limit_exceeded');
    }
    // Within the limit is accepted.
    const ok = `${'{"items":'.repeat(LIMITS.documentDepth - 1)}{}${'}'.repeat(LIMITS.documentDepth - 1)}`;
    expect((await t.api('POST', 'config_schemas', { body: schemaBody(ok) })).status).toBe(200);
    await expectAlive();
  });

  it('instance content nested too deep or too wide is a 400 and stores nothing', async () => {
    const before = await countRows('config_instances');
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    const wide = JSON.stringify(Array.from({ length: LIMITS.documentKeys + 1 }, () => 0));
    for (const data of [deep, wide]) {
      const res = await t.api('POST', 'config_instances', {
        body: { config_schema_id: release.schemaId, content: { format: 'json', data } },
      });
      expectError(res, 400, 'limit_exceeded');
      expect(res.body.error.params.field).toBe('content.data');
    }
    expect(await countRows('config_instances')).toBe(before);
  });

  it('a request body nested deeper than the body limit is refused before it is parsed', async () => {
    const rawBody = `{"name":${'['.repeat(50_000)}${']'.repeat(50_000)}}`;
    const res = await t.api('POST', 'devices', { rawBody });
    expectError(res, 400, 'limit_exceeded');
    expect(res.body.error.params).toMatchObject({ limit: 'bodyDepth', max: LIMITS.bodyDepth });
  });

  it('over-long strings, too many documents and over-long query values are 400s', async () => {
    expectError(
      await t.api('POST', 'devices', { body: { name: 'x'.repeat(LIMITS.bodyStringChars + 1) } }),
      400,
      'limit_exceeded',
    );
    const documents = Array.from({ length: LIMITS.schemaDocuments + 1 }, (_, i) => ({
      name: `f${i}.cue`,
      data: 'package p\n',
    }));
    const many = await t.api('POST', 'config_schemas', {
      body: { config_type_ref: { id: typeId }, language: 'cue', format: 'cue', documents },
    });
    expect(many.status, many.text).toBe(400);
    expectError(
      await t.api('GET', `devices?name=${'x'.repeat(LIMITS.paramChars + 1)}`),
      400,
      'limit_exceeded',
    );
  });
});

describe('regular expressions from user schemas run in linear time (defect 2)', () => {
  const evil = { type: 'string', pattern: '^(a+)+$' };
  const attack = `${'a'.repeat(40)}!`;

  it('a catastrophic pattern against a 41-character string answers 422 and the server stays responsive', async () => {
    const schema = await t.api('POST', 'config_schemas', { body: schemaBody(JSON.stringify(evil)) });
    expect(schema.status, schema.text).toBe(200);
    const res = await t.api('POST', 'config_instances', {
      body: { config_schema_id: schema.body.id, content: { format: 'json', data: JSON.stringify(attack) } },
    });
    expectError(res, 422, 'schema_violation');
    expect(res.body.error.params.errors[0]).toMatchObject({ rule: 'pattern' });
    const good = await t.api('POST', 'config_instances', {
      body: { config_schema_id: schema.body.id, content: { format: 'json', data: '"aaaa"' } },
    });
    expect(good.status, good.text).toBe(200);
    await expectAlive();
  });

  it('a default checked against its own catastrophic pattern at schema creation is a 422', async () => {
    const res = await t.api('POST', 'config_schemas', {
      body: schemaBody(JSON.stringify({ ...evil, default: attack })),
    });
    expectError(res, 422, 'invalid_schema_default');
  });

  it('patternProperties and propertyNames patterns are linear too', async () => {
    const schema = await t.api('POST', 'config_schemas', {
      body: schemaBody(
        JSON.stringify({
          type: 'object',
          patternProperties: { '^(a+)+$': { type: 'number' } },
          propertyNames: { pattern: '^(b|b)+$|^(a|a)+$|^z' },
        }),
      ),
    });
    expect(schema.status, schema.text).toBe(200);
    const res = await t.api('POST', 'config_instances', {
      body: {
        config_schema_id: schema.body.id,
        content: { format: 'json', data: JSON.stringify({ [attack]: 1 }) },
      },
    });
    expectError(res, 422, 'schema_violation');
    expect(res.body.error.params.errors.map((e: { rule: string }) => e.rule)).toContain('pattern');
  });

  it('a pattern the linear-time engine cannot run (backreference, lookahead) is a 422 invalid_schema', async () => {
    for (const pattern of ['^(a)\\1$', '^(?=a)a$']) {
      const res = await t.api('POST', 'config_schemas', {
        body: schemaBody(JSON.stringify({ type: 'string', pattern })),
      });
      expectError(res, 422, 'invalid_schema');
    }
  });

  it('ECMAScript pattern syntax that RE2 also knows keeps working (classes, \\d, \\u escapes, named groups)', async () => {
    const schema = await t.api('POST', 'config_schemas', {
      body: schemaBody(
        JSON.stringify({ type: 'string', pattern: '^(?<word>[a-z]+)-\\d{2}\\/\\u00e9\\p{L}$' }),
      ),
    });
    expect(schema.status, schema.text).toBe(200);
    const ok = await t.api('POST', 'config_instances', {
      body: { config_schema_id: schema.body.id, content: { format: 'json', data: '"abc-12/éß"' } },
    });
    expect(ok.status, ok.text).toBe(200);
    const bad = await t.api('POST', 'config_instances', {
      body: { config_schema_id: schema.body.id, content: { format: 'json', data: '"abc-1/éß"' } },
    });
    expectError(bad, 422, 'schema_violation');
  });
});

describe('text PostgreSQL cannot store is a 400 on every engine (defect 4)', () => {
  it('NUL in a path parameter, a filter or a body string', async () => {
    const before = await countRows('devices');
    expectError(await t.api('GET', 'devices/%00'), 400, 'invalid_text');
    expectError(await t.api('GET', 'devices?name=a%00b'), 400, 'invalid_text');
    expectError(await t.api('GET', 'deployments?device_id=dvc_%00'), 400, 'invalid_text');
    const created = await t.api('POST', 'devices', { body: { name: 'a\u0000b' } });
    expectError(created, 400, 'invalid_text');
    expect(created.body.error.params).toMatchObject({ field: 'name', location: 'body', reason: 'nul' });
    expectError(await t.api('POST', 'devices', { body: { name: 'a\ud800b' } }), 400, 'invalid_text');
    expect(await countRows('devices')).toBe(before);
  });

  it('NUL on the agent API: path, and a report message', async () => {
    expectError(await device.api('GET', '/deployments/%00'), 400, 'invalid_text');
    const events = await countRows('deployment_events');
    const res = await device.api('POST', `/deployments/${deploymentId}/reports`, {
      body: { error_status: 'retrying', message: '\u0000', attempts: 1, report_id: randomUUID() },
    });
    expectError(res, 400, 'invalid_text');
    expect(await countRows('deployment_events')).toBe(events);
  });

  it('instance content: a \\u0000 escape in the JSON text is stored verbatim; a raw NUL character is refused', async () => {
    const schema = await t.api('POST', 'config_schemas', { body: schemaBody('{"type":"string"}') });
    const escaped = '"a\\u0000b"';
    const ok = await t.api('POST', 'config_instances?expand=content', {
      body: { config_schema_id: schema.body.id, content: { format: 'json', data: escaped } },
    });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.body.content.data).toBe(escaped);
    const raw = await t.api('POST', 'config_instances', {
      body: { config_schema_id: schema.body.id, content: { format: 'json', data: '"a\u0000b"' } },
    });
    expectError(raw, 400, 'invalid_text');
    expect(raw.body.error.params.field).toBe('content.data');
  });
});

describe('request input never reaches Object.prototype (defect 5)', () => {
  it.each([
    'constructor.prototype',
    '__proto__.x',
    'toString.x',
    'constructor',
    '__proto__',
    'valueOf',
    'hasOwnProperty',
    'documents.constructor',
  ])('expand=%s is 400 invalid_expand on lists and single gets', async (expand) => {
    const q = encodeURIComponent(expand);
    expectError(await t.api('GET', `config_schemas?expand=${q}`), 400, 'invalid_expand');
    expectError(await t.api('GET', `deployments?expand=${q}`), 400, 'invalid_expand');
    expectError(await t.api('GET', `config_schemas/${release.schemaId}?expand=${q}`), 400, 'invalid_expand');
  });

  it('pipe-joined prototype names are refused as one list', async () => {
    expectError(await t.api('GET', 'devices?expand=constructor|__proto__|valueOf'), 400, 'invalid_expand');
    expectError(await t.api('GET', 'releases?expand[]=__proto__'), 400, 'invalid_expand');
  });

  it('prototype names as query keys and body keys are ordinary unknown input', async () => {
    const list = await t.api('GET', 'devices?__proto__=x&constructor=y&toString=z');
    expect(list.status, list.text).toBeLessThan(500);
    const res = await t.api('POST', 'devices', {
      rawBody: '{"name":"proto-1","__proto__":{"x":1},"constructor":1}',
    });
    expect(res.status, res.text).toBeLessThan(500);
  });
});
