import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { makeTestPki, type TestPki } from '../../../test/support/tls-certs.ts';
import { BosunApiError, BosunClient, BosunNetworkError } from '../src/index.ts';
import { createNodeFetch, nodeFetch } from '../src/node-fetch.ts';
import { closedPort, startProxy } from './support/proxy.ts';

let t: TestServer;
let client: BosunClient;

beforeAll(async () => {
  t = await startTestServer();
  client = new BosunClient({ baseUrl: t.url, apiKey: t.adminKey, retryBaseMs: 1, fetch: nodeFetch });
});
afterAll(async () => {
  await t?.close();
});

/** A server that accepts requests and never answers them. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('nodeFetch: the SDK client over node:http, against a real server', () => {
  it('creates, reads and lists with the same answers as over fetch', async () => {
    const viaFetch = new BosunClient({ baseUrl: t.url, apiKey: t.adminKey });
    const device = await client.devices.create({ name: 'node-fetch-robot' });
    expect(await client.devices.get(device.id)).toEqual(await viaFetch.devices.get(device.id));
    const listed = await client.devices.list({ name: 'node-fetch-robot' });
    expect(listed.data.map((d) => d.id)).toEqual([device.id]);
  });

  it('sends the headers and the JSON body, with its length', async () => {
    const proxy = await startProxy(t.url);
    try {
      const viaProxy = new BosunClient({ baseUrl: proxy.url, apiKey: t.adminKey, fetch: nodeFetch });
      await viaProxy.devices.create({ name: 'node-fetch-headers' });
      const [seen] = proxy.seen;
      expect(seen?.headers['x-api-key']).toBe(t.adminKey);
      expect(seen?.headers['content-type']).toBe('application/json');
      expect(seen?.headers['content-length']).toBe(
        String(JSON.stringify({ name: 'node-fetch-headers' }).length),
      );
      expect(seen?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await proxy.close();
    }
  });

  it('turns an error answer into BosunApiError with the envelope and the request id header', async () => {
    const err = await client.devices.get('dvc_missing').catch((e) => e);
    expect(err).toBeInstanceOf(BosunApiError);
    expect(err.status).toBe(404);
    expect(err.code).toBe('resource_not_found');
    expect(err.requestId).toEqual(expect.any(String));
  });

  it('retries a POST without a key after a refused connection: the refusal is recognised', async () => {
    const port = await closedPort();
    let attempts = 0;
    const c = new BosunClient({
      baseUrl: `http://127.0.0.1:${port}`,
      apiKey: 'k',
      retries: 2,
      retryBaseMs: 1,
      idempotencyKeys: false,
      fetch: (url, init) => {
        attempts++;
        return nodeFetch(url, init);
      },
    });
    const err = await c.devices.create({ name: 'never' }).catch((e) => e);
    expect(err).toBeInstanceOf(BosunNetworkError);
    expect(err.message).toContain('ECONNREFUSED');
    expect(attempts).toBe(3);
  });

  it('ends a request that gets no answer when the timeout fires, and one whose signal is already aborted', async () => {
    const silent = await silentServer();
    try {
      const c = new BosunClient({
        baseUrl: silent.url,
        apiKey: 'k',
        retries: 0,
        timeoutMs: 200,
        fetch: nodeFetch,
      });
      const err = await c.principal().catch((e) => e);
      expect(err).toBeInstanceOf(BosunNetworkError);
      expect(err.message).toMatch(/timeout|aborted/i);

      const aborted = AbortSignal.abort(new Error('gone'));
      await expect(nodeFetch(`${silent.url}/x`, { signal: aborted })).rejects.toThrow('gone');
    } finally {
      await silent.close();
    }
  });

  it('answers status, headers, text, JSON and bytes of the response', async () => {
    const res = await nodeFetch(`${t.url}/healthz`, {});
    expect(res.ok).toBe(true);
    expect(res.status).toBe(200);
    expect(res.headers.get('Content-Type')).toMatch(/^application\/json/);
    expect(res.headers.get('x-no-such-header')).toBeNull();
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(await res.json());
    expect(await res.text()).toBe(bytes.toString('utf8'));
  });
});

describe('createNodeFetch: https against a private CA', () => {
  let pki: TestPki;
  let server: HttpsServer;
  let url: string;
  beforeAll(async () => {
    pki = makeTestPki();
    server = createHttpsServer(
      { cert: readFileSync(pki.certFile), key: readFileSync(pki.keyFile) },
      (_req, res) => res.end('{"ok":true}'),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    pki?.destroy();
  });

  it('trusts a server whose certificate chains to the given CA', async () => {
    const res = await createNodeFetch({ ca: readFileSync(pki.caFile) })(url, {});
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
  });

  it('refuses it without the CA, and with another CA (verification is never off)', async () => {
    // The server sends its leaf only: OpenSSL finds no trusted issuer for it.
    const untrusted = { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' };
    await expect(nodeFetch(url, {})).rejects.toMatchObject(untrusted);
    await expect(createNodeFetch({})(url, {})).rejects.toMatchObject(untrusted);
    await expect(createNodeFetch({ ca: readFileSync(pki.otherCaFile) })(url, {})).rejects.toMatchObject(
      untrusted,
    );
  });
});
