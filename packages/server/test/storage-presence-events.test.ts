import {
  type AnnouncedPresence,
  DEVICE_STATUSES,
  deviceStatus,
  newId,
  PRESENCE_ANNOUNCEMENTS,
  type PresenceEventType,
  presenceAnnouncement,
} from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import { openStore, type Store } from '../src/index.ts';
import { DeviceIdentityStore } from '../src/storage/device-identity.ts';
import { announcementDue } from '../src/storage/presence.ts';

/**
 * Presence events (docs/decisions.md #88): the SQL claim agrees with core's
 * `presenceAnnouncement`, and however replicas race — sweeps on two stores (two connection pools on
 * PostgreSQL), a sweep against a session's end, two replicas seeing the agent come back — each
 * change of presence is announced exactly once.
 */
describe.each(storageEngines())('presence events on %s', (engine) => {
  let store: Store;
  let replica: Store;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
    // A second replica: its own pool on PostgreSQL; SQLite has one writer, so the same store.
    replica =
      engine === 'postgres'
        ? await openStore({ databaseUrl: db.databaseUrl, dataDir: db.dataDir, pgSchema: db.pgSchema })
        : store;
  });
  afterAll(async () => {
    if (replica !== store) await replica?.close();
    await store?.close();
    await db?.destroy();
  });

  const iso = (agoMs: number | null, now = Date.now()) =>
    agoMs === null ? null : new Date(now - agoMs).toISOString();

  async function insertDevices(
    rows: {
      connected?: number | null;
      disconnected?: number | null;
      seen?: number | null;
      announced: AnnouncedPresence;
    }[],
  ): Promise<string[]> {
    const now = Date.now();
    const values = rows.map((r) => ({
      id: newId('device'),
      name: `presence-${newId('device')}`,
      status: 'online' as const,
      agent_version: null,
      last_connected_at: iso(r.connected ?? null, now),
      last_disconnected_at: iso(r.disconnected ?? null, now),
      last_seen_at: iso(r.seen ?? null, now),
      presence_announced: r.announced,
      created_at: iso(0, now)!,
      updated_at: iso(0, now)!,
    }));
    await store.db.insertInto('devices').values(values).execute();
    return values.map((v) => v.id);
  }

  /** The presence events in the outbox, per device id. */
  async function eventsOf(ids: string[]): Promise<Map<string, PresenceEventType[]>> {
    const rows = await store.db
      .selectFrom('events')
      .select(['type', 'data'])
      .where('type', 'in', ['device.online', 'device.offline'])
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const out = new Map<string, PresenceEventType[]>(ids.map((id) => [id, []]));
    for (const r of rows) {
      const id = (JSON.parse(r.data) as { device: { id: string } }).device.id;
      out.get(id)?.push(r.type as PresenceEventType);
    }
    return out;
  }

  it('the SQL claim agrees with presenceAnnouncement on every phase, session, contact and announced presence', async () => {
    const now = Date.now();
    const times = [null, 5_000, 120_000];
    const rows = [];
    for (const status of DEVICE_STATUSES)
      for (const connected of times)
        for (const disconnected of times)
          for (const seen of times)
            for (const announced of [null, 'online', 'offline'] as const)
              rows.push({
                id: newId('device'),
                name: `claim-${newId('device')}`,
                status,
                agent_version: null,
                last_connected_at: iso(connected, now),
                last_disconnected_at: iso(disconnected, now),
                last_seen_at: iso(seen, now),
                presence_announced: announced,
                created_at: iso(0, now)!,
                updated_at: iso(0, now)!,
              });
    await store.db.insertInto('devices').values(rows).execute();
    const ids = rows.map((r) => r.id);
    for (const type of Object.keys(PRESENCE_ANNOUNCEMENTS) as PresenceEventType[]) {
      const found = await store.db
        .selectFrom('devices')
        .select('id')
        .where('id', 'in', ids)
        .where((eb) => announcementDue(eb, type, now))
        .execute();
      const expected = rows.filter(
        (r) => presenceAnnouncement(r.presence_announced, deviceStatus(r, now)) === type,
      );
      expect(found.map((r) => r.id).sort(), type).toEqual(expected.map((r) => r.id).sort());
    }
    await store.db.deleteFrom('devices').where('id', 'in', ids).execute();
  });

  it('racing sweeps on two replicas announce each silent device offline exactly once', async () => {
    // Announced online, heard from 2 minutes ago, no session: offline by the 60 s rule.
    const silent = await insertDevices(
      Array.from({ length: 30 }, () => ({ seen: 120_000, announced: 'online' })),
    );
    // Still in contact, and one never announced: nothing due for the first, online for the second.
    const [fresh, unannounced] = await insertDevices([
      { seen: 1_000, announced: 'online' },
      { seen: 1_000, announced: null },
    ]);
    const a = new DeviceIdentityStore(store.db);
    const b = new DeviceIdentityStore(replica.db);
    const counts = await Promise.all([
      a.sweepPresence(7),
      b.sweepPresence(7),
      a.sweepPresence(7),
      b.sweepPresence(7),
    ]);
    expect(counts.reduce((x, y) => x + y, 0)).toBe(31);
    const events = await eventsOf([...silent, fresh!, unannounced!]);
    for (const id of silent) expect(events.get(id), id).toEqual(['device.offline']);
    expect(events.get(fresh!)).toEqual([]);
    expect(events.get(unannounced!)).toEqual(['device.online']);
    // Nothing is due any more.
    expect(await a.sweepPresence()).toBe(0);
    const offline = await store.db
      .selectFrom('events')
      .select('data')
      .where('type', '=', 'device.offline')
      .execute();
    const payload = offline.map((r) => JSON.parse(r.data).device).find((d) => d.id === silent[0]);
    expect(payload).toMatchObject({ object: 'device', id: silent[0], status: 'offline' });
  });

  it("a session's end racing a sweep, and an agent's return seen by two replicas, announce once each", async () => {
    // An open session that ends now, on one replica, while the other sweeps.
    const sessions = await insertDevices(
      Array.from({ length: 10 }, () => ({ connected: 120_000, seen: 120_000, announced: 'online' as const })),
    );
    const a = new DeviceIdentityStore(store.db);
    const b = new DeviceIdentityStore(replica.db);
    await Promise.all([
      ...sessions.map((id) => a.recordDisconnected(id)),
      b.sweepPresence(3),
      b.sweepPresence(3),
    ]);
    await b.sweepPresence();
    let events = await eventsOf(sessions);
    for (const id of sessions) expect(events.get(id), id).toEqual(['device.offline']);
    // The agent is back (a contact recorded in the same millisecond as the session's end would not
    // count as after it): both replicas record its contact at once, and a sweep runs too.
    await new Promise((r) => setTimeout(r, 5));
    await Promise.all([
      ...sessions.map((id) => a.touch(id, undefined, true)),
      ...sessions.map((id) => b.touch(id, undefined, true)),
      a.sweepPresence(4),
    ]);
    events = await eventsOf(sessions);
    for (const id of sessions) expect(events.get(id), id).toEqual(['device.offline', 'device.online']);
    // A session opening on a device already announced online by contact announces nothing more.
    await Promise.all(sessions.map((id) => b.recordConnected(id, { onlyIfDisconnected: true })));
    events = await eventsOf(sessions);
    for (const id of sessions) expect(events.get(id), id).toEqual(['device.offline', 'device.online']);
  });
});
