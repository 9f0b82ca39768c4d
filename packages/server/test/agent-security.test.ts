import { createHash, randomUUID } from 'node:crypto';
import { signDeviceJwt } from '@bosun/core/device-jwt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeployment,
  createInstance,
  createRelease,
  MOBILITY,
} from '../../../test/support/deployments.ts';
import {
  agentCall,
  connectDevice,
  connectOutcome,
  newKeyPair,
  provisionDevice,
  type TestDevice,
} from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * A device's credentials reach that device's data and nothing else: not another device's deployments,
 * content or topics, and an expired, forged or tampered token reaches nothing at all.
 */
let t: TestServer;
let a: TestDevice;
let b: TestDevice;
let aDeployment: string;
let bDeployment: string;
let bInstance: string;

beforeAll(async () => {
  t = await startTestServer();
  const release = await createRelease(t);
  a = await provisionDevice(t);
  b = await provisionDevice(t);
  const aInst = await createInstance(t, release);
  // b's content differs from a's, so a leak would be visible.
  const bInst = await createInstance(t, release, MOBILITY.replace('{', '{\n  '));
  bInstance = bInst.id;
  aDeployment = (await createDeployment(t, { deviceId: a.id, release, instanceId: aInst.id })).id;
  bDeployment = (await createDeployment(t, { deviceId: b.id, release, instanceId: bInst.id })).id;
});
afterAll(async () => {
  await t?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const bRow = () => t.server.app.repos.deployments.get(bDeployment);
const bEvents = async () =>
  (
    await t.server.store.db
      .selectFrom('deployment_events')
      .select('id')
      .where('deployment_id', '=', bDeployment)
      .execute()
  ).length;

describe("a device's token and another device's data", () => {
  it("a's desired state holds only a's deployments, whatever the query says", async () => {
    for (const path of ['/state', `/state?device_id=${b.id}`]) {
      const res = await a.api('GET', path);
      expect(res.status).toBe(200);
      expect(res.body.device.id).toBe(a.id);
      expect(res.body.deployments.map((x: any) => x.id)).toEqual([aDeployment]);
      expect(res.text).not.toContain(b.id);
      expect(res.text).not.toContain(bInstance);
    }
  });

  it("a cannot download b's content: 404, as if it did not exist", async () => {
    const res = await a.api('GET', `/config_instances/${bInstance}/content`);
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('resource_not_found');
    expect((await b.api('GET', `/config_instances/${bInstance}/content`)).status).toBe(200);
  });

  it("a cannot report on b's deployment, and nothing of b changes", async () => {
    const before = { row: await bRow(), events: await bEvents() };
    for (const body of [
      { activity_status: 'deployed' },
      { error_status: 'failed', message: 'sabotage', attempts: 99 },
      { error_status: 'retrying', report_id: randomUUID() },
    ]) {
      const res = await a.api('POST', `/deployments/${bDeployment}/reports`, { body });
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('resource_not_found');
    }
    expect(await bRow()).toEqual(before.row);
    expect(await bEvents()).toBe(before.events);
  });

  it("a cannot use b's MQTT identity or topics", async () => {
    expect(await connectOutcome(a.mqttUrl, { clientId: b.id, username: b.id, password: a.token })).toBe(4);
    const client = await connectDevice(a.mqttUrl, a);
    try {
      const granted = await client
        .subscribeAsync([`bosun/v1/devices/${b.id}/sync`, `bosun/v1/devices/${b.id}/ping`], { qos: 1 })
        .then(
          (g) => g.map((x) => x.qos),
          (err) => err.packet.granted,
        );
      expect(granted).toEqual([128, 128]);
    } finally {
      await client.endAsync();
    }
  });
});

describe('expired, forged and tampered tokens reach nothing', () => {
  const attempts = (token: string) => [
    agentCall(t.url, 'GET', '/state', { bearer: token }),
    agentCall(t.url, 'GET', `/config_instances/${bInstance}/content`, { bearer: token }),
    agentCall(t.url, 'POST', `/deployments/${bDeployment}/reports`, {
      bearer: token,
      body: { error_status: 'failed', message: 'x' },
    }),
  ];

  it('forged and tampered access tokens are 401 on every endpoint', async () => {
    const last = b.token.at(-1) === 'A' ? 'B' : 'A';
    for (const token of [
      `bsn_dat_${'0'.repeat(40)}`,
      `${b.token.slice(0, -1)}${last}`,
      b.token.toLowerCase(),
      sha256(b.token),
      t.adminKey,
    ]) {
      for (const res of await Promise.all(attempts(token))) {
        expect(res.status).toBe(401);
        expect(res.body.error.code).toBe('invalid_access_token');
      }
    }
    expect((await bRow())?.error_status).toBe('none');
  });

  it('an expired access token is 401 on every endpoint and at the broker', async () => {
    const c = await provisionDevice(t);
    await t.server.store.db
      .updateTable('device_access_tokens')
      .set({ expires_at: new Date(Date.now() - 1).toISOString() })
      .where('token_hash', '=', sha256(c.token))
      .execute();
    for (const res of await Promise.all(attempts(c.token))) expect(res.status).toBe(401);
    expect(await connectOutcome(c.mqttUrl, { clientId: c.id, username: c.id, password: c.token })).toBe(4);
  });

  it("a device JWT forged for b (a stranger's key, or a's key) gets no token", async () => {
    const stranger = newKeyPair();
    for (const jwt of [
      await signDeviceJwt(stranger.privateKey, { deviceId: b.id, kid: b.kid }),
      await signDeviceJwt(stranger.privateKey, { deviceId: b.id, kid: stranger.kid }),
      await signDeviceJwt(a.privateKey, { deviceId: b.id, kid: a.kid }),
      await signDeviceJwt(a.privateKey, { deviceId: b.id, kid: b.kid }),
    ]) {
      const res = await agentCall(t.url, 'POST', '/token', { bearer: jwt });
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_device_jwt');
    }
    // An unsigned ("alg": "none") token is refused before any key lookup.
    const header = Buffer.from(JSON.stringify({ alg: 'none', kid: b.kid })).toString('base64url');
    const now = Math.floor(Date.now() / 1000);
    const payload = Buffer.from(
      JSON.stringify({ sub: b.id, iat: now, exp: now + 60, jti: randomUUID() }),
    ).toString('base64url');
    expect((await agentCall(t.url, 'POST', '/token', { bearer: `${header}.${payload}.` })).status).toBe(401);
  });

  it('an activation token cannot activate another device, and is spent by its own', async () => {
    const res = await t.api('POST', `devices/${a.id}/activation_token`, {
      body: { allow_reactivation: true },
    });
    const token = res.body.token as string;
    const keys = newKeyPair();
    const activated = await agentCall(t.url, 'POST', '/activate', {
      body: { token, public_key_pem: keys.publicKeyPem, agent_version: 'v0.1.0' },
    });
    // The token names its device: whatever the caller wants, it is a's key that changed.
    expect(activated.body.device.id).toBe(a.id);
    expect((await t.server.app.repos.deviceIdentity.identity(b.id))?.key_fingerprint).toBe(b.kid);
    expect((await b.api('GET', '/state')).status).toBe(200);
  });
});
