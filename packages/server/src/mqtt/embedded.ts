import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { createServer, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';
import {
  type PingResult,
  PingWaiters,
  type PushChannel,
  type PushHooks,
  parsePresence,
  pingPayload,
  type SyncHint,
} from './push-channel.ts';
import { deviceMay, deviceTopic, everyDevice, parseDeviceTopic } from './topics.ts';

export const MQTT_WS_PATH = '/mqtt';

// MQTT 3.1.1 CONNACK return codes (aedes exports them only as a const enum).
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const BAD_USERNAME_OR_PASSWORD = 4;

function authError(returnCode: number, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/**
 * The embedded broker (aedes): MQTT over WebSocket at `/mqtt` on the server's own HTTP port, and
 * optionally plain TCP on a port of its own. Devices log in with client id = username = device id and
 * their access token as password, and may only touch their own topics. The session is cut when the
 * token expires, so a revoked device cannot stay connected on an old login.
 */
export async function startEmbeddedBroker(opts: {
  httpServer: HttpServer;
  /** With `tls`, the TCP port is MQTT over TLS (mqtts) with the server's own certificate. */
  tcp?: { port: number; host: string; tls?: { cert: string; key: string } | undefined } | undefined;
  hooks: PushHooks;
}): Promise<PushChannel & { tcpPort: number | undefined }> {
  const { hooks } = opts;
  const waiters = new PingWaiters();
  const sessions = new Map<string, Client>();
  const tokenExpiry = new WeakMap<Client, number>();
  const expiryTimers = new Map<Client, NodeJS.Timeout>();
  const chains = new Map<string, Promise<void>>();

  /** Presence writes of one device run in order (a reconnect's close and open must not swap). */
  const record = (deviceId: string, event: Parameters<PushHooks['presence']>[0]) => {
    const next = (chains.get(deviceId) ?? Promise.resolve())
      .then(() => hooks.presence(event))
      .catch((err) => hooks.logger.warn({ err, device_id: deviceId }, 'could not record device presence'));
    chains.set(deviceId, next);
    next.then(() => {
      if (chains.get(deviceId) === next) chains.delete(deviceId);
    });
  };

  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const deviceId = username ?? '';
      if (!deviceId || client.id !== deviceId) {
        return done(
          authError(IDENTIFIER_REJECTED, 'client id and username must both be the device id'),
          null,
        );
      }
      if (!password?.length)
        return done(authError(BAD_USERNAME_OR_PASSWORD, 'password (access token) required'), null);
      hooks.authenticate(deviceId, password.toString('utf8')).then(
        (ok) => {
          if (!ok) return done(authError(BAD_USERNAME_OR_PASSWORD, 'unknown or expired access token'), null);
          tokenExpiry.set(client, Date.parse(ok.expiresAt));
          done(null, true);
        },
        (err) => {
          hooks.logger.error({ err }, 'mqtt authentication failed');
          done(authError(SERVER_UNAVAILABLE, 'authentication unavailable'), null);
        },
      );
    },
    authorizeSubscribe(client, sub, done) {
      // A refused filter is granted 0x80 (failure) in the SUBACK; the session itself goes on.
      done(null, client && deviceMay(client.id, 'subscribe', sub.topic) ? sub : null);
    },
    authorizePublish(client, packet, done) {
      // `client` is null for the server's own publishes.
      if (!client || deviceMay(client.id, 'publish', packet.topic)) return done(null);
      done(new Error(`not authorised to publish on ${packet.topic}`));
    },
  });

  broker.on('client', (client) => {
    sessions.set(client.id, client);
    const expiresAt = tokenExpiry.get(client);
    if (expiresAt !== undefined) {
      const timer = setTimeout(() => client.close(), Math.max(0, expiresAt - Date.now()));
      timer.unref();
      expiryTimers.set(client, timer);
    }
    record(client.id, { deviceId: client.id, kind: 'connected', authoritative: true });
  });
  broker.on('clientDisconnect', (client) => {
    clearTimeout(expiryTimers.get(client));
    expiryTimers.delete(client);
    // A takeover by a newer session of the same device closes the old one first; only the current
    // session's end counts as a disconnection.
    if (sessions.get(client.id) !== client) return;
    sessions.delete(client.id);
    record(client.id, { deviceId: client.id, kind: 'disconnected', authoritative: true });
  });

  const subscribe = (topic: string, onMessage: (deviceId: string, payload: Buffer) => void) =>
    new Promise<void>((resolve) =>
      broker.subscribe(
        topic,
        (packet, cb) => {
          const parsed = parseDeviceTopic(packet.topic);
          if (parsed) onMessage(parsed.deviceId, Buffer.from(packet.payload));
          cb();
        },
        resolve,
      ),
    );
  await subscribe(everyDevice('pong'), (deviceId, payload) => waiters.pong(deviceId, payload));
  await subscribe(everyDevice('presence'), (deviceId, payload) => {
    const p = parsePresence(payload);
    // Connection events are authoritative here; the message only tells the agent version.
    if (p?.agentVersion)
      record(deviceId, { deviceId, kind: 'announced', agentVersion: p.agentVersion, authoritative: true });
  });

  const publish = (topic: string, payload: string, retain: boolean) =>
    new Promise<void>((resolve, reject) =>
      broker.publish(
        { cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain, dup: false },
        (err) => (err ? reject(err) : resolve()),
      ),
    );

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if ((req.url ?? '').split('?')[0] !== MQTT_WS_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      const stream = createWebSocketStream(ws);
      stream.on('error', () => {});
      broker.handle(stream, req);
    });
  };
  opts.httpServer.on('upgrade', onUpgrade);

  let tcpServer: NetServer | undefined;
  let tcpPort: number | undefined;
  if (opts.tcp) {
    const tls = opts.tcp.tls;
    const server = tls
      ? createTlsServer(tls, (socket) => broker.handle(socket))
      : createServer((socket) => broker.handle(socket));
    tcpServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.tcp!.port, opts.tcp!.host, () => resolve());
    });
    const address = server.address();
    tcpPort = typeof address === 'object' && address ? address.port : opts.tcp.port;
  }

  return {
    kind: 'embedded',
    tcpPort,
    deviceUrl: ({ protocol, host }) => `${protocol === 'https' ? 'wss' : 'ws'}://${host}${MQTT_WS_PATH}`,
    publishSync: (deviceId: string, hint: SyncHint) =>
      publish(deviceTopic(deviceId, 'sync'), JSON.stringify(hint), true),
    ping: (deviceId: string, timeoutMs: number): Promise<PingResult> =>
      waiters.roundTrip(deviceId, timeoutMs, (messageId) =>
        publish(deviceTopic(deviceId, 'ping'), pingPayload(messageId), false),
      ),
    brokerCredentials: async () => ({ kind: 'access_token' as const }),
    async disconnect(deviceId: string) {
      const client = sessions.get(deviceId);
      if (client) await new Promise<void>((resolve) => client.close(() => resolve()));
    },
    async close() {
      opts.httpServer.off('upgrade', onUpgrade);
      waiters.cancelAll();
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const ws of wss.clients) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      if (tcpServer) await new Promise<void>((resolve) => tcpServer.close(() => resolve()));
      while (chains.size) await Promise.all([...chains.values()]);
    },
  };
}
