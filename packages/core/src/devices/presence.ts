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
  /** Last agent API call or MQTT keep-alive seen by any replica. */
  last_seen_at?: string | null | undefined;
}

/** True while the last recorded MQTT connection has not been followed by a disconnection. */
export function isConnected(r: PresenceRecord): boolean {
  if (!r.last_connected_at) return false;
  return !r.last_disconnected_at || Date.parse(r.last_connected_at) > Date.parse(r.last_disconnected_at);
}

/**
 * `inactive` and `activating` are shown as stored. An activated device is `online` while its MQTT
 * session is open or when its agent was heard from within the last 60 s, and `offline` otherwise:
 * an agent that only polls (no push channel) still shows online as long as it polls within a minute.
 */
export function deviceStatus(r: PresenceRecord, now: number): DeviceStatus {
  if (r.status === 'inactive' || r.status === 'activating') return r.status;
  if (isConnected(r)) return 'online';
  if (r.last_seen_at && now - Date.parse(r.last_seen_at) < ONLINE_WINDOW_MS) return 'online';
  return 'offline';
}
