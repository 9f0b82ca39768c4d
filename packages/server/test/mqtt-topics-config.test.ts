import { resolveServerConfig } from '@bosun/server';
import { describe, expect, it } from 'vitest';
import { redactMqttUrl } from '../src/mqtt/external.ts';
import { parsePresence } from '../src/mqtt/push-channel.ts';
import { deviceMay, parseDeviceTopic } from '../src/mqtt/topics.ts';

describe('device topic ACL', () => {
  const me = 'dvc_A';
  it('allows exactly sync/ping subscriptions and pong/presence publishes under the own prefix', () => {
    expect(deviceMay(me, 'subscribe', 'bosun/v1/devices/dvc_A/sync')).toBe(true);
    expect(deviceMay(me, 'subscribe', 'bosun/v1/devices/dvc_A/ping')).toBe(true);
    expect(deviceMay(me, 'publish', 'bosun/v1/devices/dvc_A/pong')).toBe(true);
    expect(deviceMay(me, 'publish', 'bosun/v1/devices/dvc_A/presence')).toBe(true);
    expect(deviceMay(me, 'publish', 'bosun/v1/devices/dvc_A/sync')).toBe(false);
    expect(deviceMay(me, 'subscribe', 'bosun/v1/devices/dvc_A/pong')).toBe(false);
  });
  it('refuses other devices, wildcards, deeper or shallower topics and other roots', () => {
    for (const topic of [
      'bosun/v1/devices/dvc_B/sync',
      'bosun/v1/devices/+/sync',
      'bosun/v1/devices/dvc_A/#',
      'bosun/v1/devices/dvc_A/+',
      'bosun/v1/devices/dvc_A/sync/extra',
      'bosun/v1/devices/dvc_A',
      'bosun/v1/devices/dvc_A/',
      'bosun/v2/devices/dvc_A/sync',
      '$SYS/broker/clients',
      '#',
    ]) {
      expect(deviceMay(me, 'subscribe', topic), topic).toBe(false);
      expect(deviceMay(me, 'publish', topic.replace('sync', 'pong')), topic).toBe(false);
    }
  });
  it('parses device topics', () => {
    expect(parseDeviceTopic('bosun/v1/devices/dvc_A/pong')).toEqual({ deviceId: 'dvc_A', leaf: 'pong' });
    expect(parseDeviceTopic('bosun/v1/devices/+/pong')).toBeNull();
    expect(parseDeviceTopic('elsewhere/dvc_A/pong')).toBeNull();
  });
});

describe('presence payloads', () => {
  it('accepts online/offline with an optional short version; anything else is ignored', () => {
    expect(parsePresence('{"status":"online","agent_version":"v1.0.0"}')).toEqual({
      status: 'online',
      agentVersion: 'v1.0.0',
    });
    expect(parsePresence('{"status":"offline"}')).toEqual({ status: 'offline' });
    expect(parsePresence('{"status":"sleeping"}')).toBeNull();
    expect(parsePresence('not json')).toBeNull();
    expect(parsePresence(JSON.stringify({ status: 'online', agent_version: 'v'.repeat(65) }))).toEqual({
      status: 'online',
    });
  });
});

describe('MQTT configuration', () => {
  const base = { dataDir: '/tmp/x' };
  it('embedded by default; --mqtt-port (or BOSUN_MQTT_PORT) adds TCP', () => {
    expect(resolveServerConfig(base, {})).toMatchObject({ mqttUrl: undefined, mqttPort: undefined });
    expect(resolveServerConfig({ ...base, mqttPort: '1884' }, {}).mqttPort).toBe(1884);
    expect(resolveServerConfig(base, { BOSUN_MQTT_PORT: '0' }).mqttPort).toBe(0);
    expect(() => resolveServerConfig({ ...base, mqttPort: 'x' }, {})).toThrow(/mqtt port/);
    expect(() => resolveServerConfig({ ...base, mqttPort: '70000' }, {})).toThrow(/mqtt port/);
  });
  it('BOSUN_MQTT_URL selects an external broker; it must be an MQTT or WebSocket URL', () => {
    const c = resolveServerConfig(base, {
      BOSUN_MQTT_URL: 'mqtt://u:p@broker:1883',
      BOSUN_MQTT_PUBLIC_URL: 'wss://m.example.com/mqtt',
    });
    expect(c).toMatchObject({ mqttUrl: 'mqtt://u:p@broker:1883', mqttPublicUrl: 'wss://m.example.com/mqtt' });
    expect(() => resolveServerConfig(base, { BOSUN_MQTT_URL: 'http://broker' })).toThrow(/BOSUN_MQTT_URL/);
    expect(() => resolveServerConfig({ ...base, mqttPort: '1884' }, { BOSUN_MQTT_URL: 'mqtt://b' })).toThrow(
      /embedded broker/,
    );
  });
  it('credentials in the broker URL are never handed out or logged', () => {
    expect(redactMqttUrl('mqtt://bosun:s3cret@broker.internal:1883')).toBe('mqtt://broker.internal:1883');
    expect(redactMqttUrl('not a url')).not.toContain('not a url');
  });
  it('BOSUN_MQTT_AUTH: none, dynsec or http, for an external broker with the server account in its URL', () => {
    const url = 'mqtt://bosun-server:pw@broker:1883';
    expect(resolveServerConfig(base, { BOSUN_MQTT_URL: url, BOSUN_MQTT_AUTH: 'dynsec' }).mqttAuth).toBe(
      'dynsec',
    );
    expect(() => resolveServerConfig(base, { BOSUN_MQTT_URL: url, BOSUN_MQTT_AUTH: 'acl' })).toThrow(
      /none, dynsec or http/,
    );
    expect(() => resolveServerConfig(base, { BOSUN_MQTT_AUTH: 'dynsec' })).toThrow(/BOSUN_MQTT_URL/);
    expect(() =>
      resolveServerConfig(base, { BOSUN_MQTT_URL: 'mqtt://broker:1883', BOSUN_MQTT_AUTH: 'dynsec' }),
    ).toThrow(/server's broker account/);
    expect(() => resolveServerConfig(base, { BOSUN_MQTT_URL: url, BOSUN_MQTT_AUTH: 'http' })).toThrow(
      /BOSUN_BROKER_AUTH_SECRET/,
    );
    const http = resolveServerConfig(base, {
      BOSUN_MQTT_URL: url,
      BOSUN_MQTT_AUTH: 'http',
      BOSUN_BROKER_AUTH_SECRET: 'a-broker-secret-of-20-chars',
    });
    expect(http).toMatchObject({ mqttAuth: 'http', brokerAuthSecret: 'a-broker-secret-of-20-chars' });
    expect(() =>
      resolveServerConfig(base, {
        BOSUN_MQTT_URL: url,
        BOSUN_MQTT_AUTH: 'http',
        BOSUN_BROKER_AUTH_SECRET: 'a-broker-secret-of-20-chars,short',
      }),
    ).toThrow(/at least 20 characters/);
  });
});
