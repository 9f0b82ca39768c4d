import { newId } from '@bosun/core';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, provisionDevice } from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { type Received, WebhookReceiver } from '../../../test/support/webhook-receiver.ts';
import { seedDeploymentWorld } from './support-deployments.ts';

/**
 * Rollout events and presence events over real HTTP (docs/decisions.md #87 and #88): a
 * real server (SQLite, or PostgreSQL with BOSUN_TEST_ENGINE=postgres), its real rollout driver,
 * presence sweep and delivery worker, a real loopback receiver verifying signatures with the
 * `standardwebhooks` package, and a device activated and polling over the agent API.
 */
const ENV = { BOSUN_WEBHOOKS_ALLOW_PRIVATE: '1', BOSUN_WEBHOOKS_POLL_MS: '25' };

let t: TestServer;
beforeAll(async () => {
  const saved = Object.fromEntries(Object.keys(ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, ENV);
  try {
    t = await startTestServer();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
afterAll(async () => {
  await t?.close();
});

const ok = async (method: string, path: string, body?: unknown) => {
  const res = await t.api(method, path, body === undefined ? {} : { body });
  expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
  return res.body;
};
async function until<T>(what: string, fn: () => Promise<T | undefined | false | null>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

async function subscribe(url: string, event_types: string[]) {
  return (await ok('POST', 'webhook_endpoints', { url, event_types })) as { id: string; secret: string };
}

/** Waits until every delivery of the endpoint is delivered, so the receiver has all there will be. */
async function allDelivered(endpointId: string) {
  return until('every delivery delivered', async () => {
    const log = await ok('GET', `webhook_endpoints/${endpointId}/deliveries?limit=100`);
    return (log.data as any[]).every((d) => d.status === 'delivered') && log.data;
  });
}

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': r.id,
    'webhook-timestamp': r.timestamp,
    'webhook-signature': r.signature,
  });

describe('rollout events', () => {
  let rx: WebhookReceiver;
  let ep: { id: string; secret: string };
  beforeAll(async () => {
    rx = await new WebhookReceiver().start();
    ep = await subscribe(rx.url, ['rollout.*']);
  });
  afterAll(async () => {
    await rx?.close();
  });

  const report = (id: string, r: object) =>
    t.server.app.repos.deployments.report(id, r, { type: 'agent', id: 'agent' });
  const ofRollout = (id: string) => rx.received.filter((r) => r.json.data.rollout.id === id);
  const deploymentsOf = async (id: string, n: number) =>
    until(`${n} deployments`, async () => {
      const r = await ok('GET', `rollouts/${id}?expand=deployments`);
      return r.deployments.length >= n && (r.deployments as any[]);
    });

  it('created, paused (with the reason), resumed, wave_started, completed: each once, signed, with the rollout as the API renders it', async () => {
    const w = await seedDeploymentWorld(t.server.app.store.db, { devices: 3 });
    const created = await ok('POST', 'rollouts', {
      description: 'v2 to three robots',
      release_id: w.v2,
      plan: { config_instance_ids: [w.I3, w.I2] },
      selection: { device_ids: w.devices },
      strategy: { waves: [{ devices: 1 }, { percent: 100 }], max_failure_ratio: 0 },
      auto_rollback: false,
    });
    const [canary] = await deploymentsOf(created.id, 1);
    await report(canary.id, { error_status: 'failed', message: 'unwritable', attempts: 3 });
    const paused = await until('paused', async () => {
      const r = await ok('GET', `rollouts/${created.id}`);
      return r.status === 'paused' && r;
    });
    // A refused action changes nothing and emits nothing.
    expect((await t.api('POST', `rollouts/${created.id}/pause`, { body: {} })).status).toBe(409);
    await ok('POST', `rollouts/${created.id}/resume`, {});
    const retry = await until('the canary again', async () => {
      const ds = await deploymentsOf(created.id, 1);
      return ds.find((d) => d.id !== canary.id);
    });
    await report(retry.id, { activity_status: 'deployed' });
    const wave2 = (await deploymentsOf(created.id, 3)).filter((d) => d.device_id !== canary.device_id);
    for (const d of wave2) await report(d.id, { activity_status: 'deployed' });
    const done = await until('completed', async () => {
      const r = await ok('GET', `rollouts/${created.id}`);
      return r.status === 'completed' && r;
    });
    await rx.until((all) => all.some((r) => r.json?.type === 'rollout.completed'), 'rollout.completed');
    await allDelivered(ep.id);

    const mine = ofRollout(created.id);
    for (const r of mine) {
      expect(verify(ep.secret, r)).toEqual(r.json);
      expect(r.id).toBe(r.json.id);
    }
    const byTime = [...mine].sort((a, b) => a.json.timestamp.localeCompare(b.json.timestamp));
    expect(byTime.map((r) => r.json.type)).toEqual([
      'rollout.created',
      'rollout.paused',
      'rollout.resumed',
      'rollout.wave_started',
      'rollout.completed',
    ]);
    const of = (type: string) => mine.find((r) => r.json.type === type)!.json.data;
    expect(of('rollout.created').rollout).toMatchObject({
      id: created.id,
      status: 'running',
      current_wave: 1,
      counts: created.counts,
      waves: created.waves,
    });
    expect(of('rollout.paused')).toMatchObject({
      reason: paused.status_reason,
      rollout: { status: 'paused', status_reason: paused.status_reason, counts: { failed: 1 } },
    });
    expect(paused.status_reason).toContain('Wave 1: 1 of 1 devices failed');
    expect(of('rollout.resumed').rollout).toMatchObject({ status: 'running', status_reason: null });
    expect(of('rollout.wave_started')).toMatchObject({ wave: 2, rollout: { current_wave: 2 } });
    // Nothing changes after completion: the event carries exactly what GET answers.
    expect(of('rollout.completed').rollout).toEqual(done);
    // Only rollout events reached this endpoint.
    expect(rx.received.every((r) => r.json.type.startsWith('rollout.'))).toBe(true);
  });

  it('aborted, with the reason', async () => {
    const w = await seedDeploymentWorld(t.server.app.store.db, { devices: 2 });
    const created = await ok('POST', 'rollouts', {
      description: 'to abort',
      release_id: w.v2,
      plan: { config_instance_ids: [w.I3, w.I2] },
      selection: { device_ids: w.devices },
      strategy: { waves: [{ devices: 1 }, { percent: 100 }] },
    });
    await deploymentsOf(created.id, 1);
    const aborted = await ok('POST', `rollouts/${created.id}/abort`, { reason: 'wrong release' });
    await rx.until(
      () => ofRollout(created.id).some((r) => r.json.type === 'rollout.aborted'),
      'rollout.aborted',
    );
    await allDelivered(ep.id);
    expect(
      ofRollout(created.id)
        .map((r) => r.json.type)
        .sort(),
    ).toEqual(['rollout.aborted', 'rollout.created']);
    const data = ofRollout(created.id).find((r) => r.json.type === 'rollout.aborted')!.json.data;
    expect(data.reason).toBe('wrong release');
    expect(data.rollout).toEqual(aborted);
  });
});

describe('device.offline from the no-contact rule', () => {
  let rx: WebhookReceiver;
  let ep: { id: string; secret: string };
  beforeAll(async () => {
    rx = await new WebhookReceiver().start();
    ep = await subscribe(rx.url, ['device.*']);
  });
  afterAll(async () => {
    await rx?.close();
  });

  const presenceOf = (deviceId: string) =>
    rx.received
      .filter((r) => r.json.type !== 'device.created' && r.json.data.device.id === deviceId)
      .sort((a, b) => a.json.timestamp.localeCompare(b.json.timestamp))
      .map((r) => r.json.type);

  /** The 60 s window passes without contact: the last contact moved back beyond it. */
  const silence = (deviceId: string) =>
    t.server.app.store.db
      .updateTable('devices')
      .set({ last_seen_at: new Date(Date.now() - 61_000).toISOString() })
      .where('id', '=', deviceId)
      .execute();

  it('a device that stops contacting gets exactly one device.offline (several sweeps), and device.online when it is back', async () => {
    const device = await provisionDevice(t);
    // Activation and its first access token are contact: announced online once.
    await rx.until(() => presenceOf(device.id).includes('device.online'), 'device.online');
    expect((await device.api('GET', '/state')).status).toBe(200);

    await silence(device.id);
    expect((await ok('GET', `devices/${device.id}`)).status).toBe('offline');
    const sweep = t.server.app.presenceSweep;
    await Promise.all([sweep.runNow(), sweep.runNow(), t.server.app.repos.deviceIdentity.sweepPresence()]);
    await sweep.runNow();
    await rx.until(() => presenceOf(device.id).includes('device.offline'), 'device.offline');
    await allDelivered(ep.id);
    expect(presenceOf(device.id)).toEqual(['device.online', 'device.offline']);
    const offline = rx.ofType('device.offline').find((r) => r.json.data.device.id === device.id)!;
    expect(verify(ep.secret, offline)).toEqual(offline.json);
    expect(offline.json.data.device).toMatchObject({ object: 'device', id: device.id, status: 'offline' });

    // The agent polls again: online at once, once.
    expect((await device.api('GET', '/state')).status).toBe(200);
    expect((await ok('GET', `devices/${device.id}`)).status).toBe('online');
    await sweep.runNow();
    expect((await device.api('GET', '/state')).status).toBe(200);
    await rx.until(() => presenceOf(device.id).length === 3, 'device.online again');
    await sweep.runNow();
    await allDelivered(ep.id);
    expect(presenceOf(device.id)).toEqual(['device.online', 'device.offline', 'device.online']);
    const outbox = await t.server.app.store.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('type', 'in', ['device.online', 'device.offline'])
      .execute();
    expect(outbox.filter((e) => JSON.parse(e.data).device.id === device.id)).toHaveLength(3);
  });

  it('a push session that ends is announced offline once: its opening and later sweeps add nothing', async () => {
    const device = await provisionDevice(t);
    await rx.until(() => presenceOf(device.id).includes('device.online'), 'device.online');
    const client = await connectDevice(device.mqttUrl, device);
    await until('session recorded', async () => (await ok('GET', `devices/${device.id}`)).last_connected_at);
    await client.endAsync();
    await rx.until(() => presenceOf(device.id).includes('device.offline'), 'device.offline');
    await silence(device.id);
    for (let i = 0; i < 3; i++) await t.server.app.presenceSweep.runNow();
    await allDelivered(ep.id);
    expect(presenceOf(device.id)).toEqual(['device.online', 'device.offline']);
  });
});

describe('outbox retention in the running server', () => {
  it('the pruning job removes events past the default 30 days and keeps a delivery not delivered', async () => {
    const db = t.server.app.store.db;
    const old = new Date(Date.now() - 31 * 86_400_000).toISOString();
    const ep = await subscribe('http://127.0.0.1:9/retention', ['webhook.test']);
    const events = [newId('event'), newId('event')];
    await db
      .insertInto('events')
      .values(events.map((id) => ({ id, type: 'webhook.test', data: '{}', created_at: old })))
      .execute();
    const pending = newId('webhookDelivery');
    await db
      .insertInto('webhook_deliveries')
      .values({
        id: pending,
        endpoint_id: ep.id,
        event_id: events[1]!,
        status: 'pending',
        attempts: 3,
        // Not due for a while: the worker leaves it alone during the test.
        next_attempt_at: new Date(Date.now() + 3_600_000).toISOString(),
        first_attempt_at: old,
        lease_until: null,
        last_status_code: 503,
        last_error: null,
        delivered_at: null,
        created_at: old,
        updated_at: old,
      })
      .execute();
    await t.server.app.webhooks.pruner.runNow();
    const left = await db.selectFrom('events').select('id').where('id', 'in', events).execute();
    expect(left.map((e) => e.id)).toEqual([events[1]]);
    const log = await ok('GET', `webhook_endpoints/${ep.id}/deliveries`);
    expect(log.data.map((d: any) => d.id)).toEqual([pending]);
  });
});
