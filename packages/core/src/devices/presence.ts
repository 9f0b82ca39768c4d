/**
 * A device's shown `status` (docs/decisions.md #24), derived in this one place from what the server
 * recorded: the activation phase, the MQTT connection events and the last agent contact.
 */

export const DEVICE_STATUSES = ['inactive', 'activating', 'online', 'offline'] as const;
export type DeviceStatus = (typeof DEVICE_STATUSES)[number];

/** A device counts as online when its agent was heard from within this window. */
export const ONLINE_WINDOW_MS = 60_000;

export interface PresenceRecord {
  /** Stored phase: `inactive` until activation, `activating` until the first access token, then `online`/`offline`. */
  status: DeviceStatus;
  last_connected_at: string | null;
  last_disconnected_at: string | null;
  /** Last agent API call (or MQTT session start) seen by any replica; a session's end is not contact. */
  last_seen_at?: string | null | undefined;
}

/** True while the last recorded MQTT connection has not been followed by a disconnection. */
export function isConnected(r: PresenceRecord): boolean {
  if (!r.last_connected_at) return false;
  return !r.last_disconnected_at || Date.parse(r.last_connected_at) > Date.parse(r.last_disconnected_at);
}

/**
 * True when a recorded end of session is at least as recent as the last agent contact: the session
 * was closed (a clean stop's DISCONNECT, a last will, a broker-detected loss) and the agent has not
 * been heard from since. Such an end beats the contact window, so a stopped agent is offline at once.
 */
export function sessionEndedSinceContact(
  r: Pick<PresenceRecord, 'last_disconnected_at' | 'last_seen_at'>,
): boolean {
  if (!r.last_disconnected_at) return false;
  return !r.last_seen_at || Date.parse(r.last_disconnected_at) >= Date.parse(r.last_seen_at);
}

/**
 * `inactive` and `activating` are shown as stored. An activated device is `online` while its MQTT
 * session is open; `offline` as soon as that session ends (until the agent is heard from again); and
 * otherwise `online` when its agent was heard from within the last 60 s: an agent that only polls
 * (no push channel) still shows online as long as it polls within a minute.
 */
export function deviceStatus(r: PresenceRecord, now: number): DeviceStatus {
  if (r.status === 'inactive' || r.status === 'activating') return r.status;
  if (isConnected(r)) return 'online';
  if (sessionEndedSinceContact(r)) return 'offline';
  if (r.last_seen_at && now - Date.parse(r.last_seen_at) < ONLINE_WINDOW_MS) return 'online';
  return 'offline';
}

/**
 * Whether an agent API call must be recorded as contact now. Writes are throttled to one per
 * `intervalMs` (enough for the 60 s window, cheap to poll), except right after a session ended:
 * then the first call brings the device back online at once.
 */
export function contactWriteDue(
  r: Pick<PresenceRecord, 'last_disconnected_at' | 'last_seen_at'>,
  now: number,
  intervalMs: number,
): boolean {
  if (!r.last_seen_at || sessionEndedSinceContact(r)) return true;
  return now - Date.parse(r.last_seen_at) >= intervalMs;
}

/** The presence a device was last announced with (`device.online`/`device.offline`); null: never. */
export type AnnouncedPresence = 'online' | 'offline' | null;

export type PresenceEventType = 'device.online' | 'device.offline';

/**
 * When a presence event is due (docs/decisions.md #88): the shown status it announces and the
 * announced presence it replaces. A device is announced `online` when it shows online and was not
 * announced online (never, or offline); `offline` only when it was announced online, so a device
 * never seen online gets no `device.offline`. The server claims an announcement with one conditional
 * update on exactly these conditions, so of several replicas (or a sweep racing a session's end)
 * one emits it.
 */
export const PRESENCE_ANNOUNCEMENTS: Record<
  PresenceEventType,
  { status: 'online' | 'offline'; announced: AnnouncedPresence; replaces: readonly AnnouncedPresence[] }
> = {
  'device.online': { status: 'online', announced: 'online', replaces: [null, 'offline'] },
  'device.offline': { status: 'offline', announced: 'offline', replaces: ['online'] },
};

/** The presence event due for a device showing `status` that was last announced as `announced`, if any. */
export function presenceAnnouncement(
  announced: AnnouncedPresence,
  status: DeviceStatus,
): PresenceEventType | null {
  for (const [type, rule] of Object.entries(PRESENCE_ANNOUNCEMENTS) as [
    PresenceEventType,
    (typeof PRESENCE_ANNOUNCEMENTS)[PresenceEventType],
  ][]) {
    if (rule.status === status && rule.replaces.includes(announced)) return type;
  }
  return null;
}
