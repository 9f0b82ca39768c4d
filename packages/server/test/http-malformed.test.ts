import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApiResponse, startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * Every kind of bad input is a 4xx envelope that names what is wrong, never a 500, and leaves the
 * database exactly as it was (each test compares full listings before and after).
 */
let t: TestServer;
let seeded: { configType: any; device: any; commit: any };
beforeAll(async () => {
  t = await startTestServer();
  seeded = {
    configType: (await t.api('POST', 'config_types', { body: { name: 'Seed', slug: 'seed' } })).body,
    device: (await t.api('POST', 'devices', { body: { name: 'seed-device' } })).body,
    commit: (
      await t.api('POST', 'git_commits', {
        body: { sha: 'a'.repeat(40), message: 'seed', origin: 'https://github.com/seed/repo.git' },
      })
    ).body,
  };
});
afterAll(async () => {
  await t?.close();
});

async function snapshot() {
  const out: Record<string, unknown> = {};
  for (const path of ['config_types', 'devices', 'git_commits']) {
    const res = await t.api('GET', `${path}?limit=100&expand=total_count`);
    expect(res.status).toBe(200);
    out[path] = res.body;
  }
  return out;
}

let before: Record<string, unknown>;
beforeEach(async () => {
  before = await snapshot();
});
async function expectUnchanged() {
  expect(await snapshot()).toEqual(before);
}

function expectError(res: ApiResponse, status: number, code: string) {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain('application/json');
  expect(res.body.error, res.text).toMatchObject({
    code,
    message: expect.any(String),
    params: expect.any(Object),
  });
}

const writes = () => [
  { method: 'POST', path: 'config_types' },
  { method: 'PATCH', path: `config_types/${seeded.configType.id}` },
  { method: 'POST', path: 'devices' },
  { method: 'PATCH', path: `devices/${seeded.device.id}` },
  { method: 'POST', path: 'git_commits' },
];

describe('bodies that are not JSON objects', () => {
  it('malformed JSON → 400 malformed_json on every write endpoint', async () => {
    for (const { method, path } of writes()) {
      for (const rawBody of ['{"name": ', '{name: "x"}', "{'name':'x'}", '{"name":"x"} trailing', '\u0000']) {
        const res = await t.api(method, path, { rawBody });
        expectError(res, 400, 'malformed_json');
      }
    }
    await expectUnchanged();
  });
  it('an empty body declared as JSON, or no body at all, is `{}` (docs/decisions.md #40)', async () => {
    for (const { method, path } of writes()) {
      for (const res of [await t.api(method, path, { rawBody: '' }), await t.api(method, path)]) {
        if (method === 'PATCH') {
          // Every field of an update is optional: an empty update changes nothing.
          expect(res.status, res.text).toBe(200);
          continue;
        }
        expectError(res, 400, 'invalid_request');
        expect(res.body.error.message, res.text).toMatch(/^Field '\w+' is required\.$/);
      }
    }
    await expectUnchanged();
  });
  it('JSON that is not an object (array, string, number, null) → 400 naming the body', async () => {
    for (const { method, path } of writes()) {
      for (const rawBody of ['[]', '[{"name":"x","slug":"x"}]', '"name"', '42', 'null', 'true']) {
        const res = await t.api(method, path, { rawBody });
        expect(res.status, `${method} ${path} ${rawBody}: ${res.text}`).toBe(400);
        expect(res.body.error.params.field, rawBody).toBe('body');
      }
    }
    await expectUnchanged();
  });
  it('a content type other than JSON → 415 naming Content-Type', async () => {
    for (const { method, path } of writes()) {
      for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
        const res = await t.api(method, path, {
          rawBody: 'name=x&slug=x',
          headers: { 'content-type': type },
        });
        expectError(res, 415, 'unsupported_media_type');
        expect(res.body.error.params.header).toBe('Content-Type');
      }
    }
    await expectUnchanged();
  });
  it('a body over the size limit → 413 in the envelope', async () => {
    const res = await t.api('POST', 'devices', { body: { name: 'big', pad: 'x'.repeat(9 * 1024 * 1024) } });
    expectError(res, 413, 'body_too_large');
    await expectUnchanged();
  });
});

