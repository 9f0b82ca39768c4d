import {
  type AnnouncedPresence,
  type DeviceStatus,
  ONLINE_WINDOW_MS,
  PRESENCE_ANNOUNCEMENTS,
  type PresenceEventType,
} from '@bosun/core';
import { type ExpressionBuilder, type Kysely, SqliteAdapter } from 'kysely';
import type { Database } from '../db/schema.ts';
import { emitDeviceEvent } from '../webhooks/events.ts';

type DevicesEb = ExpressionBuilder<Database, 'devices'>;

/**
 * The presence rule of core's `deviceStatus` as a SQL predicate, so the fleet can be filtered and
 * paged by status in the database (10,000+ devices) and presence events claimed in one statement.
 * `fleet-view.test.ts` checks, row by row, that the predicate and `deviceStatus` agree on every
 * combination of presence fields.
 */
export function presenceIs(eb: DevicesEb, status: DeviceStatus, now: number) {
  if (status === 'inactive' || status === 'activating') return eb('devices.status', '=', status);
  const connected = eb.and([
    eb('devices.last_connected_at', 'is not', null),
    eb.or([
      eb('devices.last_disconnected_at', 'is', null),
      eb('devices.last_connected_at', '>', eb.ref('devices.last_disconnected_at')),
    ]),
  ]);
  const endedSinceContact = eb.and([
    eb('devices.last_disconnected_at', 'is not', null),
    eb.or([
      eb('devices.last_seen_at', 'is', null),
      eb('devices.last_disconnected_at', '>=', eb.ref('devices.last_seen_at')),
    ]),
  ]);
  // Null-safe throughout: an unknown comparison would leave a device neither online nor offline.
  const recent = eb.and([
    eb('devices.last_seen_at', 'is not', null),
    eb('devices.last_seen_at', '>', new Date(now - ONLINE_WINDOW_MS).toISOString()),
  ]);
  const online = eb.or([connected, eb.and([eb.not(endedSinceContact), recent])]);
  return eb.and([
    eb('devices.status', 'in', ['online', 'offline']),
    status === 'online' ? online : eb.not(online),
  ]);
}

/** Core's `PRESENCE_ANNOUNCEMENTS` rule for `type` as a predicate: the event is due for this row now. */
export function announcementDue(eb: DevicesEb, type: PresenceEventType, now: number) {
  const rule = PRESENCE_ANNOUNCEMENTS[type];
  const values = rule.replaces.filter((v): v is Exclude<AnnouncedPresence, null> => v !== null);
  const from = [
    ...(rule.replaces.includes(null) ? [eb('devices.presence_announced', 'is', null)] : []),
    ...(values.length ? [eb('devices.presence_announced', 'in', values)] : []),
  ];
  return eb.and([presenceIs(eb, rule.status, now), eb.or(from)]);
}

/**
 * Emits the presence events due now (core `presenceAnnouncement`), in `tx`, for one device or for up
 * to `limit` devices. Each announcement is claimed by a conditional update of `presence_announced`
 * that re-checks the rule on the row as it is when updated: when replicas sweep together, or a sweep
 * races a session's end or an agent's return, exactly one of them emits the event (on PostgreSQL the
 * loser waits for the winner's row lock, then finds the rule no longer holds; candidates a replica is
 * already claiming are skipped). Returns the events emitted.
 */
export async function announcePresence(
  tx: Kysely<Database>,
  scope: { deviceId: string } | { limit: number },
  now = Date.now(),
): Promise<{ type: PresenceEventType; deviceId: string }[]> {
  const emitted: { type: PresenceEventType; deviceId: string }[] = [];
  const sqlite = tx.getExecutor().adapter instanceof SqliteAdapter;
  for (const type of Object.keys(PRESENCE_ANNOUNCEMENTS) as PresenceEventType[]) {
    let ids: string[];
    if ('deviceId' in scope) {
      ids = [scope.deviceId];
    } else {
      ids = (
        await tx
          .selectFrom('devices')
          .select('id')
          .where((eb) => announcementDue(eb, type, now))
          .orderBy('id')
          .limit(scope.limit)
          .$if(!sqlite, (q) => q.forUpdate().skipLocked())
          .execute()
      ).map((r) => r.id);
      if (!ids.length) continue;
    }
    const claimed = await tx
      .updateTable('devices')
      .set({ presence_announced: PRESENCE_ANNOUNCEMENTS[type].announced })
      .where('id', 'in', ids)
      .where((eb) => announcementDue(eb, type, now))
      .returning('id')
      .execute();
    for (const { id } of claimed.sort((a, b) => (a.id < b.id ? -1 : 1))) {
      await emitDeviceEvent(tx, type, id);
      emitted.push({ type, deviceId: id });
    }
  }
  return emitted;
}
