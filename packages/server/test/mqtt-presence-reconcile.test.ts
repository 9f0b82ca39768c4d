import { startServer } from '@bosun/server';
import type { MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoBinary, OwnMosquitto } from '../../../test/reliability/support/services.ts';
import {
  AGENT_VERSION,
  answerPings,
  connectDevice,
  provisionDevice,
} from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * Presence after a broker restart (docs/agent-protocol.md "Presence"): our own Mosquitto with
 * persistence, so retained `online` messages survive the restart while no last will is ever sent
 * for a robot that died meanwhile. The server must not believe the replayed `online`: it pings, and
 * only a robot that answers stays online.
 */
const MOSQUITTO = mosquittoBinary();

async function until(check: () => Promise<boolean>, what: string, limitMs = 60_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > limitMs) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!MOSQUITTO)('presence reconciliation on an external broker', { timeout: 60_000 }, () => {
  let broker: OwnMosquitto;
  let t: TestServer;
  const clients: MqttClient[] = [];

  beforeAll(async () => {
    broker = new OwnMosquitto(MOSQUITTO!, { persistence: true });
    await broker.start();
    t = await startTestServer({ config: { mqttUrl: broker.url } });
  });
  afterAll(async () => {
    for (const c of clients) await c.endAsync(true).catch(() => {});
    await t?.close();
    await broker?.destroy();
  });

  const status = async (id: string) => (await t.api('GET', `devices/${id}`)).body.status as string;
  const online = (c: MqttClient, prefix: string) =>
    c.publishAsync(`${prefix}presence`, JSON.stringify({ status: 'online', agent_version: AGENT_VERSION }), {
      qos: 1,
      retain: true,
    });

  it('after a broker restart, a robot that died meanwhile is offline and one that came back is online', async () => {
    const survivor = await provisionDevice(t);
    const dead = await provisionDevice(t);
    const clientOf = new Map<string, MqttClient>();
    for (const d of [survivor, dead]) {
      const c = await connectDevice(broker.url, d);
      clients.push(c);
      clientOf.set(d.id, c);
      await answerPings(c, d.id);
      await online(c, d.topicPrefix);
    }
    await until(async () => (await status(survivor.id)) === 'online', 'survivor online');
    await until(async () => (await status(dead.id)) === 'online', 'dead online');

    // The broker stops (saving its retained messages); `dead` dies while it is down, so no will is
    // ever published for it; `survivor` reconnects once the broker is back.
    await new Promise((r) => setTimeout(r, 1_500)); // the broker's autosave (every second)
    await broker.kill('SIGKILL');
    for (const c of clientOf.values()) await c.endAsync(true);
    await broker.start();
    // What the agent does on reconnect: answer pings, announce itself (a live, not replayed, message).
    const back = await connectDevice(broker.url, survivor);
    clients.push(back);
    await answerPings(back, survivor.id);
    await online(back, survivor.topicPrefix);

    await until(async () => (await status(dead.id)) === 'offline', 'the dead robot offline');
    expect(await status(survivor.id)).toBe('online');
    // The retained `online` of the dead robot is still on the broker: the server did not believe it.
    const row = await t.server.app.repos.devices.get(dead.id);
    expect(row?.last_disconnected_at).not.toBeNull();
  });

  it('a replica that (re)connects re-checks every open session: a silent one is offline', async () => {
    const alive = await provisionDevice(t);
    const ghost = await provisionDevice(t);
    for (const d of [alive, ghost]) {
      const c = await connectDevice(broker.url, d, d === ghost ? { will: undefined } : {});
      clients.push(c);
      if (d === alive) await answerPings(c, d.id);
      await online(c, d.topicPrefix);
    }
    await until(async () => (await status(ghost.id)) === 'online', 'ghost online');
    // The ghost's connection ends without a will: nobody tells the running replica.
    await clients.pop()!.endAsync(true);
    expect(await status(ghost.id)).toBe('online');
    // A second replica connects to the broker: it re-checks what the database says is open.
    const b = await startServer(
      {
        port: 0,
        host: '127.0.0.1',
        dataDir: t.database.dataDir,
        databaseUrl: t.database.databaseUrl,
        logLevel: 'silent',
        bootstrapApiKey: undefined,
        mqttUrl: broker.url,
      },
      {
        logger: pino({ level: process.env.BOSUN_TEST_LOG_LEVEL ?? 'silent' }),
        pgSchema: t.database.pgSchema,
        print: () => {},
      },
    );
    try {
      await until(async () => (await status(ghost.id)) === 'offline', 'the ghost offline');
      expect(await status(alive.id)).toBe('online');
    } finally {
      await b.close();
    }
  });
});
