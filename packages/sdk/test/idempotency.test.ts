import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstance, createRelease } from '../../../test/support/deployments.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { BosunApiError, BosunClient, BosunNetworkError } from '../src/index.ts';
import { closedPort, startProxy } from './support/proxy.ts';

/** The SDK's side of `Idempotency-Key` (docs/decisions.md #17): a retried POST never runs twice. */
let t: TestServer;
let client: BosunClient;
beforeAll(async () => {
  t = await startTestServer();
  client = new BosunClient({ baseUrl: t.url, apiKey: t.adminKey, retryBaseMs: 1 });
});
afterAll(async () => {
  await t?.close();
});

const isDeploymentCreate = (req: { method: string; url: string }) =>
  req.method === 'POST' && req.url.startsWith('/beta/deployments');

describe('a create whose response is lost on the way back', () => {
  it('is retried with the same key and creates exactly one deployment', async () => {
    const release = await createRelease(t);
    const instance = await createInstance(t, release);
    const device = await client.devices.create({ name: `lost-${Date.now()}` });
    // The first POST reaches the server and commits; its answer never reaches the client.
    const proxy = await startProxy(t.url, () => null, {
      dropResponse: (req, index) => index === 0 && isDeploymentCreate(req),
    });
    try {
      const viaProxy = new BosunClient({ baseUrl: proxy.url, apiKey: t.adminKey, retryBaseMs: 1 });
      const made = await viaProxy.deployments.create({
        device_id: device.id,
        release_id: release.releaseId,
        config_instance_ids: [instance.id],
        description: 'retried across a lost response',
        target_status: 'staged',
      });
      const posts = proxy.seen.filter(isDeploymentCreate);
      expect(posts).toHaveLength(2);
      const key = posts[0]!.headers['idempotency-key'];
      expect(key).toMatch(/^[0-9a-f-]{36}$/);
      expect(posts[1]!.headers['idempotency-key']).toBe(key);
      const all = await client.deployments.listAll({ device_id: [device.id] });
      expect(all.map((d) => d.id)).toEqual([made.id]);
      expect(made.status).toBe('staged');
    } finally {
      await proxy.close();
    }
  });

  it('without a key (opted out) the POST is not retried: the caller gets the network error', async () => {
    const proxy = await startProxy(t.url, () => null, {
      dropResponse: (req, index) => index === 0 && req.method === 'POST',
    });
    try {
      const noKeys = new BosunClient({
        baseUrl: proxy.url,
        apiKey: t.adminKey,
        retryBaseMs: 1,
        idempotencyKeys: false,
      });
      const name = `no-key-${Date.now()}`;
      const err = await noKeys.devices.create({ name }).catch((e) => e);
      expect(err).toBeInstanceOf(BosunNetworkError);
      expect(proxy.seen).toHaveLength(1);
      expect(proxy.seen[0]!.headers['idempotency-key']).toBeUndefined();
      // It did run once; the caller must check before trying again.
      expect(await client.devices.listAll({ name: [name] })).toHaveLength(1);

      // A 5xx answer does not prove the request did nothing either: not retried without a key.
      const down = await startProxy(t.url, () => ({ status: 503, body: '' }));
      try {
        const viaDown = new BosunClient({ baseUrl: down.url, apiKey: t.adminKey, retryBaseMs: 1 });
        const perCall = await viaDown.devices.create({ name: 'x' }, { idempotencyKey: null }).catch((e) => e);
        expect(perCall).toBeInstanceOf(BosunApiError);
        expect(down.seen).toHaveLength(1);
      } finally {
        await down.close();
      }
    } finally {
      await proxy.close();
    }
  });

  it('without a key a refused connection is still retried (nothing reached a server)', async () => {
    const port = await closedPort();
    let attempts = 0;
    const c = new BosunClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'k',
      retries: 2,
      retryBaseMs: 1,
      idempotencyKeys: false,
      fetch: (input, init) => {
        attempts++;
        return fetch(input, init);
      },
    });
    expect(await c.devices.create({ name: 'never' }).catch((e) => e)).toBeInstanceOf(BosunNetworkError);
    expect(attempts).toBe(3);
  });
});

describe('keys on every POST', () => {
  it('each call gets its own key, reused by its retries; a caller-chosen key is sent as is', async () => {
    const proxy = await startProxy(t.url, (req, i) =>
      req.method === 'POST' && i === 0 ? { status: 503 } : null,
    );
    try {
      const viaProxy = new BosunClient({ baseUrl: proxy.url, apiKey: t.adminKey, retryBaseMs: 1 });
      await viaProxy.devices.create({ name: `keyed-a-${Date.now()}` });
      await viaProxy.devices.create({ name: `keyed-b-${Date.now()}` }, { idempotencyKey: 'my-own-key-1' });
      await viaProxy.devices.list();
      const keys = proxy.seen.map((r) => r.headers['idempotency-key']);
      expect(keys[0]).toBeDefined();
      expect(keys[1]).toBe(keys[0]);
      expect(keys[2]).toBe('my-own-key-1');
      expect(keys[3]).toBeUndefined(); // GET
    } finally {
      await proxy.close();
    }
  });

  it('a caller-chosen key replays across client instances (a process restart on the caller side)', async () => {
    const name = `replayed-${Date.now()}`;
    const a = await client.devices.create({ name }, { idempotencyKey: `create-${name}` });
    const other = new BosunClient({ baseUrl: t.url, apiKey: t.adminKey });
    const b = await other.devices.create({ name }, { idempotencyKey: `create-${name}` });
    expect(b).toEqual(a);
  });
});
