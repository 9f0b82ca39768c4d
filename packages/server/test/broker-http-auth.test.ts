import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mosquittoBinary, OwnMosquitto } from '../../../test/reliability/support/services.ts';
import { provisionDevice, type TestDevice } from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * The HTTP auth endpoint for brokers that call out (docs/decisions.md #60), over real HTTP: the
 * broker's credential is required; device logins are access tokens with the embedded broker's ACL;
 * the server's own account may use every device topic; a login the server cannot check is denied.
 * (The server's MQTT side connects to an anonymous Mosquitto of our own; RabbitMQ itself is in
 * test/reliability/rabbitmq-http-auth.test.ts when a RabbitMQ is installed.)
 */
const MOSQUITTO = mosquittoBinary();
const SECRET = 'broker-http-auth-secret-0123456789';
/** A second accepted secret, as during a rotation. */
const NEXT_SECRET = 'broker-http-auth-secret-next-000000';
const SERVER_PASSWORD = 'server-broker-password-42';

describe.skipIf(!MOSQUITTO)('HTTP broker auth endpoint', () => {
  let broker: OwnMosquitto;
  let t: TestServer;
  let a: TestDevice;
  let b: TestDevice;

  beforeAll(async () => {
    broker = new OwnMosquitto(MOSQUITTO!);
    await broker.start();
    t = await startTestServer({
      config: {
        mqttUrl: `mqtt://bosun-server:${SERVER_PASSWORD}@127.0.0.1:${broker.port}`,
        mqttAuth: 'http',
        brokerAuthSecret: `${SECRET},${NEXT_SECRET}`,
      },
    });
    a = await provisionDevice(t);
    b = await provisionDevice(t);
  });
  afterAll(async () => {
    // The last test closed the database under the server.
    await t?.close().catch(() => {});
    await broker?.destroy();
  });

  const basic = (user: string, password: string) =>
    `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  const json = async (path: string, body: unknown, auth: string | null = `Bearer ${SECRET}`) => {
    const res = await fetch(`${t.url}/broker/v1/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  };
  const form = async (path: string, params: Record<string, string>) => {
    const res = await fetch(`${t.url}/broker/v1/rabbitmq/${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic('rabbit', SECRET),
      },
      body: new URLSearchParams(params).toString(),
    });
    return { status: res.status, text: await res.text() };
  };

  it("refuses requests without the broker's credential (401 envelope), whatever they ask", async () => {
    const login = { username: a.id, password: a.token, clientid: a.id };
    for (const auth of [
      null,
      'Bearer wrong-secret',
      basic('rabbit', 'wrong'),
      'Basic !!!',
      `Bearer ${SECRET}x`,
    ]) {
      const res = await json('authenticate', login, auth);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_broker_credential');
    }
    expect((await json('authenticate', login, basic('any-user', SECRET))).body).toEqual({ result: 'allow' });
    expect((await json('authenticate', login, `Bearer ${NEXT_SECRET}`)).body).toEqual({ result: 'allow' });
    expect((await json('authenticate', login, `Bearer ${SECRET},${NEXT_SECRET}`)).status).toBe(401);
  });

  it('device logins: the access token, with client id = username = device id', async () => {
    expect(
      (await json('authenticate', { username: a.id, password: a.token, clientid: a.id })).body.result,
    ).toBe('allow');
    for (const login of [
      { username: a.id, password: b.token, clientid: a.id },
      { username: a.id, password: a.token, clientid: 'someone' },
      { username: a.id, password: '', clientid: a.id },
      { username: '', password: '', clientid: 'anon' },
      { username: a.id, password: SERVER_PASSWORD, clientid: a.id },
    ])
      expect((await json('authenticate', login)).body.result, JSON.stringify(login)).toBe('deny');
    // Malformed bodies are denied, never a 500.
    expect((await json('authenticate', { username: 7, password: ['x'] })).body.result).toBe('deny');
    expect((await json('authorize', { username: a.id, action: 'delete', topic: 'x' })).body.result).toBe(
      'deny',
    );
  });

  it("authorisation is the embedded broker's device ACL; the server account gets every device topic", async () => {
    const may = async (username: string, action: string, topic: string) =>
      (await json('authorize', { username, clientid: username, action, topic })).body.result;
    expect(await may(a.id, 'subscribe', `bosun/v1/devices/${a.id}/sync`)).toBe('allow');
    expect(await may(a.id, 'subscribe', `bosun/v1/devices/${a.id}/ping`)).toBe('allow');
    expect(await may(a.id, 'publish', `bosun/v1/devices/${a.id}/presence`)).toBe('allow');
    expect(await may(a.id, 'publish', `bosun/v1/devices/${a.id}/pong`)).toBe('allow');
    expect(await may(a.id, 'subscribe', `bosun/v1/devices/${b.id}/sync`)).toBe('deny');
    expect(await may(a.id, 'publish', `bosun/v1/devices/${b.id}/presence`)).toBe('deny');
    expect(await may(a.id, 'subscribe', '#')).toBe('deny');
    expect(await may(a.id, 'subscribe', 'bosun/v1/devices/+/sync')).toBe('deny');
    expect(await may(a.id, 'publish', `bosun/v1/devices/${a.id}/sync`)).toBe('deny');
    expect(await may('bosun-server', 'subscribe', 'bosun/v1/devices/+/presence')).toBe('allow');
    expect(await may('bosun-server', 'publish', `bosun/v1/devices/${b.id}/sync`)).toBe('allow');
    expect(await may('bosun-server', 'subscribe', '$SYS/#')).toBe('deny');
    const server = { username: 'bosun-server', clientid: 'bosun-server-1' };
    expect((await json('authenticate', { ...server, password: SERVER_PASSWORD })).body.result).toBe('allow');
    expect((await json('authenticate', { ...server, password: 'nope' })).body.result).toBe('deny');
  });

  it('RabbitMQ form posts: user, vhost, resource and topic paths answer allow/deny as text', async () => {
    expect(await form('user', { username: a.id, password: a.token })).toEqual({ status: 200, text: 'allow' });
    expect((await form('user', { username: a.id, password: 'bsn_dat_forged' })).text).toBe('deny');
    expect((await form('vhost', { username: a.id, vhost: '/', ip: '127.0.0.1' })).text).toBe('allow');
    const resource = (name: string, resource: string, permission: string) =>
      form('resource', { username: a.id, vhost: '/', resource, name, permission });
    expect((await resource(`mqtt-subscription-${a.id}qos1`, 'queue', 'configure')).text).toBe('allow');
    expect((await resource(`mqtt-subscription-${b.id}qos1`, 'queue', 'read')).text).toBe('deny');
    expect((await resource('amq.topic', 'exchange', 'write')).text).toBe('allow');
    expect((await resource('amq.topic', 'exchange', 'configure')).text).toBe('deny');
    const topic = (routing_key: string, permission: string) =>
      form('topic', {
        username: a.id,
        vhost: '/',
        resource: 'topic',
        name: 'amq.topic',
        permission,
        routing_key,
      });
    expect((await topic(`bosun.v1.devices.${a.id}.sync`, 'read')).text).toBe('allow');
    expect((await topic(`bosun.v1.devices.${a.id}.presence`, 'write')).text).toBe('allow');
    expect((await topic(`bosun.v1.devices.${b.id}.presence`, 'write')).text).toBe('deny');
    expect((await topic('#', 'read')).text).toBe('deny');
    expect((await topic(`bosun.v1.devices.*.sync`, 'read')).text).toBe('deny');
  });

  it('a revoked token is denied once the cache has let go; an undecidable login is denied', async () => {
    const c = await provisionDevice(t);
    const old = c.token;
    expect((await json('authenticate', { username: c.id, password: old, clientid: c.id })).body.result).toBe(
      'allow',
    );
    // A token the database does not know is never cached as good.
    expect(
      (await json('authenticate', { username: c.id, password: `${old}x`, clientid: c.id })).body.result,
    ).toBe('deny');
    // The database goes away: logins not in the cache are denied, not allowed and not a 500.
    await t.server.store.close();
    const res = await json('authenticate', { username: b.id, password: `${b.token}`, clientid: b.id });
    expect(res).toEqual({ status: 200, body: { result: 'deny' } });
  });
});
