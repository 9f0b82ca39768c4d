import { type RunningServer, startServer } from '@bosun/server';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGENT_VERSION,
  answerPings,
  connectDevice,
  eventually,
  nextMessage,
  provisionDevice,
  type TestDevice,
} from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * Two server replicas over one database and one external broker (the local Mosquitto in CI): a ping
 * asked of either replica is answered through the broker, presence arrives as retained messages and
 * last wills, and sync hints are retained on the broker.
 */
const BROKER = process.env.BOSUN_TEST_MQTT_URL;

describe.skipIf(!BROKER)('external broker (BOSUN_TEST_MQTT_URL)', () => {
  let a: TestServer;
  let b: RunningServer;
  const clients: MqttClient[] = [];
  const devices: TestDevice[] = [];

  beforeAll(async () => {
    a = await startTestServer({ config: { mqttUrl: BROKER } });
    b = await startServer(
      {
        port: 0,
        host: '127.0.0.1',
        dataDir: a.database.dataDir,
        databaseUrl: a.database.databaseUrl,
        logLevel: 'silent',
        bootstrapApiKey: undefined,
        mqttUrl: BROKER,
      },
      { logger: pino({ level: 'silent' }), pgSchema: a.database.pgSchema, print: () => {} },
    );
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    // Leave nothing retained on the shared broker.
    if (devices.length && BROKER) {
      const cleaner = await connectDevice(
        BROKER,
        { id: `bosun-test-cleaner-${Date.now()}`, token: '' },
        { will: undefined },
      );
      for (const d of devices) {
        for (const leaf of ['sync', 'presence'])
          await cleaner.publishAsync(`${d.topicPrefix}${leaf}`, '', { retain: true, qos: 1 });
      }
      await cleaner.endAsync();
    }
    await b?.close();
    await a?.close();
  });

  const provision = async () => {
    const d = await provisionDevice(a);
    devices.push(d);
    return d;
  };
  const connect = async (d: TestDevice) => {
    const client = await connectDevice(BROKER!, d);
    clients.push(client);
    return client;
  };
  const pingVia = async (url: string, deviceId: string, timeoutNanos: number) => {
    const res = await fetch(`${url}/beta/devices/${deviceId}/ping`, {
      method: 'POST',
      headers: {
        'x-api-key': a.adminKey,
        'miru-version': '2026-03-09.tetons',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ timeout_nanos: timeoutNanos }),
    });
    return { status: res.status, body: await res.json() };
  };

  it('activation hands the device the broker URL without the server credentials', async () => {
    const d = await provision();
    expect(d.mqttUrl).toBe(BROKER!.replace(/\/$/, ''));
    expect(d.mqttUrl).not.toContain('@');
  });

  it('a ping is answered to whichever replica asked', async () => {
    const d = await provision();
    const client = await connect(d);
    await answerPings(client, d.id);
    for (const url of [a.url, b.url, b.url, a.url]) {
      const res = await pingVia(url, d.id, 5_000_000_000);
      expect(res.status).toBe(200);
      expect(res.body.code).toBe('success');
      expect(res.body.round_trip_nanos).toBeGreaterThan(0);
    }
    const silent = await provision();
    expect((await pingVia(b.url, silent.id, 200_000_000)).body).toEqual({ code: 'timeout' });
  });

  it('presence: the retained online message and the last will reach the database once', async () => {
    const d = await provision();
    const client = await connect(d);
    await client.publishAsync(
      `${d.topicPrefix}presence`,
      JSON.stringify({ status: 'online', agent_version: 'v0.4.0' }),
      {
        qos: 1,
        retain: true,
      },
    );
    const online = await eventually(async () => {
      const row = await a.server.app.repos.devices.get(d.id);
      return row?.last_connected_at && row.agent_version === 'v0.4.0' ? row : null;
    }, 'connected');
    // Cut the connection without DISCONNECT: the broker publishes the will (offline, retained).
    client.stream.destroy();
    const offline = await eventually(async () => {
      const row = await a.server.app.repos.devices.get(d.id);
      return row?.last_disconnected_at ? row : null;
    }, 'disconnected');
    expect(Date.parse(offline.last_disconnected_at!)).toBeGreaterThan(Date.parse(online.last_connected_at!));
    // Both replicas saw both messages; each state change was recorded once (the second is a no-op).
    expect(offline.last_connected_at).toBe(online.last_connected_at);
    const api = await a.api('GET', `devices/${d.id}`);
    expect(api.body.agent_version).toBe('v0.4.0');
  });

  it('a sync hint is retained on the broker for a device that connects later', async () => {
    const d = await provision();
    b.app.notifier.notify(d.id, 'deployment_changed');
    const hint = await eventually(async () => {
      const client = await connect(d);
      try {
        return await Promise.race([
          nextMessage(client, `${d.topicPrefix}sync`),
          new Promise<null>((r) => setTimeout(() => r(null), 300)),
        ]);
      } finally {
        await client.endAsync();
      }
    }, 'the retained hint');
    expect(hint.retain).toBe(true);
    expect(hint.payload.reason).toBe('deployment_changed');
  });

  it('the agent API on the second replica accepts the token issued by the first', async () => {
    const d = await provision();
    const res = await fetch(`${b.url}/agent/v1/state`, {
      headers: { authorization: `Bearer ${d.token}`, 'bosun-agent-version': AGENT_VERSION },
    });
    expect(res.status).toBe(200);
  });
});
