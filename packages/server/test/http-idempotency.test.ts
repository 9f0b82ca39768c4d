import { randomUUID } from 'node:crypto';
import { startServer } from '@bosun/server';
import { sql } from 'kysely';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION, startTestServer, type TestServer } from '../../../test/support/server.ts';

/** `Idempotency-Key` on every POST (docs/decisions.md #17; Stripe's semantics). */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const withKey = (key: string, extra: Record<string, string> = {}) => ({ 'idempotency-key': key, ...extra });
const uniqueName = () => `idem-${randomUUID().slice(0, 8)}`;

async function devicesNamed(server: TestServer, name: string): Promise<unknown[]> {
  const all = await server.api('GET', 'devices?limit=100');
  return all.body.data.filter((d: { name: string }) => d.name === name);
}

async function rowsFor(key: string) {
  return t.server.store.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('idempotency_key', '=', key)
    .execute();
}

describe('same key, same request', () => {
  it('replays the stored status and body with Idempotent-Replayed: true; the write happens once', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await t.api('POST', 'devices', { body: { name }, headers: withKey(key) });
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // Key order and whitespace do not make a different request.
    const again = await t.api('POST', 'devices', {
      rawBody: `{ "name" : "${name}" }`,
      headers: withKey(key),
    });
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await devicesNamed(t, name)).toHaveLength(1);
  });

  it('a validation error is stored and replayed too', async () => {
    const key = randomUUID();
    const first = await t.api('POST', 'devices', { body: { name: 42 }, headers: withKey(key) });
    expect(first.status).toBe(400);
    const again = await t.api('POST', 'devices', { body: { name: 42 }, headers: withKey(key) });
    expect(again.status).toBe(400);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('a conflict (409) is replayed as it was, not re-run', async () => {
    const name = uniqueName();
    expect((await t.api('POST', 'devices', { body: { name } })).status).toBe(200);
    const key = randomUUID();
    const first = await t.api('POST', 'devices', { body: { name }, headers: withKey(key) });
    expect(first.status).toBe(409);
    const again = await t.api('POST', 'devices', { body: { name }, headers: withKey(key) });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });

  it('body-less actions: no body and {} are the same request', async () => {
    const device = (await t.api('POST', 'devices', { body: { name: uniqueName() } })).body;
    const key = randomUUID();
    const first = await t.api('POST', `devices/${device.id}/activation_token`, {
      body: {},
      headers: withKey(key),
    });
    expect(first.status, first.text).toBe(200);
    const again = await t.api('POST', `devices/${device.id}/activation_token`, { headers: withKey(key) });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    // The replay hands out the same token; a second token was never issued.
    expect(again.body).toEqual(first.body);
  });
});

describe('same key, different request', () => {
  it('a different body → 422 idempotency_key_reused; nothing written', async () => {
    const key = randomUUID();
    const a = uniqueName();
    const b = uniqueName();
    expect((await t.api('POST', 'devices', { body: { name: a }, headers: withKey(key) })).status).toBe(200);
    const res = await t.api('POST', 'devices', { body: { name: b }, headers: withKey(key) });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'idempotency_key_reused', params: { differs: 'body' } });
    expect(await devicesNamed(t, b)).toEqual([]);
  });

  it('a different path → 422 idempotency_key_reused', async () => {
    const key = randomUUID();
    expect(
      (await t.api('POST', 'devices', { body: { name: uniqueName() }, headers: withKey(key) })).status,
    ).toBe(200);
    const res = await t.api('POST', 'config_types', {
      body: { name: uniqueName(), slug: uniqueName() },
      headers: withKey(key),
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({ code: 'idempotency_key_reused', params: { differs: 'path' } });
  });

  it('keys are scoped per API key: another key with the same Idempotency-Key runs its own request', async () => {
    const other = await t.keyWith('devices:manage');
    const key = randomUUID();
    const a = await t.api('POST', 'devices', { body: { name: uniqueName() }, headers: withKey(key) });
    const b = await t.api('POST', 'devices', {
      key: other,
      body: { name: uniqueName() },
      headers: withKey(key),
    });
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
  });
});

describe('concurrency', () => {
  it('a duplicate while the first is in flight → 409 idempotency_key_in_use; then the replay', async () => {
    const device = (await t.api('POST', 'devices', { body: { name: uniqueName() } })).body;
    const key = randomUUID();
    // A ping of a device with no agent is a real POST that stays in flight until its timeout.
    const body = { timeout_nanos: 10_000_000_000 };
    const first = t.api('POST', `devices/${device.id}/ping`, { body, headers: withKey(key) });
    while ((await rowsFor(key)).length === 0) await new Promise((r) => setImmediate(r));
    const duplicate = await t.api('POST', `devices/${device.id}/ping`, { body, headers: withKey(key) });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.error.code).toBe('idempotency_key_in_use');
    const done = await first;
    expect(done.status).toBe(200);
    const replay = await t.api('POST', `devices/${device.id}/ping`, { body, headers: withKey(key) });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(done.body);
  });

  it('a burst of identical requests with one key creates exactly one resource', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => t.api('POST', 'devices', { body: { name }, headers: withKey(key) })),
    );
    const created = results.filter((r) => r.status === 200);
    expect(created.length).toBeGreaterThanOrEqual(1);
    for (const r of created) expect(r.body).toEqual(created[0]!.body);
    expect(created.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(409);
      expect(r.body.error.code).toBe('idempotency_key_in_use');
    }
    expect(await devicesNamed(t, name)).toHaveLength(1);
  });
});

