import { createHash } from 'node:crypto';
import { signDeviceJwt } from '@bosun/core/device-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_VERSION,
  activationToken,
  agentCall,
  createDevice,
  newKeyPair,
  provisionDevice,
} from '../../../test/support/device-agent.ts';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const device = async (id: string) => (await t.api('GET', `devices/${id}`)).body;
const activate = (token: string, publicKeyPem: string, extra: Record<string, unknown> = {}) =>
  agentCall(t.url, 'POST', '/activate', {
    body: { token, public_key_pem: publicKeyPem, agent_version: AGENT_VERSION, ...extra },
  });

describe('POST /devices/{id}/activation_token', () => {
  it('issues a bsn_act_ token valid for 30 minutes, stored only as a hash', async () => {
    const { id } = await createDevice(t);
    const before = Date.now();
    const res = await t.api('POST', `devices/${id}/activation_token`, { body: {} });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['expires_at', 'token']);
    expectReferenceResponse('createDeviceActivationToken', res.body);
    expect(res.body.token).toMatch(/^bsn_act_[0-9A-Za-z]{32}$/);
    const ttl = Date.parse(res.body.expires_at) - before;
    expect(ttl).toBeGreaterThan(29 * 60_000);
    expect(ttl).toBeLessThanOrEqual(30 * 60_000 + 5_000);
    const rows = await t.server.store.db
      .selectFrom('device_activation_tokens')
      .selectAll()
      .where('device_id', '=', id)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.token_hash).toBe(sha256(res.body.token));
    expect(JSON.stringify(rows)).not.toContain(res.body.token);
  });
  it('needs devices:provision (manage implies it); read or write alone is 403', async () => {
    const { id } = await createDevice(t);
    for (const scope of ['devices:read', 'devices:write']) {
      const res = await t.api('POST', `devices/${id}/activation_token`, {
        key: await t.keyWith(scope),
        body: {},
      });
      expect(res.status).toBe(403);
      expect(res.body.error.code).toBe('missing_scope');
    }
    for (const scope of ['devices:provision', 'devices:manage']) {
      expect(
        (await t.api('POST', `devices/${id}/activation_token`, { key: await t.keyWith(scope), body: {} }))
          .status,
      ).toBe(200);
    }
  });
  it('unknown device → 404; allow_reactivation must be a boolean → 400', async () => {
    const res = await t.api('POST', 'devices/dvc_nope/activation_token', { body: {} });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('resource_not_found');
    const { id } = await createDevice(t);
    const bad = await t.api('POST', `devices/${id}/activation_token`, {
      body: { allow_reactivation: 'yes' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.params.field).toBe('allow_reactivation');
  });
  it('is in the OpenAPI document with the reference operationIds', async () => {
    const doc = (await t.api('GET', '/beta/openapi.json', { key: null, version: null })).body;
    expect(doc.paths['/devices/{device_id}/activation_token'].post.operationId).toBe(
      'createDeviceActivationToken',
    );
    expect(doc.paths['/devices/{device_id}/ping'].post.operationId).toBe('pingDevice');
  });
});

