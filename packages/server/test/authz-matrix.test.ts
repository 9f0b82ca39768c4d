import { ALL_SCOPES, API_VERSION as CORE_API_VERSION, grantsAny } from '@bosun/core';
import { signDeviceJwt } from '@bosun/core/device-jwt';
import { generateApiKeySecret } from '@bosun/server';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agentCall, provisionDevice, type TestDevice } from '../../../test/support/device-agent.ts';
import {
  API_VERSION,
  type ApiResponse,
  startTestServer,
  type TestServer,
} from '../../../test/support/server.ts';
import { openTestStore } from '../../../test/support/store.ts';
import { platformAuthPlugin } from '../src/http/auth.ts';
import { createRepositories } from '../src/storage/index.ts';

/**
 * The authorization matrix, generated from the app's route table (`app.routeTable`), so a route added
 * tomorrow is covered without editing this file. Runs on the engine of the HTTP suites (SQLite, or
 * PostgreSQL under `npm run test:pg`). docs/decisions.md #42.
 */
let t: TestServer;
let device: TestDevice;
let other: TestDevice;
let deploymentOfDevice: string;
let instanceOfDevice: string;
const keys = new Map<string, string>();

/** A key with exactly these scopes, created once per scope set. */
async function keyWith(...scopes: string[]): Promise<string> {
  const id = scopes.join(' ');
  if (!keys.has(id)) keys.set(id, await t.keyWith(...scopes));
  return keys.get(id)!;
}

beforeAll(async () => {
  t = await startTestServer();
  device = await provisionDevice(t);
  other = await provisionDevice(t);
  const seeded = await seedDeployment(t, device.id);
  deploymentOfDevice = seeded.deploymentId;
  instanceOfDevice = seeded.instanceId;
});
afterAll(async () => {
  await t?.close();
});

/** Path parameters filled with well-formed ids nobody has: auth must decide before any lookup. */
const fill = (url: string) =>
  url.replace(/:(\w+)/g, (_m, name: string) => `${name.replace(/_id$/, '')}_nobody`);

function platformRoutes() {
  const routes = t.server.app.routeTable.filter(
    (r) => r.url.startsWith('/beta/') && r.method !== 'HEAD' && r.config.public !== true,
  );
  expect(routes.length).toBeGreaterThan(25);
  return routes;
}

async function call(method: string, url: string, headers: Record<string, string>, json: boolean) {
  const init: RequestInit = { method, headers: { 'miru-version': API_VERSION, ...headers } };
  if (json) {
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
    init.body = '{}';
  }
  const res = await fetch(`${t.url}${url}`, init);
  // An event stream never ends: its status and headers are the answer (the body is cancelled).
  const streaming = res.headers.get('content-type')?.startsWith('text/event-stream');
  if (streaming) await res.body?.cancel();
  const text = streaming ? '' : await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body, text } satisfies ApiResponse;
}

