import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  answerPings,
  connectDevice,
  createDevice,
  provisionDevice,
} from '../../../test/support/device-agent.ts';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const ping = (id: string, body: unknown, key?: string) => t.api('POST', `devices/${id}/ping`, { body, key });

describe('POST /devices/{id}/ping (embedded broker)', () => {
  it('round trip through MQTT to the agent and back: success with round_trip_nanos', async () => {
    const d = await provisionDevice(t);
    const client = await connectDevice(d.mqttUrl, d);
    await answerPings(client, d.id);
    try {
      const res = await ping(d.id, { timeout_nanos: 5_000_000_000 });
      expect(res.status).toBe(200);
      expect(res.body.code).toBe('success');
      expect(Number.isInteger(res.body.round_trip_nanos)).toBe(true);
      expect(res.body.round_trip_nanos).toBeGreaterThan(0);
      expectReferenceResponse('pingDevice', res.body);
      // Above 10 s is clamped, not refused.
      const clamped = await ping(d.id, { timeout_nanos: 3_600_000_000_000 });
      expect(clamped.status).toBe(200);
      expect(clamped.body.code).toBe('success');
    } finally {
      await client.endAsync();
    }
  });

  it('the ping the agent receives carries a message id and the time it was sent', async () => {
    const d = await provisionDevice(t);
    const client = await connectDevice(d.mqttUrl, d);
    const seen = new Promise<any>((resolve) =>
      client.on('message', (_topic, p) => resolve(JSON.parse(p.toString()))),
    );
    await client.subscribeAsync(`bosun/v1/devices/${d.id}/ping`, { qos: 1 });
    const res = await ping(d.id, { timeout_nanos: 300_000_000 });
    const message = await seen;
    expect(typeof message.message_id).toBe('string');
    expect(Number.isNaN(Date.parse(message.sent_at))).toBe(false);
    // Nobody answered it.
    expect(res.body).toEqual({ code: 'timeout' });
    await client.endAsync();
  });

  it('timeout when the agent is connected but silent, or not connected at all', async () => {
    const silent = await provisionDevice(t);
    const client = await connectDevice(silent.mqttUrl, silent);
    try {
      const res = await ping(silent.id, { timeout_nanos: 200_000_000 });
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ code: 'timeout' });
      expectReferenceResponse('pingDevice', res.body);
    } finally {
      await client.endAsync();
    }
    const never = await createDevice(t);
    expect((await ping(never.id, { timeout_nanos: 100_000_000 })).body).toEqual({ code: 'timeout' });
  });

  it("another device's pong with a stolen message id does not answer the ping", async () => {
    const a = await provisionDevice(t);
    const b = await provisionDevice(t);
    const aClient = await connectDevice(a.mqttUrl, a);
    const bClient = await connectDevice(b.mqttUrl, b);
    try {
      // b answers a's pings on its own pong topic (the only one it may publish on): not a's answer.
      await aClient.subscribeAsync(`bosun/v1/devices/${a.id}/ping`, { qos: 1 });
      aClient.on('message', (_topic, payload) => {
        const { message_id } = JSON.parse(payload.toString());
        bClient.publish(`bosun/v1/devices/${b.id}/pong`, JSON.stringify({ message_id }), { qos: 1 });
      });
      expect((await ping(a.id, { timeout_nanos: 300_000_000 })).body).toEqual({ code: 'timeout' });
    } finally {
      await aClient.endAsync();
      await bClient.endAsync();
    }
  });

  it('timeout_nanos ≤ 0 is 400; non-integers and missing values are 400 naming the field', async () => {
    const d = await createDevice(t);
    for (const value of [0, -1, -10_000_000_000]) {
      const res = await ping(d.id, { timeout_nanos: value });
      expect(res.status, String(value)).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_timeout', params: { field: 'timeout_nanos' } });
    }
    for (const body of [{ timeout_nanos: 1.5 }, { timeout_nanos: '1000' }, {}]) {
      const res = await ping(d.id, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.params.field).toBe('timeout_nanos');
    }
  });

  it('unknown device → 404; needs devices:read', async () => {
    const res = await ping('dvc_missing', { timeout_nanos: 1_000_000 });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('resource_not_found');
    const d = await createDevice(t);
    const denied = await ping(d.id, { timeout_nanos: 1_000_000 }, await t.keyWith('devices:write'));
    expect(denied.status).toBe(403);
    expect(denied.body.error.params.required).toEqual(['devices:read']);
    const allowed = await ping(d.id, { timeout_nanos: 1_000_000 }, await t.keyWith('devices:read'));
    expect(allowed.status).toBe(200);
  });
});