describe('POST /agent/v1/activate', () => {
  it('registers the key: inactive → activating, then online once the agent holds an access token', async () => {
    const { id, name } = await createDevice(t);
    expect((await device(id)).status).toBe('inactive');
    const keys = newKeyPair();
    const res = await activate(await activationToken(t, id), keys.publicKeyPem, { hostname: 'amr-017' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      device: { id, name },
      mqtt: { url: `${t.url.replace('http', 'ws')}/mqtt`, topic_prefix: `bosun/v1/devices/${id}/` },
    });
    const activating = await device(id);
    expect(activating.status).toBe('activating');
    expect(activating.agent_version).toBe(AGENT_VERSION);
    const identity = await t.server.app.repos.deviceIdentity.identity(id);
    expect(identity).toMatchObject({ key_fingerprint: keys.kid, hostname: 'amr-017' });

    const jwt = await signDeviceJwt(keys.privateKey, { deviceId: id, kid: keys.kid });
    const token = await agentCall(t.url, 'POST', '/token', { bearer: jwt });
    expect(token.status).toBe(200);
    expect(token.body.token).toMatch(/^bsn_dat_/);
    const ttl = Date.parse(token.body.expires_at) - Date.now();
    expect(ttl).toBeGreaterThan(59 * 60_000);
    expect(ttl).toBeLessThanOrEqual(60 * 60_000);
    expect((await device(id)).status).toBe('online');
  });
  it('a token is single use', async () => {
    const { id } = await createDevice(t);
    const token = await activationToken(t, id, true);
    expect((await activate(token, newKeyPair().publicKeyPem)).status).toBe(200);
    const again = await activate(token, newKeyPair().publicKeyPem);
    expect(again.status).toBe(401);
    expect(again.body.error.code).toBe('activation_token_used');
  });
  it('the same token sent 5 times at once activates once', async () => {
    const { id } = await createDevice(t);
    const token = await activationToken(t, id);
    const answers = await Promise.all(
      Array.from({ length: 5 }, () => activate(token, newKeyPair().publicKeyPem)),
    );
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401, 401, 401, 401]);
    for (const r of answers.filter((r) => r.status === 401))
      expect(r.body.error.code).toBe('activation_token_used');
  });
  it('an expired token is refused and changes nothing', async () => {
    const { id } = await createDevice(t);
    const token = await activationToken(t, id);
    await t.server.store.db
      .updateTable('device_activation_tokens')
      .set({ expires_at: new Date(Date.now() - 1000).toISOString() })
      .where('token_hash', '=', sha256(token))
      .execute();
    const res = await activate(token, newKeyPair().publicKeyPem);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('activation_token_expired');
    expect((await device(id)).status).toBe('inactive');
    expect(await t.server.app.repos.deviceIdentity.identity(id)).toBeUndefined();
  });
  it('an unknown token → 401 invalid_activation_token', async () => {
    const res = await activate('bsn_act_0000000000000000000000000000000', newKeyPair().publicKeyPem);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid_activation_token');
  });
  it('a bad key or version is a 400 naming the field, and the token is not spent', async () => {
    const { id } = await createDevice(t);
    const token = await activationToken(t, id);
    const rsa = await activate(token, '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n');
    expect(rsa.status).toBe(400);
    expect(rsa.body.error).toMatchObject({ code: 'invalid_public_key', params: { field: 'public_key_pem' } });
    const version = await activate(token, newKeyPair().publicKeyPem, { agent_version: 'latest' });
    expect(version.status).toBe(400);
    expect(version.body.error).toMatchObject({
      code: 'invalid_agent_version',
      params: { field: 'agent_version' },
    });
    const missing = await agentCall(t.url, 'POST', '/activate', { body: { token } });
    expect(missing.status).toBe(400);
    expect(missing.body.error.code).toBe('invalid_request');
    expect((await activate(token, newKeyPair().publicKeyPem)).status).toBe(200);
  });
  it('without allow_reactivation a device activated before is refused (409) and keeps its key and session', async () => {
    const first = await provisionDevice(t);
    const res = await activate(await activationToken(t, first.id, false), newKeyPair().publicKeyPem);
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'device_already_activated',
      params: { device_id: first.id },
    });
    expect((await t.server.app.repos.deviceIdentity.identity(first.id))?.key_fingerprint).toBe(first.kid);
    expect((await first.api('GET', '/state')).status).not.toBe(401);
  });
  it('reactivation replaces the key and revokes the old access tokens and the old key', async () => {
    const first = await provisionDevice(t);
    const second = await provisionDevice(t, { deviceId: first.id, allowReactivation: true });
    expect(second.kid).not.toBe(first.kid);
    expect((await first.api('GET', '/state')).status).toBe(401);
    expect((await second.api('GET', '/state')).status).not.toBe(401);
    const oldJwt = await signDeviceJwt(first.privateKey, { deviceId: first.id, kid: first.kid });
    const refused = await agentCall(t.url, 'POST', '/token', { bearer: oldJwt });
    expect(refused.status).toBe(401);
    expect(refused.body.error).toMatchObject({ code: 'invalid_device_jwt', params: { field: 'kid' } });
  });
});

