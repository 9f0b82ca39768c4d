import { type Kysely, sql } from 'kysely';
import type { Engine } from '../dialect.ts';

/**
 * Presence events from the no-contact rule and pruning of the event outbox (docs/decisions.md
 * #88 and #89). `devices.presence_announced` is the presence last announced by a
 * `device.online`/`device.offline` event; replicas claim an announcement by a conditional update of
 * it. Activated devices start from the presence they show now, so the upgrade announces nothing by
 * itself. The index on `event_id` lets the pruner ask whether any delivery still refers to an event;
 * delivered deliveries are found by age through the existing `(status, next_attempt_at)` index, so
 * recording an attempt updates no new index.
 */
export function presenceEventsRetention(_engine: Engine) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('devices').addColumn('presence_announced', 'text').execute();
      // The presence rule of that day (session open, or contact within 60 s and no session ended since).
      const recent = new Date(Date.now() - 60_000).toISOString();
      await sql`
        update devices set presence_announced = case
          when (last_connected_at is not null
                and (last_disconnected_at is null or last_connected_at > last_disconnected_at))
            or (last_seen_at is not null and last_seen_at > ${recent}
                and not (last_disconnected_at is not null and last_disconnected_at >= last_seen_at))
          then 'online' else 'offline' end
        where status in ('online', 'offline')`.execute(db);
      await db.schema
        .createIndex('webhook_deliveries_event_id_idx')
        .on('webhook_deliveries')
        .column('event_id')
        .execute();
    },
  };
}