describe('server faults', () => {
  it('a 5xx is not stored: the key is released and a retry runs the request', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const db = t.server.store.db;
    // A real fault of the database under the handler, not a stub.
    await sql`alter table devices rename to devices_away`.execute(db);
    let failed: Awaited<ReturnType<TestServer['api']>>;
    try {
      failed = await t.api('POST', 'devices', { body: { name }, headers: withKey(key) });
    } finally {
      await sql`alter table devices_away rename to devices`.execute(db);
    }
    expect(failed.status).toBe(500);
    expect(await rowsFor(key)).toEqual([]);
    const retry = await t.api('POST', 'devices', { body: { name }, headers: withKey(key) });
    expect(retry.status, retry.text).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
    expect(await devicesNamed(t, name)).toHaveLength(1);
  });
});

describe('expiry', () => {
  it('after 24 h a key is forgotten (a new request may use it) and expired rows are pruned', async () => {
    const key = randomUUID();
    expect(
      (await t.api('POST', 'devices', { body: { name: uniqueName() }, headers: withKey(key) })).status,
    ).toBe(200);
    const past = new Date(Date.now() - 1000).toISOString();
    await t.server.store.db
      .updateTable('idempotency_keys')
      .set({ expires_at: past })
      .where('idempotency_key', '=', key)
      .execute();
    const reused = await t.api('POST', 'devices', { body: { name: uniqueName() }, headers: withKey(key) });
    expect(reused.status).toBe(200);
    expect(reused.headers.get('idempotent-replayed')).toBeNull();

    const stale = randomUUID();
    expect(
      (await t.api('POST', 'devices', { body: { name: uniqueName() }, headers: withKey(stale) })).status,
    ).toBe(200);
    await t.server.store.db
      .updateTable('idempotency_keys')
      .set({ expires_at: past })
      .where('idempotency_key', '=', stale)
      .execute();
    expect(await t.server.app.repos.idempotencyKeys.prune()).toBeGreaterThanOrEqual(1);
    expect(await rowsFor(stale)).toEqual([]);
    expect(await rowsFor(key)).toHaveLength(1);
  });
});

describe('the header itself', () => {
  it('an empty or over-long key → 400 invalid_idempotency_key; nothing written', async () => {
    for (const key of ['x'.repeat(256), 'with space', 'é']) {
      const name = uniqueName();
      const res = await t.api('POST', 'devices', { body: { name }, headers: withKey(key) });
      expect(res.status, key).toBe(400);
      expect(res.body.error).toMatchObject({
        code: 'invalid_idempotency_key',
        params: { header: 'Idempotency-Key' },
      });
      expect(await devicesNamed(t, name)).toEqual([]);
    }
  });

  it('without a key nothing is remembered; GETs ignore the header', async () => {
    const a = await t.api('POST', 'devices', { body: { name: uniqueName() } });
    const b = await t.api('POST', 'devices', { body: { name: uniqueName() } });
    expect(a.body.id).not.toBe(b.body.id);
    const key = randomUUID();
    const got = await t.api('GET', `devices/${a.body.id}`, { headers: withKey(key) });
    expect(got.headers.get('idempotent-replayed')).toBeNull();
    expect(await rowsFor(key)).toEqual([]);
  });

  it('a request refused by authentication does not claim the key', async () => {
    const key = randomUUID();
    const readOnly = await t.keyWith('devices:read');
    const res = await t.api('POST', 'devices', {
      key: readOnly,
      body: { name: uniqueName() },
      headers: withKey(key),
    });
    expect(res.status).toBe(403);
    expect(await rowsFor(key)).toEqual([]);
  });

  it('the OpenAPI document declares the optional header on every POST, and only there', async () => {
    const doc = (await t.api('GET', 'openapi.json')).body;
    let posts = 0;
    for (const [path, item] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const header = (op.parameters ?? []).find(
          (p: { in: string; name: string }) => p.in === 'header' && p.name === 'Idempotency-Key',
        );
        if (method === 'post') {
          posts++;
          expect(header, `${method} ${path}`).toMatchObject({ required: false, schema: { type: 'string' } });
        } else expect(header, `${method} ${path}`).toBeUndefined();
      }
    }
    expect(posts).toBeGreaterThan(5);
  });
});

describe('across a restart', () => {
  it('the stored response survives the server process: a retry after a restart is replayed', async () => {
    const s = await startTestServer();
    try {
      const key = randomUUID();
      const name = uniqueName();
      const first = await s.api('POST', 'devices', { body: { name }, headers: withKey(key) });
      expect(first.status).toBe(200);
      await s.server.close();
      const again = await startServer(
        {
          port: 0,
          host: '127.0.0.1',
          dataDir: s.database.dataDir,
          databaseUrl: s.database.databaseUrl,
          logLevel: 'silent',
          bootstrapApiKey: undefined,
        },
        { logger: pino({ level: 'silent' }), pgSchema: s.database.pgSchema, print: () => {} },
      );
      try {
        const res = await fetch(`${again.url}/beta/devices`, {
          method: 'POST',
          headers: {
            'miru-version': API_VERSION,
            'x-api-key': s.adminKey,
            'content-type': 'application/json',
            'idempotency-key': key,
          },
          body: JSON.stringify({ name }),
        });
        expect(res.status).toBe(200);
        expect(res.headers.get('idempotent-replayed')).toBe('true');
        expect(await res.json()).toEqual(first.body);
      } finally {
        await again.close();
      }
    } finally {
      await s.database.destroy();
    }
  });
});
