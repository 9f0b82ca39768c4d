import type { ConfigInstanceTable } from '../db/schema.ts';

export function toConfigInstance(row: ConfigInstanceTable & { config_type_name: string }) {
  return {
    object: 'config_instance' as const,
    id: row.id,
    config_type_name: row.config_type_name,
    filepath: row.filepath,
    created_at: row.created_at,
    config_schema_id: row.config_schema_id,
    config_type_id: row.config_type_id,
  };
}
