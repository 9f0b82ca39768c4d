import { randomBase62 } from '@bosun/core';
import mqtt from 'mqtt';
import { DYNSEC_RESPONSE_TOPIC, DynsecAdmin } from './dynsec.ts';
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

/** How devices authenticate to an external broker (`BOSUN_MQTT_AUTH`, docs/decisions.md #59). */
export type BrokerAuth = 'none' | 'dynsec' | 'http';

/** CONNACK codes of a refused login: 4/5 in MQTT 3.1.1, 134/135 in MQTT 5. */
export const isLoginRefused = (code: unknown) => code === 4 || code === 5 || code === 134 || code === 135;

/** A start-up error of the external broker: refused login, no dynamic security, refused subscription. */
export class BrokerSetupError extends Error {}

/**
 * How long start-up waits for the broker before carrying on (the client keeps reconnecting). Well
 * under Fastify's plugin timeout (10 s): waiting as long as that turned a slow broker into a failed
 * start instead of a start without push.
 */
const FIRST_CONNECT_WAIT_MS = 5_000;
/** Reconciliation: wait for retained presence replays, then ping each device this long, this many at once. */
const RECONCILE_SETTLE_MS = 2_000;
const RECONCILE_PING_MS = 10_000;
const RECONCILE_CONCURRENCY = 200;

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
 * An external broker (Mosquitto, EMQX, RabbitMQ, …) shared by every replica: the server is one more
 * client. Devices are governed by the broker: with `auth: 'dynsec'` the server manages each device's
 * Mosquitto client and role (`dynsec.ts`); with `auth: 'http'` the broker asks the server
 * (`broker-auth.ts`); with `'none'` the broker's own configuration decides. Presence comes from the
 * agents' retained presence messages and last wills, applied idempotently because every replica
 * receives each one. A broker that refuses the server's login or subscriptions stops start-up.
 */
