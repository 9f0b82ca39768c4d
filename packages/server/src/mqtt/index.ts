import type { Server as HttpServer } from 'node:http';
import type { Logger } from 'pino';
import type { DeviceIdentityStore } from '../storage/device-identity.ts';
import type { BrokerAuthOptions } from './broker-auth.ts';
import { MQTT_WS_PATH, startEmbeddedBroker } from './embedded.ts';
import { type BrokerAuth, connectExternalBroker } from './external.ts';
import type { PresenceEvent, PushChannel, PushHooks } from './push-channel.ts';

export { brokerAuthRoutes } from './broker-auth.ts';
export type { BrokerAuth } from './external.ts';
export type { BrokerCredentials, PingResult, PushChannel, SyncHint } from './push-channel.ts';
export { deviceTopic, topicPrefix } from './topics.ts';

export interface MqttOptions {
  /** External broker (`BOSUN_MQTT_URL`); unset embeds aedes. */
  url?: string | undefined;
  /** What devices are told to use for an external broker (`BOSUN_MQTT_PUBLIC_URL`). */
  publicUrl?: string | undefined;
  /** How devices authenticate to the external broker (`BOSUN_MQTT_AUTH`). */
  auth?: BrokerAuth | undefined;
  /** The credential an HTTP-auth broker presents (`BOSUN_BROKER_AUTH_SECRET`, with `auth: 'http'`). */
  httpAuthSecret?: string | undefined;
  /** Plain TCP port for the embedded broker (`--mqtt-port`); WebSocket on `/mqtt` is always there. */
  port?: number | undefined;
  host?: string | undefined;
  /** The server's certificate and key: the embedded broker's TCP port speaks MQTT over TLS with them. */
  tls?: { cert: string; key: string } | undefined;
}

/**
 * Tells a device that something it must act on changed. Routes and storage callers call it after the
 * change committed; it never throws and never waits (push is only a hint: the agent also polls).
 */
export interface DeviceNotifier {
  notify(deviceId: string, reason: string): void;
}

/** Storage side of the broker hooks: logins by access token, presence into the devices table. */
export function pushHooks(identity: DeviceIdentityStore, logger: PushHooks['logger']): PushHooks {
  return {
    logger,
    async authenticate(deviceId, token) {
      const principal = await identity.authenticateAccessToken(token);
      return principal && principal.device_id === deviceId ? { expiresAt: principal.expires_at } : null;
    },
    openSessions: () => identity.openSessions(),
    async presence(e: PresenceEvent) {
      if (e.kind === 'connected') {
        await identity.recordConnected(e.deviceId, {
          agentVersion: e.agentVersion,
          onlyIfDisconnected: !e.authoritative,
        });
      } else if (e.kind === 'disconnected') {
        await identity.recordDisconnected(e.deviceId);
      } else if (e.agentVersion) {
        await identity.recordAgentVersion(e.deviceId, e.agentVersion);
      }
    },
  };
}

/**
 * The HTTP auth endpoint's options when `auth: 'http'`, else undefined (the routes are not served).
 * The server's own broker login is the user and password of the broker URL.
 */
export function brokerAuthOptions(
  opts: MqttOptions | undefined,
  identity: DeviceIdentityStore,
  logger: PushHooks['logger'],
): BrokerAuthOptions | undefined {
  if (opts?.auth !== 'http' || !opts.url) return undefined;
  if (!opts.httpAuthSecret) throw new Error('the HTTP broker auth endpoint needs BOSUN_BROKER_AUTH_SECRET');
  const u = new URL(opts.url);
  return {
    secrets: opts.httpAuthSecret.split(','),
    server: { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) },
    authenticate: pushHooks(identity, logger).authenticate,
  };
}

export async function startPushChannel(
  opts: MqttOptions,
  httpServer: HttpServer,
  identity: DeviceIdentityStore,
  logger: PushHooks['logger'],
): Promise<PushChannel> {
  const hooks = pushHooks(identity, logger);
  if (opts.url)
    return connectExternalBroker({ url: opts.url, publicUrl: opts.publicUrl, auth: opts.auth, hooks });
  // A fresh embedded broker has no sessions; any still recorded as open died with the last process.
  await identity.closeOpenSessions();
  const broker = await startEmbeddedBroker({
    httpServer,
    tcp:
      opts.port !== undefined
        ? { port: opts.port, host: opts.host ?? '127.0.0.1', tls: opts.tls }
        : undefined,
    hooks,
  });
  logger.info(
    { websocket_path: MQTT_WS_PATH, tcp_port: broker.tcpPort ?? null },
    'embedded mqtt broker ready',
  );
  return broker;
}

export function createNotifier(channel: PushChannel, logger: Pick<Logger, 'warn'>): DeviceNotifier {
  return {
    notify(deviceId, reason) {
      channel
        .publishSync(deviceId, { reason, at: new Date().toISOString() })
        .catch((err) =>
          logger.warn({ err: String(err), device_id: deviceId }, 'could not publish a sync hint'),
        );
    },
  };
}
