import { matchesEventType, newId, type WebhookEventType } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database, WebhookDeliveryTable } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { toDevice } from '../wire/devices.ts';

/** The envelope every webhook carries: the tetons `Event` plus an `id` (`evt_…`). */
export interface EventEnvelope {
  id: string;
  object: 'event';
  type: string;
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * Writes a platform event into the outbox, with one pending delivery per enabled endpoint
 * subscribed to its type. Call it with the transaction of the change it describes: the event then
 * exists exactly when the change does, so a crash can delay a webhook but never lose or invent one.
 */
export async function emitEvent(
  tx: Kysely<Database>,
  type: WebhookEventType,
  data: Record<string, unknown>,
): Promise<string> {
  return (await emitEvents(tx, [{ type, data }]))[0]!;
}

/**
 * `emitEvent` for several events of one change, in three statements whatever their number (the
 * events, the endpoints, their deliveries) instead of two or three per event (docs/decisions.md,
 * #92). Events keep their order in the outbox: same time, inserted in this order.
 */
export async function emitEvents(
  tx: Kysely<Database>,
  events: readonly { type: WebhookEventType; data: Record<string, unknown> }[],
): Promise<string[]> {
  if (!events.length) return [];
  const now = nowIso();
  const rows = events.map((e) => ({
    id: newId('event'),
    type: e.type,
    data: JSON.stringify(e.data),
    created_at: now,
  }));
  await tx.insertInto('events').values(rows).execute();
  const endpoints = await tx
    .selectFrom('webhook_endpoints')
    .select(['id', 'event_types'])
    .where('enabled', '=', 1)
    .execute();
  if (endpoints.length) {
    const subscriptions = endpoints.map((e) => ({ id: e.id, types: JSON.parse(e.event_types) as string[] }));
    const deliveries = rows.flatMap((row) =>
      subscriptions
        .filter((e) => matchesEventType(e.types, row.type))
        .map((e) => newDelivery(e.id, row.id, now)),
    );
    if (deliveries.length) await tx.insertInto('webhook_deliveries').values(deliveries).execute();
  }
  return rows.map((r) => r.id);
}

export function toEnvelope(row: Database['events']): EventEnvelope {
  return {
    id: row.id,
    object: 'event',
    type: row.type,
    timestamp: row.created_at,
    data: JSON.parse(row.data) as Record<string, unknown>,
  };
}

/** `device.online`/`device.offline`: the device as the API renders it right after the change. */
export async function emitDeviceEvent(
  tx: Kysely<Database>,
  type: 'device.online' | 'device.offline',
  deviceId: string,
): Promise<void> {
  const row = await tx.selectFrom('devices').selectAll().where('id', '=', deviceId).executeTakeFirst();
  if (row) await emitEvent(tx, type, { device: toDevice(row) });
}

/** A delivery of `eventId` to `endpointId`, due at once. */
export function newDelivery(endpointId: string, eventId: string, now: string): WebhookDeliveryTable {
  return {
    id: newId('webhookDelivery'),
    endpoint_id: endpointId,
    event_id: eventId,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    first_attempt_at: null,
    lease_until: null,
    last_status_code: null,
    last_error: null,
    delivered_at: null,
    created_at: now,
    updated_at: now,
  };
}