describe('POST /agent/v1/token (proof of possession)', () => {
  it('a JWT is accepted once: a replay is refused', async () => {
    const d = await provisionDevice(t);
    const jwt = await signDeviceJwt(d.privateKey, { deviceId: d.id, kid: d.kid });
    expect((await agentCall(t.url, 'POST', '/token', { bearer: jwt })).status).toBe(200);
    const replay = await agentCall(t.url, 'POST', '/token', { bearer: jwt });
    expect(replay.status).toBe(401);
    expect(replay.body.error.code).toBe('device_jwt_replayed');
  });
  it('the same JWT sent 10 times at once gets exactly one token', async () => {
    const d = await provisionDevice(t);
    const jwt = await signDeviceJwt(d.privateKey, { deviceId: d.id, kid: d.kid });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => agentCall(t.url, 'POST', '/token', { bearer: jwt })),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of answers.filter((r) => r.status !== 200)) {
      expect(r.status).toBe(401);
      expect(r.body.error.code).toBe('device_jwt_replayed');
    }
  });
  it('a JWT signed by another key, for another device, expired or malformed is refused', async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const stranger = newKeyPair();
    const cases: [string, string][] = [
      [
        'forged: stranger key claiming kid of a',
        await signDeviceJwt(stranger.privateKey, { deviceId: a.id, kid: a.kid }),
      ],
      ["b's key claiming to be a", await signDeviceJwt(b.privateKey, { deviceId: a.id, kid: b.kid })],
      [
        'expired',
        await signDeviceJwt(a.privateKey, {
          deviceId: a.id,
          kid: a.kid,
          now: Math.floor(Date.now() / 1000) - 600,
        }),
      ],
      [
        'too long-lived',
        await signDeviceJwt(a.privateKey, { deviceId: a.id, kid: a.kid, lifetimeSeconds: 3600 }),
      ],
      [
        'not activated',
        await signDeviceJwt(stranger.privateKey, { deviceId: 'dvc_unknown', kid: stranger.kid }),
      ],
      ['garbage', 'not.a.jwt'],
    ];
    for (const [what, jwt] of cases) {
      const res = await agentCall(t.url, 'POST', '/token', { bearer: jwt });
      expect(res.status, what).toBe(401);
      expect(res.body.error.code, what).toBe('invalid_device_jwt');
    }
    const none = await agentCall(t.url, 'POST', '/token', {});
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthenticated');
  });
  it('an access token is never a JWT substitute and vice versa', async () => {
    const d = await provisionDevice(t);
    expect((await agentCall(t.url, 'POST', '/token', { bearer: d.token })).status).toBe(401);
    const jwt = await signDeviceJwt(d.privateKey, { deviceId: d.id, kid: d.kid });
    expect((await d.api('GET', '/state', { token: jwt })).status).toBe(401);
  });
});

describe('access tokens and presence', () => {
  it('missing, unknown and expired access tokens → 401', async () => {
    const d = await provisionDevice(t);
    const none = await d.api('GET', '/state', { token: null });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthenticated');
    const unknown = await d.api('GET', '/state', {
      token: 'bsn_dat_000000000000000000000000000000000000000',
    });
    expect(unknown.body.error.code).toBe('invalid_access_token');
    await t.server.store.db
      .updateTable('device_access_tokens')
      .set({ expires_at: new Date(Date.now() - 1).toISOString() })
      .where('token_hash', '=', sha256(d.token))
      .execute();
    const expired = await d.api('GET', '/state');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe('invalid_access_token');
    await d.refreshToken();
    expect((await d.api('GET', '/state')).status).toBe(200);
  });
  it('platform API keys do not open the agent API, and device tokens do not open the platform API', async () => {
    const d = await provisionDevice(t);
    expect((await d.api('GET', '/state', { token: t.adminKey })).status).toBe(401);
    const res = await fetch(`${t.url}/beta/devices`, {
      headers: {
        authorization: `Bearer ${d.token}`,
        'x-api-key': d.token,
        'miru-version': '2026-03-09.tetons',
      },
    });
    expect(res.status).toBe(401);
  });
  it('a malformed Bosun-Agent-Version header → 400', async () => {
    const d = await provisionDevice(t);
    const res = await d.api('GET', '/state', { headers: { 'bosun-agent-version': 'banana' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'invalid_agent_version',
      params: { header: 'Bosun-Agent-Version' },
    });
  });
  it('offline after 60 s without contact; any agent call brings it back online and records the version', async () => {
    const d = await provisionDevice(t);
    expect((await device(d.id)).status).toBe('online');
    await t.server.store.db
      .updateTable('devices')
      .set({ last_seen_at: new Date(Date.now() - 61_000).toISOString() })
      .where('id', '=', d.id)
      .execute();
    expect((await device(d.id)).status).toBe('offline');
    const listed = (await t.api('GET', `devices?id=${d.id}`)).body.data[0];
    expect(listed.status).toBe('offline');
    await d.api('GET', '/state', { headers: { 'bosun-agent-version': 'v0.2.0' } });
    const back = await device(d.id);
    expectReferenceResponse('getDevice', back);
    expect(back.status).toBe('online');
    expect(back.agent_version).toBe('v0.2.0');
  });
});
