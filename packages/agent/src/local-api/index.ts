export {
  type ConfigChange,
  type ConfigWatch,
  type ConfigWatchOptions,
  getJson,
  onConfigChange,
} from './client.ts';
export { type AgentEvent, EventLog, type EventLogOptions } from './event-log.ts';
export { DEFAULT_SOCKET_PATH, DEVICE_API_VERSION, LocalApi, type LocalApiOptions } from './server.ts';
export type * from './source.ts';
