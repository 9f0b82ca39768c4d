import { fullJitterMs, RECONNECT_JITTER, shouldLogFailure } from '@bosun/core';
import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { AGENT_VERSION } from './client.ts';
import { tlsHint } from './tls.ts';

/**
 * The MQTT side of docs/agent-protocol.md: hints only. `sync` triggers a reconcile, `ping` is answered
 * with `pong`, and `presence` is published retained (with `offline` as the last will). Losing this
 * channel never loses state: the agent also polls.
 */
export interface PushOptions {
  url: string;
  deviceId: string;
  topicPrefix: string;
  /** The access token used as password; `fresh` forces a new one (after the broker refused it). */
  password(fresh: boolean): Promise<string>;
  onSync(): void;
  logger: Logger;
  /** MQTT keep-alive; the broker declares the agent gone after 1.5 × this without traffic (default 30). */
  keepaliveSeconds?: number;
  /** PEM CA bundle the broker's certificate must chain to (`mqtts://`, `wss://`); unset: Node's roots. */
  ca?: string | undefined;
}

export class PushChannel {
  private client: MqttClient | undefined;
  private readonly prefix: string;
  lastConnectedAt: string | null = null;
  lastDisconnectedAt: string | null = null;
  /** Connection attempts since the channel was last up (drives the backoff and the log rate). */
  private failures = 0;

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  constructor(private readonly opts: PushOptions) {
    this.prefix = opts.topicPrefix.endsWith('/') ? opts.topicPrefix : `${opts.topicPrefix}/`;
  }

  async start(): Promise<void> {
    const { opts, prefix } = this;
    const presence = (status: 'online' | 'offline') =>
      JSON.stringify({ status, agent_version: AGENT_VERSION });
    const password = await opts.password(false).catch(() => '');
    const client = mqtt.connect(opts.url, {
      clientId: opts.deviceId,
      username: opts.deviceId,
      password,
      clean: true,
      keepalive: opts.keepaliveSeconds ?? 30,
      // Re-set before every attempt (below): full jitter, so a fleet does not reconnect in lockstep.
      reconnectPeriod: fullJitterMs(0, RECONNECT_JITTER),
      connectTimeout: 10_000,
      // mqtt.js hands `ca` to tls.connect (mqtts) and to the WebSocket (wss); verification stays on.
      ...(opts.ca ? { ca: opts.ca, rejectUnauthorized: true } : {}),
      // mqtt-packet would otherwise pre-build a Buffer for each of the 65 536 message ids (≈ 10 MB of
      // heap on an idle robot, for an agent that publishes a few messages an hour).
      writeCache: false,
      will: { topic: `${prefix}presence`, payload: Buffer.from(presence('offline')), qos: 1, retain: true },
    });
    this.client = client;
    // mqtt.js arms its reconnect timer from `reconnectPeriod` when a connection closes; an attempt
    // starting is the moment to choose the delay of the one after it.
    client.on('reconnect', () => {
      this.failures++;
      client.options.reconnectPeriod = fullJitterMs(this.failures, RECONNECT_JITTER);
    });
    client.on('connect', () => {
      this.lastConnectedAt = new Date().toISOString();
      opts.logger.info(
        { broker: opts.url, ...(this.failures ? { attempts: this.failures } : {}) },
        'push channel connected',
      );
      this.failures = 0;
      client.options.reconnectPeriod = fullJitterMs(0, RECONNECT_JITTER);
      // Subscribing on every connect (not only the first) keeps commands flowing after a reconnect.
      client.subscribe({ [`${prefix}sync`]: { qos: 1 }, [`${prefix}ping`]: { qos: 1 } }, (err) => {
        if (err) opts.logger.warn({ err: err.message }, 'subscribe failed');
      });
      client.publish(`${prefix}presence`, presence('online'), { qos: 1, retain: true });
    });
    client.on('message', (topic, payload) => {
      if (topic === `${prefix}sync`) opts.onSync();
      else if (topic === `${prefix}ping`) {
        let messageId: unknown;
        try {
          messageId = (JSON.parse(payload.toString()) as { message_id?: unknown }).message_id;
        } catch {}
        if (typeof messageId !== 'string') return;
        client.publish(
          `${prefix}pong`,
          JSON.stringify({ message_id: messageId, received_at: new Date().toISOString() }),
          { qos: 1 },
        );
      }
    });
    client.on('error', (err: Error & { code?: number | string }) => {
      // 4 bad user name or password, 5 not authorized (MQTT 3.1.1); 134/135 in MQTT 5.
      const refused = err.code === 4 || err.code === 5 || err.code === 134 || err.code === 135;
      // While the broker is unreachable every attempt fails: log the first and then at a backoff.
      if (shouldLogFailure(this.failures + 1))
        opts.logger.warn(
          { err: err.message, attempts: this.failures + 1, ...(tlsHint(err) ? { hint: tlsHint(err) } : {}) },
          'push channel error',
        );
      if (refused) this.refreshPassword(true);
    });
    // Before each automatic reconnect, make sure the password is a token that is still valid.
    client.on('close', () => {
      if (this.lastConnectedAt && (this.lastDisconnectedAt ?? '') < this.lastConnectedAt) {
        this.lastDisconnectedAt = new Date().toISOString();
        if (this.client) opts.logger.warn({ broker: opts.url }, 'push channel lost; reconnecting');
      }
      this.refreshPassword(false);
    });
  }

  private refreshPassword(fresh: boolean): void {
    this.opts
      .password(fresh)
      .then((token) => {
        if (this.client) this.client.options.password = token;
      })
      .catch(() => {});
  }

  /** Publishes `offline` (the broker would only send the will after the keep-alive) and disconnects. */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await new Promise<void>((resolve) =>
        client.publish(
          `${this.prefix}presence`,
          JSON.stringify({ status: 'offline', agent_version: AGENT_VERSION }),
          { qos: 1, retain: true },
          () => resolve(),
        ),
      ).catch(() => {});
    }
    await client.endAsync(true).catch(() => {});
  }
}
