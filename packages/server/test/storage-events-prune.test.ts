import { newId } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import type { WebhookDeliveryTable } from '../src/db/schema.ts';
import { openStore, type Store } from '../src/index.ts';
import { WebhookStore } from '../src/storage/webhooks.ts';
import { pruneOutbox } from '../src/webhooks/prune.ts';
import { EVENT_RETENTION_DAYS, eventRetentionMs, webhookOptionsFromEnv } from '../src/webhooks/worker.ts';

/**
 * Pruning of the event outbox (docs/decisions.md #89): events and delivered deliveries past
 * the retention go, in batches; a delivery not delivered (pending or failed) is never pruned, nor the
 * event it delivers. Two replicas pruning at once remove each row once, without errors.
 */
const DAY = 86_400_000;
const RETENTION = 30 * DAY;

describe.each(storageEngines())('event outbox pruning on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

  async function world() {
    const webhooks = new WebhookStore(store.db);
    const endpoint = () =>
      webhooks.create({
        url: 'http://127.0.0.1:9/hook',
        description: 'prune',
        event_types: ['*'],
        enabled: true,
        secret: 'whsec_x',
      });
    const [ep1, ep2] = [await endpoint(), await endpoint()];
    const event = async (ageMs: number) => {
      const id = newId('event');
      await store.db
        .insertInto('events')
        .values({ id, type: 'webhook.test', data: '{}', created_at: ago(ageMs) })
        .execute();
      return id;
    };
    const delivery = async (
      eventId: string,
      status: WebhookDeliveryTable['status'],
      deliveredAgoMs: number | null,
      attempts = 1,
      endpointId = ep1.id,
    ) => {
      const id = newId('webhookDelivery');
      await store.db
        .insertInto('webhook_deliveries')
        .values({
          id,
          endpoint_id: endpointId,
          event_id: eventId,
          status,
          attempts,
          next_attempt_at: ago(40 * DAY),
          first_attempt_at: ago(40 * DAY),
          lease_until: null,
          last_status_code: status === 'delivered' ? 200 : 500,
          last_error: null,
          delivered_at: deliveredAgoMs === null ? null : ago(deliveredAgoMs),
          created_at: ago(40 * DAY),
          updated_at: ago(40 * DAY),
        })
        .execute();
      for (let n = 1; n <= attempts; n++)
        await store.db
          .insertInto('webhook_attempts')
          .values({
            id: newId('webhookAttempt'),
            delivery_id: id,
            attempt: n,
            started_at: ago(40 * DAY),
            status_code: 200,
            latency_ms: 3,
            response_excerpt: null,
            error: null,
            retry_delay_ms: null,
          })
          .execute();
      return id;
    };
    return { webhooks, event, delivery, ep1, ep2 };
  }

  const exists = async (table: 'events' | 'webhook_deliveries', id: string) =>
    (await store.db.selectFrom(table).select('id').where('id', '=', id).executeTakeFirst()) !== undefined;

  it('prunes old events and delivered deliveries in batches; never a delivery not delivered, nor its event', async () => {
    const { webhooks, event, delivery, ep1, ep2 } = await world();
    const oldDelivered = await event(40 * DAY);
    const oldDeliveredD = await delivery(oldDelivered, 'delivered', 39 * DAY, 2);
    const oldPending = await event(40 * DAY);
    const oldPendingD = await delivery(oldPending, 'pending', null, 3);
    const oldFailed = await event(40 * DAY);
    const oldFailedD = await delivery(oldFailed, 'failed', null, 17);
    const oldMixed = await event(40 * DAY);
    const oldMixedDelivered = await delivery(oldMixed, 'delivered', 39 * DAY);
    const oldMixedPending = await delivery(oldMixed, 'pending', null, 1, ep2.id);
    const redelivered = await event(40 * DAY);
    const redeliveredD = await delivery(redelivered, 'delivered', DAY);
    const recent = await event(DAY);
    const recentD = await delivery(recent, 'delivered', DAY);
    const unsubscribed: string[] = [];
    for (let i = 0; i < 25; i++) unsubscribed.push(await event(31 * DAY));

    const result = await pruneOutbox(webhooks, { retentionMs: RETENTION, batch: 10 });
    // Deliveries first (2: one batch), then events (1 + 25 = 26: three batches of at most 10).
    expect(result).toEqual({ deliveries: 2, events: 26, batches: 4 });
    for (const id of [oldDeliveredD, oldMixedDelivered])
      expect(await exists('webhook_deliveries', id)).toBe(false);
    for (const id of [oldDelivered, ...unsubscribed]) expect(await exists('events', id)).toBe(false);
    const attemptsLeft = await store.db
      .selectFrom('webhook_attempts')
      .select('delivery_id')
      .where('delivery_id', 'in', [oldDeliveredD, oldMixedDelivered])
      .execute();
    expect(attemptsLeft).toEqual([]);
    // Kept: undelivered deliveries and their events, a delivery redelivered recently, recent ones.
    for (const id of [oldPendingD, oldFailedD, oldMixedPending, redeliveredD, recentD])
      expect(await exists('webhook_deliveries', id), id).toBe(true);
    for (const id of [oldPending, oldFailed, oldMixed, redelivered, recent])
      expect(await exists('events', id), id).toBe(true);
    const failedAttempts = await store.db
      .selectFrom('webhook_attempts')
      .select('id')
      .where('delivery_id', '=', oldFailedD)
      .execute();
    expect(failedAttempts).toHaveLength(17);
    // The log of the kept deliveries still reads (the event is there to join).
    expect((await webhooks.delivery(ep1.id, oldPendingD))?.status).toBe('pending');
    // Nothing more to do; retention 0 keeps everything.
    expect(await pruneOutbox(webhooks, { retentionMs: RETENTION, batch: 10 })).toEqual({
      deliveries: 0,
      events: 0,
      batches: 0,
    });
    expect(
      await pruneOutbox(webhooks, { retentionMs: 0, batch: 10 }, () => false, Date.now() + 400 * DAY),
    ).toEqual({
      deliveries: 0,
      events: 0,
      batches: 0,
    });
    // Once the pending delivery is delivered and old, it and its event go too.
    await store.db
      .updateTable('webhook_deliveries')
      .set({ status: 'delivered', delivered_at: ago(35 * DAY) })
      .where('id', '=', oldPendingD)
      .execute();
    expect(await pruneOutbox(webhooks, { retentionMs: RETENTION, batch: 10 })).toMatchObject({
      deliveries: 1,
      events: 1,
    });
    expect(await exists('events', oldPending)).toBe(false);
  });

  it('stops between batches when the server is closing', async () => {
    const { webhooks, event } = await world();
    for (let i = 0; i < 6; i++) await event(31 * DAY);
    let batches = 0;
    const r = await pruneOutbox(webhooks, { retentionMs: RETENTION, batch: 2 }, () => batches++ >= 1);
    expect(r).toEqual({ deliveries: 0, events: 2, batches: 1 });
    expect((await pruneOutbox(webhooks, { retentionMs: RETENTION, batch: 2 })).events).toBe(4);
  });

  it('two replicas pruning at once remove each row once', async () => {
    const { event, delivery } = await world();
    const events: string[] = [];
    for (let i = 0; i < 40; i++) {
      const e = await event(31 * DAY);
      events.push(e);
      if (i % 2 === 0) await delivery(e, 'delivered', 31 * DAY);
    }
    const other =
      engine === 'postgres'
        ? await openStore({ databaseUrl: db.databaseUrl, dataDir: db.dataDir, pgSchema: db.pgSchema })
        : store;
    try {
      const results = await Promise.all([
        pruneOutbox(new WebhookStore(store.db), { retentionMs: RETENTION, batch: 5 }),
        pruneOutbox(new WebhookStore(other.db), { retentionMs: RETENTION, batch: 5 }),
      ]);
      expect(results.reduce((n, r) => n + r.deliveries, 0)).toBe(20);
      expect(results.reduce((n, r) => n + r.events, 0)).toBe(40);
      const left = await store.db.selectFrom('events').select('id').where('id', 'in', events).execute();
      expect(left).toEqual([]);
    } finally {
      if (other !== store) await other.close();
    }
  });
});

describe('BOSUN_EVENTS_RETENTION_DAYS', () => {
  it.each([
    [undefined, EVENT_RETENTION_DAYS * DAY],
    ['', EVENT_RETENTION_DAYS * DAY],
    ['7', 7 * DAY],
    ['0.5', DAY / 2],
    ['0', 0],
  ])('%j → %d ms', (text, ms) => {
    expect(eventRetentionMs(text)).toBe(ms);
  });
  it.each(['-1', 'forever', '1e400'])('refuses %j, so the server does not start', (text) => {
    expect(() => eventRetentionMs(text)).toThrow(/BOSUN_EVENTS_RETENTION_DAYS must be a number of days/);
    // The options every app builds its webhooks from (installWebhooks).
    expect(() => webhookOptionsFromEnv({ BOSUN_EVENTS_RETENTION_DAYS: text })).toThrow(
      /BOSUN_EVENTS_RETENTION_DAYS/,
    );
  });
});
