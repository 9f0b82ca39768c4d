import { describe, expect, it } from 'vitest';
import {
  type AnnouncedPresence,
  DEVICE_STATUSES,
  type DeviceStatus,
  deviceStatus,
  ONLINE_WINDOW_MS,
  type PresenceEventType,
  presenceAnnouncement,
} from '../src/index.ts';

describe('presenceAnnouncement: which presence event is due', () => {
  const table: [AnnouncedPresence, DeviceStatus, PresenceEventType | null][] = [
    [null, 'online', 'device.online'],
    [null, 'offline', null], // never announced online: no offline either
    [null, 'inactive', null],
    [null, 'activating', null],
    ['offline', 'online', 'device.online'],
    ['offline', 'offline', null],
    ['offline', 'inactive', null],
    ['offline', 'activating', null],
    ['online', 'online', null],
    ['online', 'offline', 'device.offline'],
    ['online', 'inactive', null],
    ['online', 'activating', null],
  ];
  it.each(table)('announced %s, shown %s → %s', (announced, status, expected) => {
    expect(presenceAnnouncement(announced, status)).toBe(expected);
  });
  it('the table covers every announced presence with every status', () => {
    for (const announced of [null, 'online', 'offline'] as const)
      for (const status of DEVICE_STATUSES)
        expect(table.filter(([a, s]) => a === announced && s === status)).toHaveLength(1);
  });

  it('a device that stops contacting is announced offline once, and online once when it returns', () => {
    const t0 = Date.parse('2026-06-01T12:00:00.000Z');
    const record = { status: 'online' as const, last_connected_at: null, last_disconnected_at: null };
    let announced: AnnouncedPresence = null;
    const seen: PresenceEventType[] = [];
    // Sweeps every 5 s; contact at t0, silence, contact again at t0 + 120 s (offline again at 180 s).
    for (let s = 0; s < 180; s += 5) {
      const now = t0 + s * 1000;
      const lastSeen = s >= 120 ? t0 + 120_000 : t0;
      const event = presenceAnnouncement(
        announced,
        deviceStatus({ ...record, last_seen_at: new Date(lastSeen).toISOString() }, now),
      );
      if (event) {
        seen.push(event);
        announced = event === 'device.online' ? 'online' : 'offline';
      }
    }
    expect(seen).toEqual(['device.online', 'device.offline', 'device.online']);
    expect(ONLINE_WINDOW_MS).toBe(60_000);
  });
});
