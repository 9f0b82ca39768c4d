import type { ColumnDataType } from 'kysely';

export type Engine = 'sqlite' | 'postgres';

/** Column types that differ between the engines; everything else is portable SQL. */
export function columnTypes(engine: Engine) {
  return {
    timestamp: (engine === 'postgres' ? 'timestamptz(3)' : 'text') as ColumnDataType,
    json: (engine === 'postgres' ? 'jsonb' : 'text') as ColumnDataType,
    bool: (engine === 'postgres' ? 'boolean' : 'integer') as ColumnDataType,
    bigint: 'bigint' as ColumnDataType,
  };
}
