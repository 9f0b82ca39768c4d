import { createHash } from 'node:crypto';
import { ALL_SCOPES } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/** The API-key API (extension under /beta/api_keys, scope api_keys:manage). */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const create = (body: unknown, key?: string) => t.api('POST', 'api_keys', { body, key });

describe('POST /api_keys', () => {
  it('creates a key and shows its secret once; the key works at once with exactly its scopes', async () => {
    const res = await create({ name: 'ci deploy', scopes: ['deployments:read', 'devices:manage'] });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      object: 'api_key',
      name: 'ci deploy',
      scopes: ['deployments:read', 'devices:manage'],
      last_used_at: null,
      revoked_at: null,
    });
    expect(res.body.id).toMatch(/^api_key_/);
    expect(res.body.secret).toMatch(/^bsn_[A-Za-z0-9]{32}$/);
    const secret = res.body.secret;
    expect((await t.api('GET', 'principal', { key: secret })).body).toEqual({
      object: 'principal',
      id: res.body.id,
      name: 'ci deploy',
    });
    expect((await t.api('GET', 'devices', { key: secret })).status).toBe(200);
    expect((await t.api('GET', 'config_types', { key: secret })).status).toBe(403);
    // Shown once: get and list never carry it, nor its hash.
    const hash = createHash('sha256').update(secret).digest('hex');
    const got = await t.api('GET', `api_keys/${res.body.id}`);
    const list = await t.api('GET', 'api_keys?limit=100');
    for (const text of [got.text, list.text]) {
      expect(text).not.toContain(secret);
      expect(text).not.toContain(hash);
    }
    expect(Object.keys(got.body).sort()).toEqual([
      'created_at',
      'id',
      'last_used_at',
      'name',
      'object',
      'revoked_at',
      'scopes',
    ]);
  });

  it('the secret is stored hashed', async () => {
    const res = await create({ name: 'hashed', scopes: ['devices:read'] });
    const row = await t.server.store.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', res.body.id)
      .executeTakeFirstOrThrow();
    expect(JSON.stringify(row)).not.toContain(res.body.secret);
    expect(row.key_hash).toBe(createHash('sha256').update(res.body.secret).digest('hex'));
  });

  it('a key can never grant scopes its creator lacks → 403 scope_not_held; nothing created', async () => {
    const manager = await t.keyWith('api_keys:manage', 'devices:read');
    const before = (await t.api('GET', 'api_keys?expand=total_count')).body.total_count;
    for (const scopes of [['devices:manage'], ['devices:write'], ['api_keys:manage', 'releases:read']]) {
      const res = await create({ name: 'escalate', scopes }, manager);
      expect(res.status, JSON.stringify(scopes)).toBe(403);
      expect(res.body.error.code).toBe('scope_not_held');
    }
    expect((await t.api('GET', 'api_keys?expand=total_count')).body.total_count).toBe(before);
    // What it holds it may hand on, including api_keys:manage itself.
    const ok = await create({ name: 'narrower', scopes: ['devices:read', 'api_keys:manage'] }, manager);
    expect(ok.status, ok.text).toBe(200);
  });

  it('bad input: unknown scope 422, empty scopes or missing name 400, bad name 400', async () => {
    const unknown = await create({ name: 'x', scopes: ['devices:fly'] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.error).toMatchObject({ code: 'unknown_scope', params: { unknown: ['devices:fly'] } });
    expect((await create({ name: 'x', scopes: [] })).status).toBe(400);
    expect((await create({ scopes: ['devices:read'] })).status).toBe(400);
    const blank = await create({ name: '  ', scopes: ['devices:read'] });
    expect(blank.status).toBe(400);
  });

  it('needs api_keys:manage (devices:manage is not enough); the admin key holds it', async () => {
    const other = await t.keyWith('devices:manage');
    for (const [method, path] of [
      ['POST', 'api_keys'],
      ['GET', 'api_keys'],
      ['GET', 'api_keys/api_key_x'],
      ['PATCH', 'api_keys/api_key_x'],
      ['POST', 'api_keys/api_key_x/revoke'],
    ] as const) {
      const body = method === 'GET' ? undefined : { name: 'n', scopes: ['devices:read'] };
      const res = await t.api(method, path, { key: other, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.code).toBe('missing_scope');
    }
    expect(ALL_SCOPES).toContain('api_keys:manage');
  });
});

