import { ADMIN_SCOPES } from '@bosun/core';
import { createRepositories } from '@bosun/server';
import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookReceiver } from '../support/webhook-receiver.ts';
import { reliabilityEngines, ServerProcess } from './support/bosun-server.ts';
import { freePort } from './support/ports.ts';

/**
 * Webhook delivery that loses nothing, against the real `bosun server` binary: SIGKILL in the middle
 * of deliveries and a restart, and two replicas sharing one PostgreSQL database. Counts come from the
 * receiver (what actually arrived) and from the outbox (what should have).
 */
const ENV = {
  BOSUN_WEBHOOKS_ALLOW_PRIVATE: '1',
  BOSUN_WEBHOOKS_LEASE_MS: '10000',
  BOSUN_WEBHOOKS_POLL_MS: '50',
  BOSUN_WEBHOOKS_BACKOFF_BASE_MS: '100',
  BOSUN_WEBHOOKS_BATCH: '8',
};

const cleanup: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

async function outboxEventIds(server: ServerProcess, type: string): Promise<string[]> {
  const store = await server.openStore();
  const rows = await store.db.selectFrom('events').select('id').where('type', '=', type).execute();
  return rows.map((r) => r.id).sort();
}

async function deliveredCount(server: ServerProcess): Promise<number> {
  const store = await server.openStore();
  const r = await store.db
    .selectFrom('webhook_deliveries')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('status', '=', 'delivered')
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

async function waitFor(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe.each(reliabilityEngines())('webhooks across crashes (%s)', (engine) => {
  it('SIGKILL mid-delivery, restart: every event is delivered, duplicates only with the same webhook-id', async () => {
    const rx = await new WebhookReceiver().start();
    cleanup.push(() => rx.close());
    // Slow answers, so the kill lands while requests are in flight.
    rx.answer = () => ({ status: 200, delayMs: 1000 });
    const server = new ServerProcess({ engine, port: await freePort(), env: ENV });
    cleanup.push(() => server.destroy());
    await server.start();
    const ep = await server.api('POST', 'webhook_endpoints', {
      url: rx.url,
      event_types: ['device.created'],
    });
    const N = 60;
    for (let i = 0; i < N; i++) await server.api('POST', 'devices', { name: `crash-${i}` });
    await rx.until((all) => all.length >= 10, 'ten deliveries');
    const receivedAtKill = rx.received.length;
    await server.kill('SIGKILL');
    expect(receivedAtKill).toBeLessThan(N);

    await server.start();
    const expected = await outboxEventIds(server, 'device.created');
    expect(expected).toHaveLength(N);
    await waitFor('all delivered', async () => (await deliveredCount(server)) === N);
    await rx.until((all) => new Set(all.map((r) => r.id)).size >= N, 'every event');

    const ids = [...new Set(rx.received.map((r) => r.id))].sort();
    expect(ids).toEqual(expected);
    // A duplicate is the same message again: same webhook-id, same body, valid signature.
    const bodyOf = new Map<string, string>();
    for (const r of rx.received) {
      expect(new Webhook(ep.secret).verify(r.body, r.headers)).toEqual(r.json);
      if (bodyOf.has(r.id)) expect(r.body).toBe(bodyOf.get(r.id));
      bodyOf.set(r.id, r.body);
    }
    const duplicates = rx.received.length - ids.length;
    console.log(
      `[webhooks ${engine}] ${N} events, killed after ${receivedAtKill} arrivals; ${rx.received.length} requests, ${duplicates} duplicates (same webhook-id)`,
    );
  });
});

describe.skipIf(!process.env.BOSUN_TEST_DATABASE_URL)('two replicas on one PostgreSQL', () => {
  it('deliver each event once per attempt: no event is sent by both', async () => {
    const rx = await new WebhookReceiver().start();
    cleanup.push(() => rx.close());
    rx.answer = () => ({ status: 200, delayMs: 5 });
    const a = new ServerProcess({ engine: 'postgres', port: await freePort(), env: ENV });
    cleanup.push(() => a.destroy());
    await a.start();
    const b = new ServerProcess({ engine: 'postgres', port: await freePort(), env: ENV });
    b.database.pgSchema = a.database.pgSchema;
    // b's admin key, in the shared database (bootstrap only creates one in an empty database).
    await createRepositories((await a.openStore()).db).apiKeys.create({
      name: 'replica b',
      scopes: ADMIN_SCOPES,
      secret: b.adminKey,
    });
    cleanup.push(() => b.destroy());
    await b.start();
    const ep = await a.api('POST', 'webhook_endpoints', { url: rx.url, event_types: ['device.*'] });
    const N = 200;
    await Promise.all(
      Array.from({ length: N }, (_, i) => (i % 2 ? a : b).api('POST', 'devices', { name: `replica-${i}` })),
    );
    await waitFor('all delivered', async () => (await deliveredCount(a)) === N);
    const expected = await outboxEventIds(a, 'device.created');
    expect(expected).toHaveLength(N);
    // Every event arrived; each request the receiver got is one recorded attempt (a retry after a
    // failed attempt is legitimate; a send by both replicas for one attempt is not).
    expect([...new Set(rx.received.map((r) => r.id))].sort()).toEqual(expected);
    const store = await a.openStore();
    const attempts = await store.db
      .selectFrom('webhook_attempts')
      .select(['delivery_id', 'status_code', 'error'])
      .execute();
    expect(rx.received.length).toBe(attempts.length);
    expect(attempts.filter((x) => x.status_code === 200)).toHaveLength(N);
    console.log(
      `[webhooks replicas] ${N} events, ${rx.received.length} requests, ${attempts.length} attempts recorded; failed attempts: ${JSON.stringify(attempts.filter((x) => x.status_code !== 200))}`,
    );
    for (const r of rx.received) expect(new Webhook(ep.secret).verify(r.body, r.headers)).toEqual(r.json);
  });
});
