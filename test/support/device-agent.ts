import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { keyFingerprint, signDeviceJwt } from '@bosun/core/device-jwt';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { ApiResponse, TestServer } from './server.ts';

/**
 * A small stand-in for the device agent, built from the protocol document only (Ed25519 key, device
 * JWT, access token, MQTT over WebSocket), so server suites do not depend on the agent package.
 */

export const AGENT_VERSION = 'v0.1.0';

export interface AgentRequestOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface TestDevice {
  id: string;
  name: string;
  privateKey: KeyObject;
  publicKeyPem: string;
  kid: string;
  /** The current access token. */
  token: string;
  mqttUrl: string;
  topicPrefix: string;
  /** Calls `/agent/v1{path}` with this device's access token (unless `token` overrides it). */
  api<T = any>(method: string, path: string, opts?: AgentRequestOptions): Promise<ApiResponse<T>>;
  /** Signs a fresh device JWT and exchanges it for a new access token. */
  refreshToken(): Promise<string>;
}

export function newKeyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey,
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    kid: keyFingerprint(publicKey),
  };
}

export async function agentCall<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: AgentRequestOptions & { bearer?: string | undefined } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { 'bosun-agent-version': AGENT_VERSION, ...(opts.headers ?? {}) };
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${baseUrl}/agent/v1${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, headers: res.headers, body: parsed, text };
}

export async function createDevice(t: TestServer, name?: string): Promise<{ id: string; name: string }> {
  const res = await t.api('POST', 'devices', {
    body: { name: name ?? `robot-${Math.random().toString(36).slice(2, 10)}` },
  });
  if (res.status !== 200) throw new Error(`create device: ${res.status} ${res.text}`);
  return res.body;
}

export async function activationToken(
  t: TestServer,
  deviceId: string,
  allowReactivation?: boolean,
): Promise<string> {
  const res = await t.api('POST', `devices/${deviceId}/activation_token`, {
    body: allowReactivation === undefined ? {} : { allow_reactivation: allowReactivation },
  });
  if (res.status !== 200) throw new Error(`activation token: ${res.status} ${res.text}`);
  return res.body.token;
}

/** Creates (or reuses) a device, activates it with a new key and obtains an access token. */
export async function provisionDevice(
  t: TestServer,
  opts: { deviceId?: string; allowReactivation?: boolean } = {},
): Promise<TestDevice> {
  const deviceId = opts.deviceId ?? (await createDevice(t)).id;
  const token = await activationToken(t, deviceId, opts.allowReactivation);
  const keys = newKeyPair();
  const activated = await agentCall(t.url, 'POST', '/activate', {
    body: { token, public_key_pem: keys.publicKeyPem, agent_version: AGENT_VERSION, hostname: 'test-host' },
  });
  if (activated.status !== 200) throw new Error(`activate: ${activated.status} ${activated.text}`);
  const device: TestDevice = {
    id: activated.body.device.id,
    name: activated.body.device.name,
    ...keys,
    token: '',
    mqttUrl: activated.body.mqtt.url,
    topicPrefix: activated.body.mqtt.topic_prefix,
    api: (method, path, o = {}) =>
      agentCall(t.url, method, path, {
        ...o,
        bearer: o.token === null ? undefined : (o.token ?? device.token),
      }),
    async refreshToken() {
      const jwt = await signDeviceJwt(keys.privateKey, { deviceId: device.id, kid: keys.kid });
      const res = await agentCall(t.url, 'POST', '/token', { bearer: jwt });
      if (res.status !== 200) throw new Error(`token: ${res.status} ${res.text}`);
      device.token = res.body.token;
      return device.token;
    },
  };
  await device.refreshToken();
  return device;
}

/** Connects as the device: client id = username = device id, password = access token. */
export async function connectDevice(
  url: string,
  device: Pick<TestDevice, 'id' | 'token'>,
  extra: IClientOptions = {},
): Promise<MqttClient> {
  const client = await mqtt.connectAsync(url, {
    clientId: device.id,
    username: device.id,
    password: device.token,
    reconnectPeriod: 0,
    connectTimeout: 5000,
    will: {
      topic: `bosun/v1/devices/${device.id}/presence`,
      payload: Buffer.from(JSON.stringify({ status: 'offline', agent_version: AGENT_VERSION })),
      qos: 1,
      retain: true,
    },
    ...extra,
  });
  (client.stream as { setNoDelay?: (on: boolean) => void }).setNoDelay?.(true);
  return client;
}

/** Tries to connect and returns the CONNACK refusal code, -1 without one, or 'connected'. */
export async function connectOutcome(url: string, opts: IClientOptions): Promise<number | 'connected'> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...opts });
    client.once('connect', () => {
      client.end(true);
      resolve('connected');
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(typeof err.code === 'number' ? err.code : -1);
    });
    // A transport that closes without a CONNACK (refused upgrade) ends here.
    client.once('close', () => {
      client.end(true);
      resolve(-1);
    });
  });
}

/** Answers every ping on `…/ping` with a pong echoing its message id, as the agent does. */
export async function answerPings(client: MqttClient, deviceId: string): Promise<void> {
  await client.subscribeAsync(`bosun/v1/devices/${deviceId}/ping`, { qos: 1 });
  client.on('message', (topic, payload) => {
    if (topic !== `bosun/v1/devices/${deviceId}/ping`) return;
    const { message_id } = JSON.parse(payload.toString());
    client.publish(
      `bosun/v1/devices/${deviceId}/pong`,
      JSON.stringify({ message_id, received_at: new Date().toISOString() }),
      { qos: 1 },
    );
  });
}

/** The next message on `topic` (subscribing first), as parsed JSON. */
export async function nextMessage(
  client: MqttClient,
  topic: string,
): Promise<{ payload: any; retain: boolean }> {
  const received = new Promise<{ payload: any; retain: boolean }>((resolve) => {
    const onMessage = (t: string, payload: Buffer, packet: { retain: boolean }) => {
      if (t !== topic) return;
      client.off('message', onMessage);
      resolve({ payload: JSON.parse(payload.toString()), retain: packet.retain });
    };
    client.on('message', onMessage);
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return received;
}

/** Polls until `check` returns a value (for effects another process records asynchronously). */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  what: string,
): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}
