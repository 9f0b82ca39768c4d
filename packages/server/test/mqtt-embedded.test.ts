import { createHash } from 'node:crypto';
import { startServer } from '@bosun/server';
import type mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInstance, createRelease } from '../../../test/support/deployments.ts';
import {
  AGENT_VERSION,
  activationToken,
  agentCall,
  connectDevice,
  connectOutcome,
  createDevice,
  eventually,
  newKeyPair,
  nextMessage,
  provisionDevice,
} from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

// MQTT 3.1.1 CONNACK refusals.
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const device = async (id: string) => (await t.api('GET', `devices/${id}`)).body;
const closed = (client: mqtt.MqttClient) =>
  new Promise<void>((resolve) => client.once('close', () => resolve()));

describe('embedded broker over WebSocket at /mqtt', () => {
  it('behind a load balancer that ends TLS (X-Forwarded-Proto: https) a device is told wss', async () => {
    const { id } = await createDevice(t);
    const token = await activationToken(t, id);
    const res = await agentCall(t.url, 'POST', '/activate', {
      headers: { 'x-forwarded-proto': 'https' },
      body: { token, public_key_pem: newKeyPair().publicKeyPem, agent_version: AGENT_VERSION },
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body.mqtt.url).toBe(`${t.url.replace('http:', 'wss:')}/mqtt`);
  });

  it('a device logs in with its access token; connect and disconnect are recorded as presence', async () => {
    const d = await provisionDevice(t);
    expect(d.mqttUrl).toBe(`${t.url.replace('http', 'ws')}/mqtt`);
    const client = await connectDevice(d.mqttUrl, d);
    const connected = await eventually(async () => {
      const row = await device(d.id);
      return row.last_connected_at ? row : null;
    }, 'last_connected_at');
    expect(connected.status).toBe('online');
    expect(connected.last_disconnected_at).toBeNull();
    // An open session keeps the device online however long ago the agent last polled.
    await t.server.store.db
      .updateTable('devices')
      .set({ last_seen_at: new Date(Date.now() - 3_600_000).toISOString() })
      .where('id', '=', d.id)
      .execute();
    expect((await device(d.id)).status).toBe('online');

    await client.endAsync();
    const gone = await eventually(async () => {
      const row = await device(d.id);
      return row.last_disconnected_at ? row : null;
    }, 'last_disconnected_at');
    expect(Date.parse(gone.last_disconnected_at)).toBeGreaterThan(Date.parse(connected.last_connected_at));
    // A closed session is offline at once, however recent the agent's last contact.
    await t.server.store.db
      .updateTable('devices')
      .set({ last_seen_at: new Date(Date.parse(gone.last_disconnected_at) - 1_000).toISOString() })
      .where('id', '=', d.id)
      .execute();
    expect(gone.status).toBe('offline');
    expect((await device(d.id)).status).toBe('offline');
    // The agent polling over HTTP afterwards is contact again: online within the window at once.
    expect((await d.api('GET', '/state')).status).toBe(200);
    expect((await device(d.id)).status).toBe('online');
  });

  it('refuses wrong, expired and borrowed credentials at CONNECT', async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const url = a.mqttUrl;
    expect(await connectOutcome(url, { clientId: a.id, username: a.id, password: 'bsn_dat_wrong' })).toBe(
      BAD_USERNAME_OR_PASSWORD,
    );
    expect(await connectOutcome(url, { clientId: a.id, username: a.id })).toBe(BAD_USERNAME_OR_PASSWORD);
    // b's token under a's name, and a client id that is not the username.
    expect(await connectOutcome(url, { clientId: a.id, username: a.id, password: b.token })).toBe(
      BAD_USERNAME_OR_PASSWORD,
    );
    expect(await connectOutcome(url, { clientId: b.id, username: a.id, password: a.token })).toBe(
      IDENTIFIER_REJECTED,
    );
    expect(await connectOutcome(url, { clientId: 'mqttjs_x', username: a.id, password: a.token })).toBe(
      IDENTIFIER_REJECTED,
    );
    // A platform API key is not a device credential.
    expect(await connectOutcome(url, { clientId: a.id, username: a.id, password: t.adminKey })).toBe(
      BAD_USERNAME_OR_PASSWORD,
    );
    await t.server.store.db
      .updateTable('device_access_tokens')
      .set({ expires_at: new Date(Date.now() - 1).toISOString() })
      .where('token_hash', '=', sha256(a.token))
      .execute();
    expect(await connectOutcome(url, { clientId: a.id, username: a.id, password: a.token })).toBe(
      BAD_USERNAME_OR_PASSWORD,
    );
    expect(await connectOutcome(url, { clientId: b.id, username: b.id, password: b.token })).toBe(
      'connected',
    );
  });

  it('a device may subscribe only to its own sync and ping topics', async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const client = await connectDevice(a.mqttUrl, a);
    try {
      // mqtt.js rejects a SUBACK holding failures; the packet still tells every grant.
      const granted = await client
        .subscribeAsync(
          [
            `bosun/v1/devices/${a.id}/sync`,
            `bosun/v1/devices/${a.id}/ping`,
            `bosun/v1/devices/${b.id}/sync`,
            `bosun/v1/devices/${b.id}/ping`,
            `bosun/v1/devices/${a.id}/pong`,
            'bosun/v1/devices/+/sync',
            'bosun/v1/devices/#',
            '#',
            '$SYS/#',
          ],
          { qos: 1 },
        )
        .then(
          (grants) => grants.map((g) => g.qos),
          (err) => err.packet.granted as number[],
        );
      expect(granted).toEqual([1, 1, 128, 128, 128, 128, 128, 128, 128]);
      // The refused filters deliver nothing: a hint for b does not reach a.
      const own = nextMessage(client, `bosun/v1/devices/${a.id}/sync`);
      let leaked = false;
      client.on('message', (topic) => {
        if (topic.includes(b.id)) leaked = true;
      });
      t.server.app.notifier.notify(b.id, 'deployment_changed');
      t.server.app.notifier.notify(a.id, 'deployment_changed');
      expect((await own).payload.reason).toBe('deployment_changed');
      expect(leaked).toBe(false);
    } finally {
      await client.endAsync();
    }
  });

  it("publishing on another device's topic ends the session and never reaches the server", async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const client = await connectDevice(a.mqttUrl, a);
    const end = closed(client);
    client.publish(
      `bosun/v1/devices/${b.id}/presence`,
      JSON.stringify({ status: 'online', agent_version: 'v9.9.9' }),
      {
        qos: 1,
        retain: true,
      },
    );
    await end;
    await client.endAsync(true);
    const row = await device(b.id);
    expect(row.agent_version).not.toBe('v9.9.9');
    expect(row.last_connected_at).toBeNull();
  });

  it('a sync hint is retained: a device that was offline gets it when it subscribes', async () => {
    const d = await provisionDevice(t);
    t.server.app.notifier.notify(d.id, 'deployment_changed');
    // The hint is published asynchronously; wait until the broker holds it by reading it as the device.
    const hint = await eventually(async () => {
      const client = await connectDevice(d.mqttUrl, d);
      try {
        return await Promise.race([
          nextMessage(client, `bosun/v1/devices/${d.id}/sync`),
          new Promise<null>((r) => setTimeout(() => r(null), 200)),
        ]);
      } finally {
        await client.endAsync();
      }
    }, 'the retained hint');
    expect(hint.retain).toBe(true);
    expect(hint.payload.reason).toBe('deployment_changed');
    expect(Number.isNaN(Date.parse(hint.payload.at))).toBe(false);
  });

  it('deploying through the platform API pushes a hint; the agent then finds the deployment in its state', async () => {
    const d = await provisionDevice(t);
    const release = await createRelease(t);
    const instance = await createInstance(t, release);
    const client = await connectDevice(d.mqttUrl, d);
    try {
      const hint = nextMessage(client, `bosun/v1/devices/${d.id}/sync`);
      const created = await t.api('POST', 'deployments', {
        body: {
          target_status: 'deployed',
          description: 'push test',
          release_id: release.releaseId,
          device_id: d.id,
          config_instance_ids: [instance.id],
        },
      });
      expect(created.status).toBe(200);
      expect((await hint).payload.reason).toBe('deployment_changed');
      const state = await d.api('GET', '/state');
      expect(state.body.deployments.map((x: any) => x.id)).toEqual([created.body.id]);
    } finally {
      await client.endAsync();
    }
  });

  it("the agent's presence message records its version", async () => {
    const d = await provisionDevice(t);
    const client = await connectDevice(d.mqttUrl, d);
    await client.publishAsync(
      `bosun/v1/devices/${d.id}/presence`,
      JSON.stringify({ status: 'online', agent_version: 'v0.3.1' }),
      { qos: 1, retain: true },
    );
    await eventually(async () => (await device(d.id)).agent_version === 'v0.3.1', 'agent_version');
    await client.endAsync();
  });

  it('the session ends when its access token expires', async () => {
    const d = await provisionDevice(t);
    await t.server.store.db
      .updateTable('device_access_tokens')
      .set({ expires_at: new Date(Date.now() + 2000).toISOString() })
      .where('token_hash', '=', sha256(d.token))
      .execute();
    const client = await connectDevice(d.mqttUrl, d);
    await closed(client);
    await client.endAsync(true);
  });

  it('reactivation ends the sessions opened with the old credentials', async () => {
    const d = await provisionDevice(t);
    const client = await connectDevice(d.mqttUrl, d);
    const end = closed(client);
    await provisionDevice(t, { deviceId: d.id, allowReactivation: true });
    await end;
    await client.endAsync(true);
  });

  it('a server starting its embedded broker closes sessions a crashed process left open', async () => {
    const d = await provisionDevice(t);
    // What a killed process leaves behind: a session recorded as open that no broker holds.
    await t.server.store.db
      .updateTable('devices')
      .set({ last_connected_at: new Date().toISOString(), last_disconnected_at: null, last_seen_at: null })
      .where('id', '=', d.id)
      .execute();
    expect((await device(d.id)).status).toBe('online');
    const restarted = await startServer(
      {
        port: 0,
        host: '127.0.0.1',
        dataDir: t.database.dataDir,
        databaseUrl: t.database.databaseUrl,
        logLevel: 'silent',
        bootstrapApiKey: undefined,
      },
      { logger: pino({ level: 'silent' }), pgSchema: t.database.pgSchema, print: () => {} },
    );
    await restarted.close();
    const row = await device(d.id);
    expect(row.status).toBe('offline');
    expect(Date.parse(row.last_disconnected_at)).toBeGreaterThanOrEqual(Date.parse(row.last_connected_at));
  });

  it('other upgrade paths are refused', async () => {
    const outcome = await connectOutcome(`${t.url.replace('http', 'ws')}/not-mqtt`, { connectTimeout: 2000 });
    expect(outcome).not.toBe('connected');
  });
});

describe('embedded broker over TCP (--mqtt-port)', () => {
  let tcp: TestServer;
  beforeAll(async () => {
    tcp = await startTestServer({ config: { mqttPort: 0 } });
  });
  afterAll(async () => {
    await tcp?.close();
  });

  it('serves the same broker, with the same login rules, on its own port', async () => {
    const port = tcp.server.app.push.tcpPort;
    expect(port).toBeGreaterThan(0);
    const d = await provisionDevice(tcp);
    const url = `mqtt://127.0.0.1:${port}`;
    expect(await connectOutcome(url, { clientId: d.id, username: d.id, password: 'nope' })).toBe(
      BAD_USERNAME_OR_PASSWORD,
    );
    const client = await connectDevice(url, d);
    const hint = nextMessage(client, `bosun/v1/devices/${d.id}/sync`);
    tcp.server.app.notifier.notify(d.id, 'deployment_changed');
    expect((await hint).payload.reason).toBe('deployment_changed');
    await client.endAsync();
  });
});