describe('list, get, rename, revoke', () => {
  it('lists keys page by page and gets one; unknown id → 404', async () => {
    const a = (await create({ name: 'list-a', scopes: ['devices:read'] })).body;
    const page = await t.api('GET', `api_keys?id=${a.id}`);
    expect(page.body).toMatchObject({
      object: 'list',
      has_more: false,
      data: [{ id: a.id, name: 'list-a' }],
    });
    expect((await t.api('GET', `api_keys/${a.id}`)).body).toMatchObject({ id: a.id, name: 'list-a' });
    const missing = await t.api('GET', 'api_keys/api_key_missing');
    expect(missing.status).toBe(404);
  });

  it('rename changes the name only; the secret keeps working', async () => {
    const made = (await create({ name: 'old name', scopes: ['devices:read'] })).body;
    const res = await t.api('PATCH', `api_keys/${made.id}`, { body: { name: 'new name' } });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: made.id, name: 'new name', scopes: ['devices:read'] });
    expect((await t.api('GET', 'principal', { key: made.secret })).body.name).toBe('new name');
    expect((await t.api('PATCH', `api_keys/${made.id}`, { body: { name: '' } })).status).toBe(400);
    expect((await t.api('PATCH', 'api_keys/api_key_missing', { body: { name: 'x' } })).status).toBe(404);
  });

  it('revoke: the key is refused at once; a second revoke is 409; others are untouched', async () => {
    const made = (await create({ name: 'to revoke', scopes: ['devices:read'] })).body;
    expect((await t.api('GET', 'devices', { key: made.secret })).status).toBe(200);
    const res = await t.api('POST', `api_keys/${made.id}/revoke`);
    expect(res.status, res.text).toBe(200);
    expect(res.body.revoked_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const after = await t.api('GET', 'devices', { key: made.secret });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('invalid_api_key');
    const again = await t.api('POST', `api_keys/${made.id}/revoke`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('api_key_revoked');
    expect((await t.api('POST', 'api_keys/api_key_missing/revoke')).status).toBe(404);
    expect((await t.api('GET', 'principal')).status).toBe(200);
  });

  it('a narrower manager can neither rename nor revoke a stronger key', async () => {
    const manager = await t.keyWith('api_keys:manage', 'devices:read');
    const strong = (await create({ name: 'strong', scopes: ['releases:manage'] })).body;
    const rename = await t.api('PATCH', `api_keys/${strong.id}`, { key: manager, body: { name: 'pwned' } });
    expect(rename.status).toBe(403);
    expect(rename.body.error.code).toBe('scope_not_held');
    const revoke = await t.api('POST', `api_keys/${strong.id}/revoke`, { key: manager });
    expect(revoke.status).toBe(403);
    expect((await t.api('GET', `api_keys/${strong.id}`)).body).toMatchObject({
      name: 'strong',
      revoked_at: null,
    });
  });
});

describe('OpenAPI document', () => {
  it('marks every /api_keys operation as a Bosun extension', async () => {
    const doc = (await t.api('GET', 'openapi.json')).body;
    const ops = Object.entries<Record<string, any>>(doc.paths)
      .filter(([path]) => path.startsWith('/api_keys'))
      .flatMap(([, item]) =>
        // Path items also carry path-level `parameters` (the Miru-Version header); only operations count.
        Object.entries(item)
          .filter(([method]) => method !== 'parameters')
          .map(([, op]) => op),
      );
    expect(ops.map((op) => op.operationId).sort()).toEqual([
      'createApiKey',
      'getApiKey',
      'listApiKeys',
      'revokeApiKey',
      'updateApiKey',
    ]);
    for (const op of ops) expect(op['x-bosun-extension'], op.operationId).toBe(true);
  });
});