export async function connectExternalBroker(opts: {
  url: string;
  /** What devices are told to connect to (defaults to `url` without credentials). */
  publicUrl?: string | undefined;
  auth?: BrokerAuth | undefined;
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
  const auth = opts.auth ?? 'none';
  const dynsec = auth === 'dynsec' ? new DynsecAdmin(client) : undefined;
  const serverUsername = decodeURIComponent(new URL(opts.url).username);
  let firstConnect: { resolve: () => void; reject: (err: Error) => void } | undefined;
  const firstConnected = new Promise<void>((resolve, reject) => {
    firstConnect = { resolve, reject };
  });
  const setupFailed = (err: Error) => {
    if (firstConnect) {
      firstConnect.reject(err);
      firstConnect = undefined;
    } else hooks.logger.error({ err: err.message, broker: where }, 'mqtt broker set-up failed');
  };
  client.on('error', (err: Error & { code?: unknown }) => {
    if (isLoginRefused(err.code))
      return setupFailed(
        new BrokerSetupError(
          `the mqtt broker ${where} refused the server's login (${err.message}); check the user name and password in BOSUN_MQTT_URL`,
        ),
      );
    hooks.logger.warn({ err: err.message, broker: where }, 'mqtt broker error');
  });

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

  /** Devices whose retained `online` was replayed since the last reconnect: claims to verify. */
  const claimedOnline = new Set<string>();
  /** When each device last said `online` live (not a replay): fresher than a ping that went unanswered. */
  const liveOnlineAt = new Map<string, number>();
  let closed = false;
  client.on('message', (topic, payload, packet) => {
    if (topic === DYNSEC_RESPONSE_TOPIC) return dynsec?.onResponse(payload);
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return;
    if (parsed.leaf === 'pong') waiters.pong(parsed.deviceId, payload);
    else if (parsed.leaf === 'presence') {
      const p = parsePresence(payload);
      if (!p) return;
      // A retained `online` replayed on (re)subscribe may be stale: the agent may have died while the
      // broker was down (no last will then). It is verified by a ping, not believed (`reconcile`).
      if (packet.retain && p.status === 'online') {
        claimedOnline.add(parsed.deviceId);
        if (p.agentVersion)
          record({
            deviceId: parsed.deviceId,
            kind: 'announced',
            agentVersion: p.agentVersion,
            authoritative: false,
          });
        return;
      }
      if (p.status === 'online') liveOnlineAt.set(parsed.deviceId, Date.now());
      else liveOnlineAt.delete(parsed.deviceId);
      record({
        deviceId: parsed.deviceId,
        kind: p.status === 'online' ? 'connected' : 'disconnected',
        agentVersion: p.agentVersion,
        authoritative: false,
      });
    }
  });

  const subscribe = async (topics: string[]) => {
    const granted = await client.subscribeAsync(topics, { qos: 1 }).catch((err: Error) => {
      throw new BrokerSetupError(
        `the mqtt broker ${where} refused the server's subscriptions: ${err.message}`,
      );
    });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length)
      throw new BrokerSetupError(
        `the mqtt broker ${where} refused the server's subscription to ${refused.join(', ')}; the server's account must be allowed every device topic`,
      );
  };
  /**
   * Presence reconciliation after every (re)connect (docs/agent-protocol.md "Presence"): while this
   * replica was away, or the broker restarted, sessions may have ended unseen. Every device recorded
   * as connected, and every device whose retained `online` was replayed, is pinged; an answer records
   * it connected, silence records it disconnected. Live presence messages keep applying meanwhile.
   */
  let reconciling: Promise<void> | undefined;
  const reconcile = async () => {
    await new Promise((r) => setTimeout(r, RECONCILE_SETTLE_MS).unref());
    if (closed) return;
    const devices = new Set([...(await hooks.openSessions()), ...claimedOnline]);
    claimedOnline.clear();
    const queue = [...devices];
    let online = 0;
    const worker = async () => {
      // Checked before every ping, not only after: close() cancels the pings in flight, and one sent
      // after it would hold shutdown up for a whole ping timeout.
      for (let id = queue.pop(); id !== undefined && !closed; id = queue.pop()) {
        const asked = Date.now();
        const r = await waiters.roundTrip(id, RECONCILE_PING_MS, (messageId) =>
          publish(deviceTopic(id, 'ping'), pingPayload(messageId), false),
        );
        if (closed) return; // shutting down: an unanswered ping says nothing about the device
        // A robot that came back announces itself live, possibly before it listens for pings: an
        // `online` that arrived after the ping was sent is newer than the silence, which says nothing.
        if (r.code !== 'success' && (liveOnlineAt.get(id) ?? -1) >= asked) continue;
        if (r.code === 'success') online++;
        record({
          deviceId: id,
          kind: r.code === 'success' ? 'connected' : 'disconnected',
          authoritative: false,
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(RECONCILE_CONCURRENCY, queue.length) }, worker));
    hooks.logger.info({ checked: devices.size, online }, 'presence reconciled after the broker connection');
  };
  const startReconcile = () => {
    if (closed || reconciling) return;
    reconciling = reconcile()
      .catch((err: Error) => hooks.logger.warn({ err: err.message }, 'presence reconciliation failed'))
      .finally(() => {
        reconciling = undefined;
      });
  };

  // A clean session forgets subscriptions, so every (re)connect subscribes again (and, with dynamic
  // security, makes sure the server's own role is there before it subscribes to the device topics).
  client.on('connect', () => {
    // Hints and pings are tiny: without this, Nagle and delayed ACKs add tens of milliseconds each way.
    (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
    (async () => {
      if (dynsec) {
        await subscribe([DYNSEC_RESPONSE_TOPIC]);
        // False: the role was just added and the broker ends this session; the next connect goes on.
        if (!(await dynsec.grantServer(serverUsername))) return false;
      }
      await subscribe([everyDevice('pong'), everyDevice('presence')]);
      startReconcile();
      return true;
    })().then(
      (done) => {
        if (!done) return;
        firstConnect?.resolve();
        firstConnect = undefined;
      },
      (err: Error) => setupFailed(err),
    );
  });
  const ready = await Promise.race([
    firstConnected.then(() => true),
    new Promise<false>((resolve) => setTimeout(() => resolve(false), FIRST_CONNECT_WAIT_MS).unref()),
  ]).catch(async (err: Error) => {
    await client.endAsync(true).catch(() => {});
    throw err;
  });
  firstConnect = undefined;
  if (ready) hooks.logger.info({ broker: where, auth }, 'connected to the external mqtt broker');
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
    async brokerCredentials(deviceId: string) {
      if (!dynsec) return { kind: 'access_token' as const };
      const password = `bsn_mqp_${randomBase62(32)}`;
      await dynsec.grantDevice(deviceId, password);
      return { kind: 'issued' as const, username: deviceId, password };
    },
    // With dynamic security the device's client is removed (its session ends at once); otherwise the
    // broker's sessions are not ours to end, and an old token is refused at the next login.
    async disconnect(deviceId: string) {
      await dynsec?.revokeDevice(deviceId);
    },
    async close() {
      closed = true;
      waiters.cancelAll();
      await reconciling;
      await client.endAsync(true).catch(() => {});
      while (chains.size) await Promise.all([...chains.values()]);
    },
  };
}
