import { execFileSync } from 'node:child_process';
import { startServer } from '@bosun/server';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dynsecPlugin, mosquittoBinary, OwnMosquitto } from '../../../test/reliability/support/services.ts';
import {
  AGENT_VERSION,
  answerPings,
  connectOutcome,
  eventually,
  nextMessage,
  provisionDevice,
  type TestDevice,
} from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * Mosquitto 2 with the dynamic-security plugin, our own process on a free port (docs/decisions.md
 * #59): the server manages each device's broker client and role; devices log in with a password only
 * they were given; anonymous and cross-device access is refused; reactivation cuts the old session.
 */
const MOSQUITTO = mosquittoBinary();
const usable = MOSQUITTO !== undefined && dynsecPlugin() !== undefined;
const ADMIN = { admin: 'bosun-server', password: 'broker-admin-secret-0123456789' };

describe.skipIf(!usable)('Mosquitto dynamic security managed by the server', () => {
  let broker: OwnMosquitto;
  let t: TestServer;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = new OwnMosquitto(MOSQUITTO!, { dynsec: ADMIN });
    await broker.start();
    t = await startTestServer({ config: { mqttUrl: broker.adminUrl, mqttAuth: 'dynsec' } });
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await t?.close();
    await broker?.destroy();
  });

  const credentials = async (d: TestDevice) => {
    const res = await d.api('POST', '/mqtt_credentials');
    expect(res.status).toBe(200);
    return res;
  };
  const login = async (d: TestDevice, password: string) => {
    const client = await mqtt.connectAsync(broker.url, {
      clientId: d.id,
      username: d.id,
      password,
      reconnectPeriod: 0,
      connectTimeout: 5000,
      will: {
        topic: `${d.topicPrefix}presence`,
        payload: Buffer.from(JSON.stringify({ status: 'offline', agent_version: AGENT_VERSION })),
        qos: 1,
        retain: true,
      },
    });
    clients.push(client);
    return client;
  };
  const closed = (c: MqttClient) => new Promise<void>((resolve) => c.once('close', () => resolve()));

  it('activation hands out the broker URL without the server credentials; credentials are issued once', async () => {
    const d = await provisionDevice(t);
    expect(d.mqttUrl).toBe(broker.url);
    const res = await credentials(d);
    expect(res.body).toEqual({
      kind: 'issued',
      username: d.id,
      password: expect.stringMatching(/^bsn_mqp_/),
    });
    expect(res.headers.get('cache-control')).toBe('no-store');
    // Another call rotates the password: the first one stops working.
    const again = await credentials(d);
    expect(again.body.password).not.toBe(res.body.password);
    expect(
      await connectOutcome(broker.url, { clientId: d.id, username: d.id, password: res.body.password }),
    ).toBe(5);
    expect(
      await connectOutcome(broker.url, { clientId: d.id, username: d.id, password: again.body.password }),
    ).toBe('connected');
  });

  it('the credentials endpoint needs a valid access token', async () => {
    const d = await provisionDevice(t);
    expect((await d.api('POST', '/mqtt_credentials', { token: null })).status).toBe(401);
    expect((await d.api('POST', '/mqtt_credentials', { token: 'bsn_dat_nope' })).status).toBe(401);
  });

  it('anonymous clients, access tokens, other client ids and the admin password of a device are refused', async () => {
    const d = await provisionDevice(t);
    const { password } = (await credentials(d)).body;
    expect(await connectOutcome(broker.url, { clientId: 'anon' })).toBe(5);
    expect(await connectOutcome(broker.url, { clientId: d.id, username: d.id, password: d.token })).toBe(5);
    expect(await connectOutcome(broker.url, { clientId: 'someone-else', username: d.id, password })).toBe(5);
    expect(
      await connectOutcome(broker.url, { clientId: d.id, username: d.id, password: ADMIN.password }),
    ).toBe(5);
  });

  it('a device may subscribe only to its own sync and ping; its publishes elsewhere never reach the server', async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const client = await login(a, (await credentials(a)).body.password);
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
          '$CONTROL/dynamic-security/#',
        ],
        { qos: 1 },
      )
      .then(
        (grants) => grants.map((g) => g.qos),
        (err) => err.packet.granted as number[],
      );
    expect(granted).toEqual([1, 1, 128, 128, 128, 128, 128, 128, 128]);
    // A forged presence for b and a forged dynamic-security command are dropped by the broker.
    await client.publishAsync(
      `bosun/v1/devices/${b.id}/presence`,
      JSON.stringify({ status: 'online', agent_version: 'v9.9.9' }),
      { qos: 1, retain: true },
    );
    await client.publishAsync(
      '$CONTROL/dynamic-security/v1',
      JSON.stringify({ commands: [{ command: 'deleteClient', username: b.id }] }),
      { qos: 1 },
    );
    // Its own presence goes through, after the forged one in the same session.
    await client.publishAsync(
      `${a.topicPrefix}presence`,
      JSON.stringify({ status: 'online', agent_version: 'v0.7.0' }),
      { qos: 1, retain: true },
    );
    await eventually(
      async () => (await t.server.app.repos.devices.get(a.id))?.agent_version === 'v0.7.0',
      'a',
    );
    const row = await t.server.app.repos.devices.get(b.id);
    expect(row?.agent_version).not.toBe('v9.9.9');
    expect(row?.last_connected_at).toBeNull();
    // b's broker client is still there.
    const bPassword = (await credentials(b)).body.password;
    expect(await connectOutcome(broker.url, { clientId: b.id, username: b.id, password: bPassword })).toBe(
      'connected',
    );
  });

  it('hints and pings reach the device through the broker', async () => {
    const d = await provisionDevice(t);
    const client = await login(d, (await credentials(d)).body.password);
    const hint = nextMessage(client, `${d.topicPrefix}sync`);
    await new Promise((r) => setTimeout(r, 50));
    t.server.app.notifier.notify(d.id, 'deployment_changed');
    expect((await hint).payload.reason).toBe('deployment_changed');
    await answerPings(client, d.id);
    const ping = await t.api('POST', `devices/${d.id}/ping`, { body: { timeout_nanos: 5_000_000_000 } });
    expect(ping.body.code).toBe('success');
  });

  it('reactivation removes the old broker access at once, open session included', async () => {
    const d = await provisionDevice(t);
    const { password } = (await credentials(d)).body;
    const client = await login(d, password);
    const end = closed(client);
    const again = await provisionDevice(t, { deviceId: d.id, allowReactivation: true });
    await end;
    expect(await connectOutcome(broker.url, { clientId: d.id, username: d.id, password })).toBe(5);
    // The old agent's token is revoked too, so it cannot ask for new broker credentials.
    expect((await d.api('POST', '/mqtt_credentials')).status).toBe(401);
    const fresh = (await credentials(again)).body.password;
    expect(await connectOutcome(broker.url, { clientId: d.id, username: d.id, password: fresh })).toBe(
      'connected',
    );
  });

  it("a broker that refuses the server's login is a start-up error, not a fallback", async () => {
    const wrong = broker.adminUrl.replace(encodeURIComponent(ADMIN.password), 'wrong-password-000000');
    await expect(
      startServer(
        {
          port: 0,
          host: '127.0.0.1',
          dataDir: t.database.dataDir,
          databaseUrl: t.database.databaseUrl,
          logLevel: 'silent',
          bootstrapApiKey: undefined,
          mqttUrl: wrong,
          mqttAuth: 'dynsec',
        },
        { logger: pino({ level: 'silent' }), pgSchema: t.database.pgSchema, print: () => {} },
      ),
    ).rejects.toThrow(/refused the server's login/);
  });

  it('a server account that is not the dynamic-security admin is a start-up error', async () => {
    // An ordinary broker client (no role): it may log in, but neither use dynamic security nor
    // subscribe to the device topics.
    execFileSync('mosquitto_ctrl', [
      ...['-h', '127.0.0.1', '-p', String(broker.port), '-u', ADMIN.admin, '-P', ADMIN.password],
      ...['dynsec', 'createClient', 'plain-client', '-p', 'plain-password-0123456789'],
    ]);
    const asDevice = `mqtt://plain-client:plain-password-0123456789@127.0.0.1:${broker.port}`;
    await expect(
      startServer(
        {
          port: 0,
          host: '127.0.0.1',
          dataDir: t.database.dataDir,
          databaseUrl: t.database.databaseUrl,
          logLevel: 'silent',
          bootstrapApiKey: undefined,
          mqttUrl: asDevice,
          mqttAuth: 'dynsec',
        },
        { logger: pino({ level: 'silent' }), pgSchema: t.database.pgSchema, print: () => {} },
      ),
    ).rejects.toThrow(/refused the server's subscription|did not answer/);
  });
});
