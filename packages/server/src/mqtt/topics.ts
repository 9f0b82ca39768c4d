/**
 * MQTT topics of docs/agent-protocol.md: everything about a device lives under its own prefix, so an
 * access control list is one prefix check plus the allowed leaves.
 */
export const TOPIC_ROOT = 'bosun/v1/devices/';

export type DeviceTopicLeaf = 'sync' | 'ping' | 'pong' | 'presence';

/** What a device may do on the embedded broker: receive hints and pings, send pongs and presence. */
const DEVICE_SUBSCRIBE: ReadonlySet<string> = new Set(['sync', 'ping']);
const DEVICE_PUBLISH: ReadonlySet<string> = new Set(['pong', 'presence']);

export const topicPrefix = (deviceId: string) => `${TOPIC_ROOT}${deviceId}/`;
export const deviceTopic = (deviceId: string, leaf: DeviceTopicLeaf) => `${topicPrefix(deviceId)}${leaf}`;
/** Server-side subscription to one leaf of every device. */
export const everyDevice = (leaf: DeviceTopicLeaf) => `${TOPIC_ROOT}+/${leaf}`;

/** `bosun/v1/devices/{id}/{leaf}` → its parts; anything else (wildcards included) → null. */
export function parseDeviceTopic(topic: string): { deviceId: string; leaf: string } | null {
  if (!topic.startsWith(TOPIC_ROOT)) return null;
  const rest = topic.slice(TOPIC_ROOT.length).split('/');
  if (rest.length !== 2 || !rest[0] || !rest[1] || /[+#]/.test(topic)) return null;
  return { deviceId: rest[0], leaf: rest[1] };
}

/** The device ACL: exact topics of its own prefix only, never wildcards, never `$SYS`. */
export function deviceMay(deviceId: string, action: 'subscribe' | 'publish', topic: string): boolean {
  const parsed = parseDeviceTopic(topic);
  if (!parsed || parsed.deviceId !== deviceId) return false;
  return (action === 'subscribe' ? DEVICE_SUBSCRIBE : DEVICE_PUBLISH).has(parsed.leaf);
}
