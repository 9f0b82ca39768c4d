import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerPings,
  connectDevice,
  connectOutcome,
  eventually,
  nextMessage,
  provisionDevice,
} from '../support/device-agent.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { freePort } from './support/ports.ts';
import { OwnRabbitMQ, rabbitmqServerBinary } from './support/services.ts';

/**
 * RabbitMQ 3.10 with `rabbitmq_mqtt` and `rabbitmq_auth_backend_http` asking the server's HTTP auth
 * endpoint (docs/decisions.md #60): our own node (own name, ports and data; the machine's RabbitMQ is
 * not touched). The Bosun server logs in as an internal RabbitMQ user (the broker cannot ask a server
 * that is not up yet); devices log in with their access token and get only their own topics.
 */
const RABBITMQ = rabbitmqServerBinary();
const SECRET = 'rabbitmq-http-auth-secret-0123456789';
const SERVER = { name: 'bosun-server', password: 'rabbit-server-password-0123' };

describe.skipIf(!RABBITMQ)('RabbitMQ with the HTTP auth backend', () => {
  let rabbit: OwnRabbitMQ;
  let t: TestServer;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    const port = await freePort();
    rabbit = new OwnRabbitMQ(RABBITMQ!, {
      authUrl: `http://bosun:${SECRET}@127.0.0.1:${port}/broker/v1/rabbitmq`,
      user: SERVER,
    });
    await rabbit.start();
    t = await startTestServer({
      config: {
        port,
        mqttUrl: `mqtt://${SERVER.name}:${SERVER.password}@127.0.0.1:${rabbit.mqttPort}`,
        mqttAuth: 'http',
        brokerAuthSecret: SECRET,
      },
    });
  }, 240_000);
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await t?.close();
    await rabbit?.destroy();
  });

  it('anonymous clients and wrong tokens are refused; a device logs in with its access token', async () => {
    const d = await provisionDevice(t);
    expect(await connectOutcome(rabbit.url, { clientId: 'anon' })).not.toBe('connected');
    expect(
      await connectOutcome(rabbit.url, { clientId: d.id, username: d.id, password: 'bsn_dat_forged' }),
    ).not.toBe('connected');
    expect(await connectOutcome(rabbit.url, { clientId: d.id, username: d.id, password: d.token })).toBe(
      'connected',
    );
  });

  it("a device gets hints and pings, but neither another device's topics nor #", async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const client = await connectDevice(rabbit.url, a);
    clients.push(client);
    const hint = nextMessage(client, `${a.topicPrefix}sync`);
    await new Promise((r) => setTimeout(r, 100));
    t.server.app.notifier.notify(a.id, 'deployment_changed');
    expect((await hint).payload.reason).toBe('deployment_changed');
    await answerPings(client, a.id);
    const ping = await t.api('POST', `devices/${a.id}/ping`, { body: { timeout_nanos: 5_000_000_000 } });
    expect(ping.body.code).toBe('success');

    const filters: Array<[string, 'granted' | 'refused']> = [
      [`${a.topicPrefix}ping`, 'granted'],
      ['#', 'refused'],
      [`bosun/v1/devices/${b.id}/sync`, 'refused'],
      ['bosun/v1/devices/+/ping', 'refused'],
    ];
    for (const [filter, expected] of filters) {
      const spy = await connectDevice(rabbit.url, a, { clientId: a.id });
      clients.push(spy);
      const outcome = await spy.subscribeAsync(filter, { qos: 1 }).then(
        (g) => (g[0]?.qos === 128 ? 'refused' : 'granted'),
        () => 'refused',
      );
      expect(outcome, filter).toBe(expected);
    }
  });

  it('a forged presence for another device never reaches the server', async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const client = await mqtt.connectAsync(rabbit.url, {
      clientId: a.id,
      username: a.id,
      password: a.token,
      reconnectPeriod: 0,
    });
    clients.push(client);
    client.publish(
      `bosun/v1/devices/${b.id}/presence`,
      JSON.stringify({ status: 'online', agent_version: 'v9.9.9' }),
      {
        qos: 1,
        retain: true,
      },
    );
    // Its own presence, through a fresh session in case the broker closed the first one.
    const own = await connectDevice(rabbit.url, a);
    clients.push(own);
    await own.publishAsync(
      `${a.topicPrefix}presence`,
      JSON.stringify({ status: 'online', agent_version: 'v0.8.0' }),
      {
        qos: 1,
        retain: true,
      },
    );
    await eventually(
      async () => (await t.server.app.repos.devices.get(a.id))?.agent_version === 'v0.8.0',
      'a',
    );
    const row = await t.server.app.repos.devices.get(b.id);
    expect(row?.agent_version).not.toBe('v9.9.9');
    expect(row?.last_connected_at).toBeNull();
  });
});
