import { createHash, timingSafeEqual } from 'node:crypto';
import { BosunError } from '@bosun/core';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { deviceMay, TOPIC_ROOT } from './topics.ts';

/**
 * The HTTP auth endpoint for brokers that call out (docs/decisions.md #60): RabbitMQ's
 * `rabbitmq_auth_backend_http` (form posts, `allow`/`deny` text), EMQX's HTTP authentication and
 * authorisation, VerneMQ webhooks and mosquitto-go-auth (JSON, `{"result": "allow" | "deny"}`).
 * Every request must carry the broker's own credential (`BOSUN_BROKER_AUTH_SECRET`, as HTTP Basic
 * password or Bearer token; comma-separated secrets are all accepted, for a rolling rotation). Devices log in as on the embedded broker (username = client id = device
 * id, password = access token) and get exactly its ACL; the server's own broker account (the user
 * and password of `BOSUN_MQTT_URL`) may use every device topic. Anything the server cannot decide
 * (database down) is denied.
 */
export interface BrokerAuthOptions {
  /** Accepted broker credentials: more than one while a new one is rolled out. */
  secrets: string[];
  /** The server's own broker login, from BOSUN_MQTT_URL. */
  server: { username: string; password: string };
  /** Resolves a device login (access token) to its expiry; throws when the database is down. */
  authenticate(deviceId: string, token: string): Promise<{ expiresAt: string } | null>;
  /** How long an accepted login is remembered (default 10 s). Refusals are never cached. */
  cacheMs?: number;
  now?: () => number;
}

const CACHE_LIMIT = 100_000;
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
const sameSecret = (given: string, expected: Buffer) => timingSafeEqual(digest(given), expected);

type Decision = 'allow' | 'deny';
type Action = 'publish' | 'subscribe';

/** The broker's credential from `Authorization: Basic …` (password part) or `Bearer …`. */
function presentedSecret(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export const brokerAuthRoutes: FastifyPluginAsync<BrokerAuthOptions> = async (app, opts) => {
  const secrets = opts.secrets.map(digest);
  const serverPassword = digest(opts.server.password);
  const now = opts.now ?? Date.now;
  const cacheMs = opts.cacheMs ?? 10_000;
  /** sha256(device id, token) → until when the login is known good. */
  const logins = new Map<string, number>();

  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string', bodyLimit: 16 * 1024 },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.addHook('onRequest', async (request) => {
    const given = presentedSecret(request);
    // Every candidate is compared (constant time each), so the answer time does not tell which matched.
    const matches = given === undefined ? [] : secrets.filter((s) => sameSecret(given, s));
    if (matches.length === 0)
      throw new BosunError(401, 'invalid_broker_credential', "The broker's credential is missing or wrong.", {
        header: 'Authorization',
      });
  });

  const isServer = (username: string) => username !== '' && username === opts.server.username;

  async function login(username: string, password: string, clientId: string | undefined): Promise<Decision> {
    if (!username || !password) return 'deny';
    if (isServer(username)) return sameSecret(password, serverPassword) ? 'allow' : 'deny';
    if (clientId !== undefined && clientId !== username) return 'deny';
    const key = digest(`${username}\0${password}`).toString('base64');
    const until = logins.get(key);
    if (until !== undefined && until > now()) return 'allow';
    let ok: { expiresAt: string } | null;
    try {
      ok = await opts.authenticate(username, password);
    } catch (err) {
      app.log.warn(
        { err: (err as Error).message },
        'broker login undecidable (database unavailable); denied',
      );
      return 'deny';
    }
    if (!ok) {
      logins.delete(key);
      return 'deny';
    }
    if (logins.size >= CACHE_LIMIT) logins.clear();
    logins.set(key, Math.min(now() + cacheMs, Date.parse(ok.expiresAt)));
    return 'allow';
  }

  function topicAllowed(username: string, action: Action, topic: string): Decision {
    if (isServer(username)) return topic.startsWith(TOPIC_ROOT) ? 'allow' : 'deny';
    return deviceMay(username, action, topic) ? 'allow' : 'deny';
  }

  // EMQX / VerneMQ / mosquitto-go-auth style: JSON in, {"result"} out.
  app.post('/authenticate', async (request) => {
    const b = (request.body ?? {}) as Record<string, unknown>;
    const clientId = text(b.clientid ?? b.client_id) || undefined;
    return { result: await login(text(b.username), text(b.password), clientId) };
  });
  app.post('/authorize', async (request) => {
    const b = (request.body ?? {}) as Record<string, unknown>;
    const action = text(b.action);
    if (action !== 'publish' && action !== 'subscribe') return { result: 'deny' };
    const clientId = text(b.clientid ?? b.client_id);
    const username = text(b.username);
    if (clientId && clientId !== username) return { result: 'deny' };
    return { result: topicAllowed(username, action, text(b.topic)) };
  });

  // RabbitMQ `rabbitmq_auth_backend_http`: form posts, `allow` / `deny` as plain text.
  const rabbit = (path: string, decide: (p: Record<string, string>) => Promise<Decision> | Decision) =>
    app.post(`/rabbitmq/${path}`, async (request, reply) => {
      const p = (request.body ?? {}) as Record<string, string>;
      reply.type('text/plain');
      return decide(p);
    });
  rabbit('user', (p) => login(text(p.username), text(p.password), undefined));
  rabbit('vhost', (p) => (p.username ? 'allow' : 'deny'));
  rabbit('resource', (p) => {
    const username = text(p.username);
    if (isServer(username)) return 'allow';
    const name = text(p.name);
    // An MQTT client needs its own subscription queues and the topic exchange.
    if (p.resource === 'queue') return name.startsWith(`mqtt-subscription-${username}qos`) ? 'allow' : 'deny';
    if (p.resource === 'exchange')
      return name === 'amq.topic' && p.permission !== 'configure' ? 'allow' : 'deny';
    return 'deny';
  });
  rabbit('topic', (p) => {
    // RabbitMQ's MQTT plugin maps `/` to `.` in routing keys; `write` is a publish, `read` a subscribe.
    const topic = text(p.routing_key).replaceAll('.', '/');
    const action: Action | undefined =
      p.permission === 'write' ? 'publish' : p.permission === 'read' ? 'subscribe' : undefined;
    if (!action || p.resource !== 'topic' || p.name !== 'amq.topic') return 'deny';
    return topicAllowed(text(p.username), action, topic);
  });
};