describe('platform API: every operation of the route table', () => {
  it('declares its scopes (or is public): the table itself has no gap', () => {
    for (const r of t.server.app.routeTable.filter((r) => r.url.startsWith('/beta/'))) {
      expect(r.config.public === true || Array.isArray(r.config.scopes), `${r.method} ${r.url}`).toBe(true);
    }
  });

  it('no key, a revoked key, a device access token → 401', async () => {
    const revoked = generateApiKeySecret();
    const record = await t.server.app.repos.apiKeys.create({
      name: 'revoked',
      scopes: ALL_SCOPES,
      secret: revoked,
    });
    expect(await t.server.app.repos.apiKeys.revoke(record.id)).toBe(true);
    const problems: string[] = [];
    for (const r of platformRoutes()) {
      const url = fill(r.url);
      const json = r.objectBody;
      const cases: Array<[string, Record<string, string>]> = [
        ['no key', {}],
        ['revoked key', { 'x-api-key': revoked }],
        ['device token as key', { 'x-api-key': device.token }],
        ['device token as bearer', { authorization: `Bearer ${device.token}` }],
      ];
      for (const [what, headers] of cases) {
        const res = await call(r.method, url, headers, json);
        if (res.status !== 401) problems.push(`${r.method} ${r.url} ${what}: ${res.status} ${res.text}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('a key lacking the scope, or holding only the :read of a write → 403 missing_scope', async () => {
    const problems: string[] = [];
    let checked = 0;
    for (const r of platformRoutes()) {
      const required = r.config.scopes!;
      if (required.length === 0) continue; // any valid key (GET /principal): nothing to lack
      const lacking = ALL_SCOPES.filter((s) => !grantsAny([s], required));
      const readOnly = [...new Set(required.map((s) => `${s.split(':')[0]}:read`))].filter(
        (s) => !grantsAny([s], required),
      );
      // Every other scope at once, and each :read of a resource whose write it needs; a route that
      // needs further scopes (alsoScopes) refuses each accepted scope without them.
      const also = r.config.alsoScopes ?? [];
      const attempts = [
        lacking,
        ...readOnly.map((s) => [s]),
        ...(also.length ? required.map((s) => [s]) : []),
      ];
      for (const scopes of attempts) {
        const res = await call(
          r.method,
          fill(r.url),
          { 'x-api-key': await keyWith(...scopes) },
          r.objectBody,
        );
        checked++;
        if (res.status !== 403 || res.body?.error?.code !== 'missing_scope')
          problems.push(`${r.method} ${r.url} with ${scopes.join(',')}: ${res.status} ${res.text}`);
      }
    }
    expect(problems).toEqual([]);
    expect(checked).toBeGreaterThan(40);
  });

  it('each scope the route accepts, or its resource:manage → neither 401 nor 403 (nor a 5xx)', async () => {
    const problems: string[] = [];
    for (const r of platformRoutes()) {
      const required = r.config.scopes!;
      // A route may need further scopes, every one (alsoScopes): each grant carries them.
      const also = r.config.alsoScopes ?? [];
      const grants = [
        ...required.map((s) => [s, ...also]),
        ...required.map((s) => [`${s.split(':')[0]}:manage`, ...also]),
        ...(required.length === 0 ? [also] : []),
      ];
      for (const scopes of grants) {
        const res = await call(
          r.method,
          fill(r.url),
          { 'x-api-key': await keyWith(...scopes) },
          r.objectBody,
        );
        if ([401, 403].includes(res.status) || res.status >= 500)
          problems.push(`${r.method} ${r.url} with [${scopes.join(',')}]: ${res.status} ${res.text}`);
      }
    }
    expect(problems).toEqual([]);
  });
});

describe('agent API: every route of the route table', () => {
  const agentRoutes = () => {
    const routes = t.server.app.routeTable.filter(
      (r) => r.url.startsWith('/agent/v1/') && r.method !== 'HEAD',
    );
    expect(routes.length).toBeGreaterThanOrEqual(6);
    return routes;
  };
  /** The first device's own resources in the path: real ids, so only ownership can refuse them. */
  const own = (url: string) =>
    url
      .replace(':deployment_id', deploymentOfDevice)
      .replace(':config_instance_id', instanceOfDevice)
      .replace(/:(\w+)/g, 'unknown');
  const tokenRoutes = () =>
    agentRoutes().filter((r) => (r.config.agentAuth ?? 'access_token') === 'access_token');

  async function expired(d: TestDevice): Promise<string> {
    const token = await d.refreshToken();
    await t.server.app.store.db
      .updateTable('device_access_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('device_id', '=', d.id)
      .execute();
    return token;
  }

  it('access-token routes: no token, platform API key, expired token → 401', async () => {
    const expiring = await provisionDevice(t);
    const stale = await expired(expiring);
    const problems: string[] = [];
    for (const r of tokenRoutes()) {
      const body = r.objectBody ? {} : undefined;
      const cases: Array<[string, Parameters<typeof agentCall>[3]]> = [
        ['no token', { body }],
        ['API key as bearer', { body, bearer: t.adminKey }],
        ['API key header', { body, headers: { 'x-api-key': t.adminKey } }],
        ['expired token', { body, bearer: stale }],
      ];
      for (const [what, opts] of cases) {
        const res = await agentCall(t.url, r.method, own(r.url).replace('/agent/v1', ''), opts);
        if (res.status !== 401) problems.push(`${r.method} ${r.url} ${what}: ${res.status} ${res.text}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("another device's token never reaches this device's data: 404 for its ids, its own data otherwise", async () => {
    const problems: string[] = [];
    for (const r of tokenRoutes()) {
      const path = own(r.url).replace('/agent/v1', '');
      const body = r.method === 'POST' ? { activity_status: 'deployed' } : undefined;
      if (r.method === 'GET') {
        // The ids are real: the owner reads them, so only ownership refuses the other device.
        const mine = await device.api(r.method, path);
        if (mine.status !== 200) problems.push(`${r.method} ${r.url} as owner: ${mine.status} ${mine.text}`);
      }
      const res = await other.api(r.method, path, { body });
      const hasIds = /:\w+/.test(r.url);
      if (hasIds ? res.status !== 404 : res.status !== 200)
        problems.push(`${r.method} ${r.url} as another device: ${res.status} ${res.text}`);
      if (res.text.includes(deploymentOfDevice) && !hasIds)
        problems.push(`${r.method} ${r.url} as another device shows ${deploymentOfDevice}`);
    }
    expect(problems).toEqual([]);
    // The refused report changed nothing.
    const after = await device.api('GET', `/deployments/${deploymentOfDevice}`);
    expect(after.body.activity_status).toBe('queued');
  });

  it('token exchange: a replayed or expired proof JWT, an API key or an access token → 401', async () => {
    const jwtRoutes = agentRoutes().filter((r) => r.config.agentAuth === 'device_jwt');
    expect(jwtRoutes.length).toBeGreaterThan(0);
    for (const r of jwtRoutes) {
      const path = r.url.replace('/agent/v1', '');
      const jwt = await signDeviceJwt(device.privateKey, { deviceId: device.id, kid: device.kid });
      expect((await agentCall(t.url, r.method, path, { bearer: jwt })).status).toBe(200);
      const longAgo = Math.floor(Date.now() / 1000) - 3600;
      const cases: Array<[string, string]> = [
        ['replayed JWT', jwt],
        [
          'expired JWT',
          await signDeviceJwt(device.privateKey, { deviceId: device.id, kid: device.kid, now: longAgo }),
        ],
        ['platform API key', t.adminKey],
        ['access token', device.token],
      ];
      for (const [what, bearer] of cases) {
        const res = await agentCall(t.url, r.method, path, { bearer });
        expect(res.status, `${r.url} ${what}: ${res.text}`).toBe(401);
      }
    }
    await device.refreshToken();
  });
});

describe('scopes fail closed at start-up', () => {
  async function appWith(config: Record<string, unknown>) {
    const { store, db } = await openTestStore('sqlite');
    const app = Fastify();
    try {
      await app.register(platformAuthPlugin, { apiKeys: createRepositories(store.db).apiKeys });
      await app.register(async (routes) => {
        routes.get('/forgotten', { config }, async () => ({ ok: true }));
      });
      await app.ready();
    } finally {
      await app.close();
      await store.close();
      await db.destroy();
    }
  }

  it('a route with no scope declaration makes building the app throw, naming the route', async () => {
    await expect(appWith({})).rejects.toThrow(/GET \/forgotten declares no scopes/);
    await expect(appWith({ scopes: undefined, public: false })).rejects.toThrow(/declares no scopes/);
  });

  it('an explicit scope list, `[]` (any valid key) or `public: true` starts', async () => {
    await expect(appWith({ scopes: ['devices:read'] })).resolves.toBeUndefined();
    await expect(appWith({ scopes: [] })).resolves.toBeUndefined();
    await expect(appWith({ public: true })).resolves.toBeUndefined();
  });

  it('the version the matrix sends is the one the server requires', () => {
    expect(API_VERSION).toBe(CORE_API_VERSION);
  });
});

const SCHEMA = JSON.stringify({ type: 'object', properties: { speed: { type: 'number' } } });

/** A queued deployment of the device, through the platform API (release, schema, instance). */
async function seedDeployment(server: TestServer, deviceId: string) {
  const ok = async (method: string, path: string, body: unknown) => {
    const res = await server.api(method, path, { body });
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${res.text}`);
    return res.body;
  };
  const type = await ok('POST', 'config_types', { name: 'Matrix', slug: 'matrix' });
  const schema = await ok('POST', 'config_schemas', {
    config_type_ref: { id: type.id },
    language: 'jsonschema',
    format: 'json',
    documents: [{ name: 'matrix.schema.json', data: SCHEMA }],
  });
  const release = await ok('POST', 'releases', { version: 'v1.0.0', config_schema_ids: [schema.id] });
  const instance = await ok('POST', 'config_instances', {
    config_schema_id: schema.id,
    content: { format: 'json', data: '{"speed": 1}' },
  });
  const deployment = await ok('POST', 'deployments', {
    target_status: 'deployed',
    description: 'matrix',
    release_id: release.id,
    device_id: deviceId,
    config_instance_ids: [instance.id],
  });
  return { deploymentId: deployment.id as string, instanceId: instance.id as string };
}
