import { deviceStatus } from '@bosun/core';
import type { DeviceTable } from '../db/schema.ts';

export function toDevice(row: DeviceTable) {
  return {
    object: 'device' as const,
    id: row.id,
    name: row.name,
    // Online/offline is derived from presence at read time (the 60 s rule lives in core).
    status: deviceStatus(row, Date.now()),
    agent_version: row.agent_version,
    last_connected_at: row.last_connected_at,
    last_disconnected_at: row.last_disconnected_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
