import { randomBase62 } from '@bosun/core';
import mqtt from 'mqtt';
import {
  type PingResult,
  PingWaiters,
  type PresenceEvent,
  type PushChannel,
  type PushHooks,
  parsePresence,
  pingPayload,
  type SyncHint,
} from './push-channel.ts';
import { deviceTopic, everyDevice, parseDeviceTopic } from './topics.ts';

/** How long start-up waits for the broker before carrying on (the client keeps reconnecting). */
const FIRST_CONNECT_WAIT_MS = 10_000;

/** The URL without credentials: what may be logged or handed to devices. */
export function redactMqttUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return 'mqtt://(invalid url)';
  }
}

/**
 * An external broker (Mosquitto, EMQX, …) shared by every replica: the server is one more client.
 * The broker's own ACLs govern devices; presence comes from the agents' retained presence messages and
 * last wills, applied idempotently because every replica receives each one.
 */
export async function connectExternalBroker(opts: {
  url: string;
  /** What devices are told to connect to (defaults to `url` without credentials). */
  publicUrl?: string | undefined;
  hooks: PushHooks;
}): Promise<PushChannel> {
  const { hooks } = opts;
  const waiters = new PingWaiters();
  const chains = new Map<string, Promise<void>>();
  const client = mqtt.connect(opts.url, {
    clientId: `bosun-server-${randomBase62(12)}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 10_000,
    resubscribe: false,
  });
  const where = redactMqttUrl(opts.url);
  client.on('error', (err) => hooks.logger.warn({ err: err.message, broker: where }, 'mqtt broker error'));

  const record = (event: PresenceEvent) => {
    const next = (chains.get(event.deviceId) ?? Promise.resolve())
      .then(() => hooks.presence(event))
      .catch((err) =>
        hooks.logger.warn({ err, device_id: event.deviceId }, 'could not record device presence'),
      );
    chains.set(event.deviceId, next);
    next.then(() => {
      if (chains.get(event.deviceId) === next) chains.delete(event.deviceId);
    });
  };

  client.on('message', (topic, payload) => {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    if (parsed.leaf === 'pong') waiters.pong(parsed.deviceId, payload);
    else if (parsed.leaf === 'presence') {
      const p = parsePresence(payload);
      if (!p) return;
      record({
        deviceId: parsed.deviceId,
        kind: p.status === 'online' ? 'connected' : 'disconnected',
        agentVersion: p.agentVersion,
        authoritative: false,
      });
    }
  });

  // A clean session forgets subscriptions, so every (re)connect subscribes again.
  const subscribed = new Promise<void>((resolve) => {
    client.on('connect', () => {
      // Hints and pings are tiny: without this, Nagle and delayed ACKs add tens of milliseconds each way.
      (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
      client.subscribe([everyDevice('pong'), everyDevice('presence')], { qos: 1 }, (err) => {
        if (err) hooks.logger.warn({ err: err.message, broker: where }, 'mqtt subscribe failed');
        else resolve();
      });
    });
  });
  const ready = await Promise.race([
    subscribed.then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), FIRST_CONNECT_WAIT_MS).unref()),
  ]);
  if (ready) hooks.logger.info({ broker: where }, 'connected to the external mqtt broker');
  else hooks.logger.warn({ broker: where }, 'mqtt broker not reachable yet; push hints wait until it is');

  const publish = (topic: string, payload: string, retain: boolean) =>
    client.publishAsync(topic, payload, { qos: 1, retain }).then(() => {});

  return {
    kind: 'external',
    deviceUrl: () => opts.publicUrl ?? where,
    publishSync: (deviceId: string, hint: SyncHint) =>
      publish(deviceTopic(deviceId, 'sync'), JSON.stringify(hint), true),
    ping: (deviceId: string, timeoutMs: number): Promise<PingResult> =>
      waiters.roundTrip(deviceId, timeoutMs, (messageId) =>
        publish(deviceTopic(deviceId, 'ping'), pingPayload(messageId), false),
      ),
    // The external broker's sessions are not ours to end; an expired token is refused at the next login.
    async disconnect() {},
    async close() {
      waiters.cancelAll();
      await client.endAsync(true).catch(() => {});
      while (chains.size) await Promise.all([...chains.values()]);
    },
  };
}
