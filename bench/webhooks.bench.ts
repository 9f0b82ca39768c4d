/**
 * Webhooks: events delivered per second to a local receiver (signed, one HTTP request per event, the
 * delivery recorded), and the latency a `deployment.validate` call adds to a deployment create.
 * SQLite always; PostgreSQL too when BOSUN_BENCH_DATABASE_URL (or BOSUN_TEST_DATABASE_URL) is set.
 * Knobs: BENCH_WEBHOOK_EVENTS (default 3000), BENCH_VALIDATE_CREATES (200).
 */
import pino from 'pino';
import { WebhookStore } from '../packages/server/src/storage/webhooks.ts';
import { emitEvent } from '../packages/server/src/webhooks/events.ts';
import { DeliveryWorker, webhookOptionsFromEnv } from '../packages/server/src/webhooks/worker.ts';
import { createInstance, createRelease } from '../test/support/deployments.ts';
import { startTestServer, type TestServer } from '../test/support/server.ts';
import type { TestEngine } from '../test/support/store.ts';
import { WebhookReceiver } from '../test/support/webhook-receiver.ts';
import type { Bench, BenchResult } from './run.ts';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 3000);
const CREATES = Number(process.env.BENCH_VALIDATE_CREATES ?? 200);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

async function withServer<T>(
  engine: TestEngine,
  env: Record<string, string>,
  fn: (t: TestServer) => Promise<T>,
) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  if (engine === 'postgres') {
    process.env.BOSUN_TEST_DATABASE_URL =
      process.env.BOSUN_BENCH_DATABASE_URL ?? process.env.BOSUN_TEST_DATABASE_URL;
  }
  let t: TestServer | undefined;
  try {
    t = await startTestServer({ engine });
    return await fn(t);
  } finally {
    await t?.close();
    process.env = saved;
  }
}

/** Writes EVENTS events with no worker running, then times one worker draining them to the receiver. */
async function deliveryRate(engine: TestEngine): Promise<BenchResult[]> {
  return withServer(engine, { BOSUN_WEBHOOKS_ALLOW_PRIVATE: '1', BOSUN_WEBHOOKS_WORKER: '0' }, async (t) => {
    const rx = await new WebhookReceiver().start();
    try {
      const ep = await t.api('POST', 'webhook_endpoints', {
        body: { url: rx.url, event_types: ['webhook.test'] },
      });
      if (ep.status !== 200) throw new Error(ep.text);
      const db = t.server.store.db;
      for (let i = 0; i < EVENTS; i += 100) {
        await db.transaction().execute(async (tx) => {
          for (let j = i; j < Math.min(EVENTS, i + 100); j++) await emitEvent(tx, 'webhook.test', { n: j });
        });
      }
      const store = new WebhookStore(db);
      const worker = new DeliveryWorker(
        store,
        { ...webhookOptionsFromEnv(), allowPrivate: true, pollMs: 10, batch: 64 },
        pino({ level: 'silent' }),
      );
      const started = performance.now();
      worker.start();
      await rx.until((all) => all.length >= EVENTS, 'all events');
      const elapsed = performance.now() - started;
      await worker.stop(30_000);
      const counts = await store.countDeliveries(ep.body.id);
      return [
        {
          metric: `${engine}: events delivered per second`,
          value: Math.round(EVENTS / (elapsed / 1000)),
          unit: 'events/s',
          note: `${EVENTS} events, one worker, batch 64, ${counts.delivered ?? 0} recorded delivered`,
        },
      ];
    } finally {
      await rx.close();
    }
  });
}

/** Median create latency of a release without custom validation and of one with it on. */
async function validatedCreate(engine: TestEngine): Promise<BenchResult[]> {
  return withServer(engine, { BOSUN_WEBHOOKS_ALLOW_PRIVATE: '1' }, async (t) => {
    const judge = await new WebhookReceiver().start();
    judge.answer = () => ({ status: 200, body: { is_valid: true, message: 'ok', config_instances: [] } });
    try {
      await t.api('POST', 'webhook_endpoints', {
        body: { url: judge.url, event_types: ['deployment.validate'] },
      });
      const device = (await t.api('POST', 'devices', { body: { name: 'bench-validate' } })).body;
      const plain = await createRelease(t);
      const checked = await createRelease(t);
      const plainInstance = await createInstance(t, plain);
      const checkedInstance = await createInstance(t, checked);
      await t.api('PUT', `releases/${checked.releaseId}/custom_validation`, { body: { enabled: true } });
      const time = async (releaseId: string, instanceId: string) => {
        const start = performance.now();
        const res = await t.api('POST', 'deployments', {
          body: {
            target_status: 'staged',
            description: 'bench',
            release_id: releaseId,
            device_id: device.id,
            config_instance_ids: [instanceId],
          },
        });
        if (res.status !== 200) throw new Error(res.text);
        return performance.now() - start;
      };
      const a: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < CREATES; i++) {
        a.push(await time(plain.releaseId, plainInstance.id));
        b.push(await time(checked.releaseId, checkedInstance.id));
      }
      if (judge.received.length !== CREATES) throw new Error(`validator saw ${judge.received.length} calls`);
      return [
        { metric: `${engine}: create, no custom validation (median)`, value: round(median(a)), unit: 'ms' },
        { metric: `${engine}: create, validated (median)`, value: round(median(b)), unit: 'ms' },
        {
          metric: `${engine}: added by deployment.validate (median)`,
          value: round(median(b) - median(a)),
          unit: 'ms',
          note: `${CREATES} creates each, local receiver answering at once`,
        },
      ];
    } finally {
      await judge.close();
    }
  });
}

const bench: Bench = {
  name: 'webhooks',
  async run() {
    const engines: TestEngine[] = ['sqlite'];
    if (process.env.BOSUN_BENCH_DATABASE_URL ?? process.env.BOSUN_TEST_DATABASE_URL) engines.push('postgres');
    const out: BenchResult[] = [];
    for (const engine of engines) {
      out.push(...(await deliveryRate(engine)));
      out.push(...(await validatedCreate(engine)));
    }
    return out;
  },
};
export default bench;