describe('fields of the wrong type or missing (never coerced)', () => {
  const cases: Array<{ method: string; path: string; body: unknown; field: string }> = [
    { method: 'POST', path: 'config_types', body: { name: 5, slug: 'five' }, field: 'name' },
    { method: 'POST', path: 'config_types', body: { name: 'Five', slug: 5 }, field: 'slug' },
    { method: 'POST', path: 'config_types', body: { name: null, slug: 'n' }, field: 'name' },
    { method: 'POST', path: 'config_types', body: { name: ['A'], slug: 'a' }, field: 'name' },
    { method: 'POST', path: 'config_types', body: { name: { x: 1 }, slug: 'a' }, field: 'name' },
    { method: 'POST', path: 'config_types', body: { name: true, slug: 'b' }, field: 'name' },
    { method: 'POST', path: 'config_types', body: { slug: 'only-slug' }, field: 'name' },
    { method: 'POST', path: 'config_types', body: { name: 'Only name' }, field: 'slug' },
    { method: 'POST', path: 'config_types', body: {}, field: 'name' },
    { method: 'PATCH', path: 'config_types/:id', body: { name: 7 }, field: 'name' },
    { method: 'PATCH', path: 'config_types/:id', body: { slug: null }, field: 'slug' },
    { method: 'POST', path: 'devices', body: { name: 5 }, field: 'name' },
    { method: 'POST', path: 'devices', body: { name: null }, field: 'name' },
    { method: 'POST', path: 'devices', body: {}, field: 'name' },
    { method: 'POST', path: 'devices', body: { nmae: 'typo' }, field: 'name' },
    { method: 'PATCH', path: 'devices/:id', body: { name: false }, field: 'name' },
    {
      method: 'POST',
      path: 'git_commits',
      body: { message: 'm', origin: 'https://github.com/x/y.git' },
      field: 'sha',
    },
    {
      method: 'POST',
      path: 'git_commits',
      body: { sha: 'b'.repeat(40), origin: 'https://github.com/x/y' },
      field: 'message',
    },
    { method: 'POST', path: 'git_commits', body: { sha: 'b'.repeat(40), message: 'm' }, field: 'origin' },
    {
      method: 'POST',
      path: 'git_commits',
      body: { sha: 1234567890, message: 'm', origin: 'https://github.com/x/y.git' },
      field: 'sha',
    },
    {
      method: 'POST',
      path: 'git_commits',
      body: { sha: 'b'.repeat(40), message: 42, origin: 'https://github.com/x/y.git' },
      field: 'message',
    },
    {
      method: 'POST',
      path: 'git_commits',
      body: { sha: 'b'.repeat(40), message: 'm', origin: { url: 'https://github.com/x/y.git' } },
      field: 'origin',
    },
  ];
  for (const c of cases) {
    it(`${c.method} ${c.path} ${JSON.stringify(c.body)} → 400 naming ${c.field}`, async () => {
      const path = c.path
        .replace('config_types/:id', `config_types/${seeded.configType.id}`)
        .replace('devices/:id', `devices/${seeded.device.id}`);
      const res = await t.api(c.method, path, { body: c.body });
      expectError(res, 400, 'invalid_request');
      expect(res.body.error.params.field).toBe(c.field);
      expect(res.body.error.message).toContain(`'${c.field}'`);
      await expectUnchanged();
    });
  }
});

describe('values of the right type that break a rule', () => {
  it('oversize, empty and control-character names → 400 invalid_name naming the field', async () => {
    // A NUL is refused for every field before any rule runs (400 invalid_text, http-hostile-input.test.ts).
    const bad = ['', '   ', 'x'.repeat(49), 'é'.repeat(49), 'line\nbreak', 'bell\u0007'];
    for (const name of bad) {
      const dev = await t.api('POST', 'devices', { body: { name } });
      expectError(dev, 400, 'invalid_name');
      expect(dev.body.error.params.field).toBe('name');
      const type = await t.api('POST', 'config_types', { body: { name, slug: 'ok-slug' } });
      expectError(type, 400, 'invalid_name');
      expect(type.body.error.params.field).toBe('name');
      const patch = await t.api('PATCH', `devices/${seeded.device.id}`, { body: { name } });
      expectError(patch, 400, 'invalid_name');
    }
    await expectUnchanged();
  });
  it('an invalid slug → 400 invalid_slug', async () => {
    const res = await t.api('POST', 'config_types', { body: { name: 'Slugless', slug: 'Not A Slug' } });
    expectError(res, 400, 'invalid_slug');
    expect(res.body.error.params.field).toBe('slug');
    await expectUnchanged();
  });
});

describe('query parameters', () => {
  it('non-integer offset or limit → 400 naming the parameter', async () => {
    for (const path of ['config_types', 'devices', 'git_commits']) {
      for (const [param, value] of [
        ['limit', 'abc'],
        ['limit', '1.5'],
        ['limit', '10abc'],
        ['offset', 'x'],
        ['offset', '2.5'],
        ['offset', '0x10'],
        ['limit', '1e3'],
      ]) {
        const res = await t.api('GET', `${path}?${param}=${value}`);
        expect(res.status, `${path}?${param}=${value}: ${res.text}`).toBe(400);
        expect(res.body.error.params.field).toBe(param);
        expect(res.body.error.message).toContain(param);
      }
    }
  });
  it('an empty offset or limit means the default', async () => {
    const res = await t.api('GET', 'devices?offset=&limit=');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ offset: 0, limit: 10 });
  });
  it('an unknown order_by value → 400 listing the allowed values', async () => {
    const res = await t.api('GET', 'devices?order_by=name:asc');
    expectError(res, 400, 'invalid_parameter');
    expect(res.body.error.params).toMatchObject({ field: 'order_by', value: 'name:asc' });
    expect(res.body.error.params.allowed).toContain('created_at:desc');
  });
  it('an unknown expand name → 400 listing what may be expanded', async () => {
    const res = await t.api('GET', 'config_types?expand=schemas');
    expectError(res, 400, 'invalid_expand');
    expect(res.body.error.params).toMatchObject({
      field: 'expand',
      value: 'schemas',
      allowed: ['total_count'],
    });
  });
});

describe('headers', () => {
  it('a missing or malformed version header is refused before anything is written', async () => {
    for (const version of [null, '', 'latest', '2026-03-09', 'tetons', '2026-13-40.tetons']) {
      const res = await t.api('POST', 'devices', { body: { name: `v-${version}` }, version });
      expect(res.status, String(version)).toBe(400);
      expect(['missing_version', 'unsupported_version']).toContain(res.body.error.code);
    }
    await expectUnchanged();
  });
  it('a missing or wrong key is refused before the body is looked at', async () => {
    const noKey = await t.api('POST', 'devices', { key: null, rawBody: '{bad json' });
    expect(noKey.status).toBe(401);
    const badKey = await t.api('POST', 'devices', {
      key: 'bsn_invalid_invalid_invalid_01',
      body: { name: 'k' },
    });
    expect(badKey.status).toBe(401);
    await expectUnchanged();
  });
});
