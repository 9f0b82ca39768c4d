import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('health and documents', () => {
  it('GET /healthz needs neither key nor version', async () => {
    const res = await t.api('GET', '/healthz', { key: null, version: null });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('ok');
  });
  it('serves its own OpenAPI document generated from the route schemas', async () => {
    const res = await t.api('GET', '/beta/openapi.json', { key: null, version: null });
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    const ops = Object.values(
      res.body.paths as Record<string, Record<string, { operationId?: string }>>,
    ).flatMap((p) => Object.values(p).map((o) => o.operationId));
    for (const op of ['createConfigType', 'listDevices', 'getGitCommit', 'getSelf', 'updateConfigType']) {
      expect(ops).toContain(op);
    }
    expect(res.body.paths['/config_types']).toBeDefined();
  });
  it('serves a human-readable reference at /docs', async () => {
    const res = await fetch(`${t.url}/docs/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html');
  });
});

describe('Miru-Version header', () => {
  it('missing → 400 missing_version', async () => {
    const res = await t.api('GET', 'principal', { version: null });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('missing_version');
  });
  it('another train → 400 unsupported_version', async () => {
    const res = await t.api('GET', 'principal', { version: '2026-05-06.rainier' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'unsupported_version',
      params: { value: '2026-05-06.rainier' },
    });
  });
  it('another date of the tetons train is accepted', async () => {
    expect((await t.api('GET', 'principal', { version: '2026-04-20.tetons' })).status).toBe(200);
  });
});

describe('authentication and scopes', () => {
  it('no key → 401 with the envelope', async () => {
    const res = await t.api('GET', 'devices', { key: null });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthenticated');
  });
  it('unknown key → 401', async () => {
    const res = await t.api('GET', 'devices', { key: 'bsn_not_a_real_key_at_all_000000' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_api_key');
  });
  it('records when a key was last used', async () => {
    const key = await t.keyWith('devices:read');
    const principal = await t.api('GET', 'principal', { key });
    // The write is off the request path: wait until it lands (the bound only keeps a broken write
    // from hanging the suite; how fast it lands is not what this test checks).
    const lastUsed = await vi.waitFor(
      async () => {
        const keys = await t.server.app.repos.apiKeys.list();
        const used = keys.find((k) => k.id === principal.body.id)?.last_used_at;
        if (!used) throw new Error('last_used_at not recorded yet');
        return used;
      },
      { timeout: 30_000, interval: 10 },
    );
    expect(lastUsed).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });
  it('revoked key → 401 immediately', async () => {
    const key = await t.keyWith('devices:read');
    const principal = await t.api('GET', 'principal', { key });
    expect(principal.status).toBe(200);
    await t.server.app.repos.apiKeys.revoke(principal.body.id);
    expect((await t.api('GET', 'devices', { key })).status).toBe(401);
  });
  it('/principal needs no scope and names the key', async () => {
    const key = await t.keyWith('releases:read');
    const res = await t.api('GET', 'principal', { key });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ object: 'principal', name: 'test releases:read' });
    expect(res.body.id).toMatch(/^api_key_/);
  });
  it('missing scope → 403 naming the scope; write does not imply read', async () => {
    const key = await t.keyWith('config_types:write');
    const res = await t.api('GET', 'config_types', { key });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({
      code: 'missing_scope',
      params: { required: ['config_types:read'] },
    });
    expect(
      (await t.api('POST', 'config_types', { key, body: { name: 'Scoped', slug: 'scoped' } })).status,
    ).toBe(200);
  });
  it('manage grants every action of its resource and nothing else', async () => {
    const key = await t.keyWith('devices:manage');
    expect((await t.api('POST', 'devices', { key, body: { name: 'managed' } })).status).toBe(200);
    expect((await t.api('GET', 'devices', { key })).status).toBe(200);
    expect((await t.api('GET', 'config_types', { key })).status).toBe(403);
  });
  it('creating a device accepts devices:write or devices:provision', async () => {
    const provision = await t.keyWith('devices:provision');
    expect((await t.api('POST', 'devices', { key: provision, body: { name: 'prov-1' } })).status).toBe(200);
    const read = await t.keyWith('devices:read');
    expect((await t.api('POST', 'devices', { key: read, body: { name: 'prov-2' } })).status).toBe(403);
  });
  it('responses carry a request id', async () => {
    const res = await t.api('GET', 'principal');
    expect(res.headers.get('x-request-id')).toMatch(/^req_/);
  });
});

describe('malformed input', () => {
  it('malformed JSON → 400 malformed_json and nothing created', async () => {
    const res = await t.api('POST', 'devices', { rawBody: '{"name": ' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('malformed_json');
  });
  it('a wrong type → 400 naming the field, never coerced', async () => {
    const res = await t.api('POST', 'devices', { body: { name: 5 } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', params: { field: 'name' } });
    expect(res.body.error.message).toContain("'name'");
    const list = await t.api('GET', 'devices?name=5');
    expect(list.body.data).toHaveLength(0);
  });
  it('a missing field → 400 naming it', async () => {
    const res = await t.api('POST', 'config_types', { body: { name: 'No slug' } });
    expect(res.status).toBe(400);
    expect(res.body.error.params.field).toBe('slug');
    expect(res.body.error.message).toBe("Field 'slug' is required.");
  });
  it('an unknown route → 404 in the envelope', async () => {
    const res = await t.api('GET', 'nothing_here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('route_not_found');
  });
});
