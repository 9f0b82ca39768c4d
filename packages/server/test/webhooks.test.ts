import { hostname } from 'node:os';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, createInstance, createRelease } from '../../../test/support/deployments.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { type Received, WebhookReceiver } from '../../../test/support/webhook-receiver.ts';

/**
 * Webhooks over real HTTP: a real server (SQLite, or PostgreSQL with BOSUN_TEST_ENGINE=postgres)
 * delivering to real loopback receivers; every signature is verified with the `standardwebhooks`
 * package, never with our own code.
 */
const ENV = {
  BOSUN_WEBHOOKS_ALLOW_PRIVATE: '1',
  BOSUN_WEBHOOKS_BACKOFF_BASE_MS: '40',
  BOSUN_WEBHOOKS_RETRY_WINDOW_MS: '1500',
  BOSUN_WEBHOOKS_DISABLE_AFTER: '2',
  BOSUN_WEBHOOKS_TIMEOUT_MS: '1000',
  BOSUN_WEBHOOKS_POLL_MS: '25',
};

async function withEnv<T>(env: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const verify = (secret: string, r: Received) =>
  new Webhook(secret).verify(r.body, {
    'webhook-id': r.id,
    'webhook-timestamp': r.timestamp,
    'webhook-signature': r.signature,
  });

async function endpoint(t: TestServer, url: string, event_types: string[], extra: object = {}) {
  const res = await t.api('POST', 'webhook_endpoints', { body: { url, event_types, ...extra } });
  expect(res.status, res.text).toBe(200);
  return res.body as { id: string; secret: string };
}

async function deliveries(t: TestServer, endpointId: string, query = '') {
  const res = await t.api('GET', `webhook_endpoints/${endpointId}/deliveries?limit=100${query}`);
  expect(res.status, res.text).toBe(200);
  return res.body.data as any[];
}

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('webhook endpoints and event delivery', () => {
  let t: TestServer;
  let rx: WebhookReceiver;
  beforeAll(async () => {
    t = await withEnv(ENV, () => startTestServer());
    rx = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });

  it('creates an endpoint with a whsec_ secret shown once; bad input is refused and changes nothing', async () => {
    const ep = await endpoint(t, rx.url, ['device.*'], { description: 'ops' });
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    const got = await t.api('GET', `webhook_endpoints/${ep.id}`);
    const list = await t.api('GET', 'webhook_endpoints');
    for (const text of [got.text, list.text]) expect(text).not.toContain(ep.secret.slice(6));
    expect(got.body).toMatchObject({
      object: 'webhook_endpoint',
      url: rx.url,
      event_types: ['device.*'],
      enabled: true,
    });
    const before = (await t.api('GET', 'webhook_endpoints?expand=total_count')).body.total_count;
    const bad = [
      [{ url: rx.url, event_types: ['device.exploded'] }, 422, 'unknown_event_type'],
      [{ url: rx.url, event_types: [] }, 400, 'invalid_request'],
      [{ url: 'not a url', event_types: ['*'] }, 400, 'invalid_url'],
      [{ url: 'ftp://example.com/x', event_types: ['*'] }, 422, 'url_not_allowed'],
      [{ url: 'https://u:p@example.com/x', event_types: ['*'] }, 422, 'url_not_allowed'],
    ] as const;
    for (const [body, status, code] of bad) {
      const res = await t.api('POST', 'webhook_endpoints', { body });
      expect(res.status, res.text).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect((await t.api('GET', 'webhook_endpoints?expand=total_count')).body.total_count).toBe(before);
    expect((await t.api('GET', 'webhook_endpoints/ep_nope')).status).toBe(404);
    // Scopes: read cannot write, releases cannot read webhooks.
    const reader = await t.keyWith('webhooks:read');
    expect((await t.api('GET', 'webhook_endpoints', { key: reader })).status).toBe(200);
    expect(
      (await t.api('POST', 'webhook_endpoints', { key: reader, body: { url: rx.url, event_types: ['*'] } }))
        .status,
    ).toBe(403);
    expect(
      (await t.api('GET', 'webhook_endpoints', { key: await t.keyWith('releases:manage') })).status,
    ).toBe(403);
    expect((await t.api('DELETE', `webhook_endpoints/${ep.id}`)).body).toEqual({
      object: 'webhook_endpoint',
      id: ep.id,
      deleted: true,
    });
  });

  it('delivers every platform event type, signed per Standard Webhooks, with the resource as the API renders it', async () => {
    const ep = await endpoint(t, rx.url, ['*']);
    const device = (await t.api('POST', 'devices', { body: { name: `wh-${Date.now()}` } })).body;
    const r1 = await createRelease(t);
    const r2 = await createRelease(t);
    const i1 = await createInstance(t, r1);
    const i2 = await createInstance(t, r2);
    const d1 = await createDeployment(t, { deviceId: device.id, release: r1, instanceId: i1.id });
    const staged = await createDeployment(t, {
      deviceId: device.id,
      release: r2,
      instanceId: i2.id,
      target: 'staged',
    });
    // Deploying r1 again drifts the staged deployment and archives d1 (docs/decisions.md #6).
    const d3 = await createDeployment(t, { deviceId: device.id, release: r1, instanceId: i1.id });
    await rx.until((all) => all.some((r) => r.json?.type === 'deployment.drifted'), 'deployment.drifted');
    await rx.until(
      (all) => all.filter((r) => r.json?.type === 'deployment.created').length >= 3,
      'creations',
    );

    for (const r of rx.received) {
      expect(verify(ep.secret, r)).toEqual(r.json);
      expect(r.id).toBe(r.json.id);
      expect(r.id).toMatch(/^evt_/);
      expect(r.json.object).toBe('event');
    }
    const created = rx.ofType('device.created').find((r) => r.json.data.device.id === device.id)!;
    expect(created.json.data.device).toEqual(device);
    const release = (await t.api('GET', `releases/${r1.releaseId}`)).body;
    expect(
      rx.ofType('release.created').find((r) => r.json.data.release.id === r1.releaseId)!.json.data.release,
    ).toEqual(release);
    const instance = (await t.api('GET', `config_instances/${i1.id}`)).body;
    expect(
      rx.ofType('config_instance.created').find((r) => r.json.data.config_instance.id === i1.id)!.json.data
        .config_instance,
    ).toEqual(instance);
    expect(rx.ofType('deployment.created').map((r) => r.json.data.deployment.id)).toEqual(
      expect.arrayContaining([d1.id, staged.id, d3.id]),
    );
    const drifted = rx.ofType('deployment.drifted')[0]!;
    expect(drifted.json.data.deployment).toMatchObject({ id: staged.id, status: 'drifted' });
    const change = rx
      .ofType('deployment.status_changed')
      .find((r) => r.json.data.deployment.id === staged.id)!;
    expect(change.json.data.from.activity_status).toBe('staged');
    expect(change.json.data.to.activity_status).toBe('drifted');
    expect(rx.ofType('deployment.status_changed').some((r) => r.json.data.deployment.id === d1.id)).toBe(
      true,
    );
    // The delivery log shows each event once, delivered, with its attempt.
    const log = await until(
      () => deliveries(t, ep.id),
      (ds) => ds.length > 0 && ds.every((d) => d.status === 'delivered'),
      'all delivered',
    );
    expect(new Set(log.map((d) => d.event_id)).size).toBe(log.length);
    expect(log[0].attempts[0]).toMatchObject({ attempt: 1, status_code: 200, error: null });
    await t.api('DELETE', `webhook_endpoints/${ep.id}`);
  });

  it('an endpoint gets only the event types it subscribed to', async () => {
    const only = await new WebhookReceiver().start();
    try {
      const ep = await endpoint(t, only.url, ['device.created']);
      await t.api('POST', 'devices', { body: { name: `only-${Date.now()}` } });
      await createRelease(t);
      await t.api('POST', `webhook_endpoints/${ep.id}/test`);
      // The test event is addressed to the endpoint itself, whatever it subscribed to; it comes last.
      await only.until((all) => all.some((r) => r.json.type === 'webhook.test'), 'test event');
      await until(
        () => deliveries(t, ep.id),
        (ds) => ds.every((d) => d.status === 'delivered'),
        'delivered',
      );
      expect(only.received.map((r) => r.json.type).sort()).toEqual(['device.created', 'webhook.test']);
      await t.api('DELETE', `webhook_endpoints/${ep.id}`);
    } finally {
      await only.close();
    }
  });

  it('a receiver that is down gets retries with growing backoff ceilings, the same webhook-id, then success', async () => {
    const flaky = await new WebhookReceiver().start();
    try {
      flaky.answer = (_r, n) => (n <= 3 ? { status: 503, body: { down: true } } : { status: 200 });
      const ep = await endpoint(t, flaky.url, ['webhook.test']);
      const test = (await t.api('POST', `webhook_endpoints/${ep.id}/test`)).body;
      await flaky.until((all) => all.length >= 4, 'four attempts');
      const [d] = await until(
        () => deliveries(t, ep.id),
        (ds) => ds[0]?.status === 'delivered',
        'delivered',
      );
      expect(new Set(flaky.received.map((r) => r.id))).toEqual(new Set([test.event_id]));
      for (const r of flaky.received) expect(verify(ep.secret, r)).toEqual(r.json);
      expect(d.attempts.map((a: any) => a.status_code)).toEqual([503, 503, 503, 200]);
      expect(d.attempts[0].response_excerpt).toBe('{"down":true}');
      const delays = d.attempts.slice(0, 3).map((a: any) => a.retry_delay_ms as number);
      // Full jitter: the n-th wait is drawn from [0, base × 2^n]; the ceiling doubles each time.
      for (const [n, delay] of delays.entries()) expect(delay).toBeLessThanOrEqual(40 * 2 ** n);
      // And no attempt came before its wait was over.
      for (let n = 1; n < 4; n++) {
        expect(flaky.received[n]!.at - flaky.received[n - 1]!.at).toBeGreaterThanOrEqual(delays[n - 1]! - 1);
      }
    } finally {
      await flaky.close();
    }
  });

  it('gives up after the retry window, and disables an endpoint after repeated failed deliveries (with an event)', async () => {
    const down = await new WebhookReceiver().start();
    const watcher = await new WebhookReceiver().start();
    try {
      down.answer = () => ({ status: 500 });
      const ep = await endpoint(t, down.url, ['webhook.test']);
      const watch = await endpoint(t, watcher.url, ['webhook_endpoint.*']);
      await t.api('POST', `webhook_endpoints/${ep.id}/test`);
      await t.api('POST', `webhook_endpoints/${ep.id}/test`);
      await watcher.until((all) => all.length > 0, 'disabled event');
      const disabled = watcher.received[0]!;
      expect((verify(watch.secret, disabled) as { type: string }).type).toBe('webhook_endpoint.disabled');
      expect(disabled.json.data.webhook_endpoint.id).toBe(ep.id);
      const got = (await t.api('GET', `webhook_endpoints/${ep.id}`)).body;
      expect(got.enabled).toBe(false);
      expect(got.disabled_reason).toMatch(/2 consecutive failed deliveries/);
      const ds = await deliveries(t, ep.id);
      expect(ds.map((d) => d.status)).toEqual(['failed', 'failed']);
      expect(ds.every((d) => d.attempts.length > 1 && d.attempts.at(-1).retry_delay_ms === null)).toBe(true);
      // A disabled endpoint refuses test events; enabling it clears the reason.
      expect((await t.api('POST', `webhook_endpoints/${ep.id}/test`)).status).toBe(400);
      const enabled = (await t.api('PATCH', `webhook_endpoints/${ep.id}`, { body: { enabled: true } })).body;
      expect(enabled).toMatchObject({ enabled: true, disabled_reason: null });
      // Redeliver a failed delivery once the receiver is back: same webhook-id, delivered.
      down.answer = () => ({ status: 204 });
      const before = down.received.length;
      const redo = await t.api('POST', `webhook_endpoints/${ep.id}/deliveries/${ds[0].id}/redeliver`);
      expect(redo.status, redo.text).toBe(200);
      await until(
        () => deliveries(t, ep.id, `&status=delivered`),
        (x) => x.length === 1,
        'redelivered',
      );
      expect(down.received.at(-1)!.id).toBe(ds[0].event_id);
      expect(down.received.length).toBeGreaterThan(before);
      expect((await t.api('POST', `webhook_endpoints/${ep.id}/deliveries/whd_nope/redeliver`)).status).toBe(
        404,
      );
      await t.api('DELETE', `webhook_endpoints/${watch.id}`);
      await t.api('DELETE', `webhook_endpoints/${ep.id}`);
    } finally {
      await down.close();
      await watcher.close();
    }
  });

  it('after a rotation both the new and the previous secret verify, for 24 h', async () => {
    const r = await new WebhookReceiver().start();
    try {
      const ep = await endpoint(t, r.url, ['webhook.test']);
      const rotated = (await t.api('POST', `webhook_endpoints/${ep.id}/rotate_secret`)).body;
      expect(rotated.secret).toMatch(/^whsec_/);
      expect(rotated.secret).not.toBe(ep.secret);
      await t.api('POST', `webhook_endpoints/${ep.id}/test`);
      await r.until((all) => all.length === 1, 'test event');
      const got = r.received[0]!;
      expect(got.signature.split(' ')).toHaveLength(2);
      expect(verify(rotated.secret, got)).toEqual(got.json);
      expect(verify(ep.secret, got)).toEqual(got.json);
      const row = await t.server.store.db
        .selectFrom('webhook_endpoints')
        .select('previous_secret_expires_at')
        .where('id', '=', ep.id)
        .executeTakeFirstOrThrow();
      const left = Date.parse(row.previous_secret_expires_at!) - Date.now();
      expect(left).toBeGreaterThan(23 * 3_600_000);
      expect(left).toBeLessThanOrEqual(24 * 3_600_000);
      await t.api('DELETE', `webhook_endpoints/${ep.id}`);
    } finally {
      await r.close();
    }
  });
});

describe('SSRF: without BOSUN_WEBHOOKS_ALLOW_PRIVATE', () => {
  let t: TestServer;
  let rx: WebhookReceiver;
  beforeAll(async () => {
    t = await withEnv({ ...ENV, BOSUN_WEBHOOKS_ALLOW_PRIVATE: undefined }, () => startTestServer());
    rx = await new WebhookReceiver().start();
  });
  afterAll(async () => {
    await t?.close();
    await rx?.close();
  });

  it('refuses http, loopback, private, link-local and mapped addresses at create and update', async () => {
    const urls = [
      rx.url,
      'https://127.0.0.1/hook',
      'https://localhost/hook',
      'https://10.1.2.3/hook',
      'https://192.168.1.1/hook',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hook',
      'https://[::ffff:127.0.0.1]/hook',
      'https://[fe80::1]/hook',
    ];
    for (const url of urls) {
      const res = await t.api('POST', 'webhook_endpoints', { body: { url, event_types: ['*'] } });
      expect(res.status, url).toBe(422);
      expect(res.body.error.code).toBe('url_not_allowed');
    }
    const ok = await endpoint(t, 'https://93.184.215.14/hook', ['webhook.test'], { enabled: false });
    const patch = await t.api('PATCH', `webhook_endpoints/${ok.id}`, { body: { url: 'https://10.0.0.1/' } });
    expect(patch.status).toBe(422);
    expect((await t.api('GET', `webhook_endpoints/${ok.id}`)).body.url).toBe('https://93.184.215.14/hook');
  });

  it('checks the resolved address on every attempt: a name that resolves to loopback is never connected to', async () => {
    // Stored directly (as if it had resolved elsewhere when created): the sender must still refuse.
    const port = new URL(rx.url).port;
    const rec = await t.server.app.repos.webhooks.create({
      url: `https://${hostname()}:${port}/hook`,
      description: '',
      event_types: ['webhook.test'],
      enabled: true,
      secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    await t.api('POST', `webhook_endpoints/${rec.id}/test`);
    const [d] = await until(
      () => deliveries(t, rec.id),
      (ds) => ds[0]?.attempts.length >= 2,
      'attempts',
    );
    expect(d.attempts[0].status_code).toBeNull();
    expect(d.attempts[0].error).toMatch(/refused|not a public address/);
    expect(rx.received).toHaveLength(0);
  });
});

describe('deployment.validate', () => {
  let t: TestServer;
  let judge: WebhookReceiver;
  let ep: { id: string; secret: string };
  let device: { id: string };
  beforeAll(async () => {
    t = await withEnv({ ...ENV, BOSUN_WEBHOOKS_TIMEOUT_MS: '300' }, () => startTestServer());
    judge = await new WebhookReceiver().start();
    ep = await endpoint(t, judge.url, ['deployment.validate']);
    device = (await t.api('POST', 'devices', { body: { name: `judge-${Date.now()}` } })).body;
  });
  afterAll(async () => {
    await t?.close();
    await judge?.close();
  });

  const setValidation = (releaseId: string, body: object) =>
    t.api('PUT', `releases/${releaseId}/custom_validation`, { body });
  const deploy = (releaseId: string, instanceId: string) =>
    t.api('POST', 'deployments', {
      body: {
        target_status: 'staged',
        description: 'validated',
        release_id: releaseId,
        device_id: device.id,
        config_instance_ids: [instanceId],
      },
    });
  const countDeployments = async () =>
    (await t.api('GET', `deployments?device_id=${device.id}&expand=total_count`)).body.total_count as number;

  it('is off by default: tetons behaviour, no call', async () => {
    const r = await createRelease(t);
    const i = await createInstance(t, r);
    expect((await t.api('GET', `releases/${r.releaseId}/custom_validation`)).body).toEqual({
      object: 'release_custom_validation',
      release_id: r.releaseId,
      enabled: false,
      fail_open: false,
    });
    const before = judge.received.length;
    expect((await deploy(r.releaseId, i.id)).status).toBe(200);
    expect(judge.received.length).toBe(before);
  });

  it('valid: the deployment is created under the id the validator saw, and the verdict is in its events', async () => {
    const r = await createRelease(t);
    const i = await createInstance(t, r);
    expect((await setValidation(r.releaseId, { enabled: true })).body).toMatchObject({
      enabled: true,
      fail_open: false,
    });
    judge.answer = () => ({
      status: 200,
      body: { is_valid: true, message: 'speed limits ok', config_instances: [] },
    });
    const res = await deploy(r.releaseId, i.id);
    expect(res.status, res.text).toBe(200);
    const call = judge.received.at(-1)!;
    expect(verify(ep.secret, call)).toEqual(call.json);
    expect(call.json).toMatchObject({
      object: 'event',
      type: 'deployment.validate',
      data: {
        deployment: {
          object: 'deployment',
          id: res.body.id,
          device_id: device.id,
          release_id: r.releaseId,
          created_at: res.body.created_at,
        },
      },
    });
    expect(Object.keys(call.json.data.deployment).sort()).toEqual([
      'created_at',
      'device_id',
      'id',
      'object',
      'release_id',
    ]);
    const events = (await t.api('GET', `deployments/${res.body.id}/events`)).body.data;
    expect(events[0].message).toBe(`Custom validation by ${ep.id}: valid (speed limits ok).`);
  });

  it('invalid: 422 with the receiver messages per instance and path, nothing created', async () => {
    const r = await createRelease(t);
    const i = await createInstance(t, r);
    await setValidation(r.releaseId, { enabled: true });
    const verdict = {
      is_valid: false,
      message: 'hospital robots are limited to 2.0 m/s',
      config_instances: [
        {
          id: i.id,
          message: 'too fast',
          parameters: [{ message: 'must be ≤ 2.0', path: ['limits', 'max_speed'] }],
        },
      ],
    };
    judge.answer = () => ({ status: 200, body: verdict });
    const before = await countDeployments();
    const res = await deploy(r.releaseId, i.id);
    expect(res.status, res.text).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'deployment_invalid',
      params: { endpoint_id: ep.id, message: verdict.message, config_instances: verdict.config_instances },
    });
    expect(await countDeployments()).toBe(before);
  });

  it('timeout or non-2xx: 409 deployment_validation_unavailable (fail closed), nothing created; fail open creates and records it', async () => {
    const r = await createRelease(t);
    const i = await createInstance(t, r);
    await setValidation(r.releaseId, { enabled: true });
    const before = await countDeployments();
    judge.answer = () => 'hang';
    const timedOut = await deploy(r.releaseId, i.id);
    expect(timedOut.status, timedOut.text).toBe(409);
    expect(timedOut.body.error.code).toBe('deployment_validation_unavailable');
    expect(timedOut.body.error.params.reason).toMatch(/timeout/);
    judge.answer = () => ({ status: 500, body: {} });
    const broken = await deploy(r.releaseId, i.id);
    expect(broken.status).toBe(409);
    expect(broken.body.error.params.reason).toBe('HTTP 500');
    judge.answer = () => ({ status: 200, body: { verdict: 'yes' } });
    expect((await deploy(r.releaseId, i.id)).status).toBe(409);
    expect(await countDeployments()).toBe(before);

    expect((await setValidation(r.releaseId, { enabled: true, fail_open: true })).body.fail_open).toBe(true);
    judge.answer = () => 'hang';
    const open = await deploy(r.releaseId, i.id);
    expect(open.status, open.text).toBe(200);
    const events = (await t.api('GET', `deployments/${open.body.id}/events`)).body.data;
    expect(events[0].message).toMatch(
      /no verdict \(timeout after 300 ms\); created because the release fails open/,
    );
    // Turning it off restores the tetons behaviour.
    await setValidation(r.releaseId, { enabled: false });
    const calls = judge.received.length;
    expect((await deploy(r.releaseId, i.id)).status).toBe(200);
    expect(judge.received.length).toBe(calls);
  });

  it('setting custom validation needs releases:write and an existing release', async () => {
    const r = await createRelease(t);
    const reader = await t.keyWith('releases:read');
    expect(
      (
        await t.api('PUT', `releases/${r.releaseId}/custom_validation`, {
          key: reader,
          body: { enabled: true },
        })
      ).status,
    ).toBe(403);
    expect((await setValidation('rls_nope', { enabled: true })).status).toBe(404);
    expect((await setValidation(r.releaseId, { enabled: 'yes' })).status).toBe(400);
    expect((await t.api('GET', `releases/${r.releaseId}/custom_validation`)).body.enabled).toBe(false);
  });
});
