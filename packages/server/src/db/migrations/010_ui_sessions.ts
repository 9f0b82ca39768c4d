import type { Kysely } from 'kysely';
import { columnTypes, type Engine } from '../dialect.ts';

/**
 * Dashboard sign-in sessions (docs/decisions.md, dashboard section): a cookie stands for an API key.
 * Only hashes of the session token and of its CSRF token are stored; the key's scopes are read from
 * the key on every request, so revoking the key ends its sessions.
 */
export function uiSessions(engine: Engine) {
  const t = columnTypes(engine);
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('ui_sessions')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('csrf_hash', 'text', (c) => c.notNull())
        .addColumn('api_key_id', 'text', (c) => c.notNull().references('api_keys.id').onDelete('cascade'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('last_seen_at', t.timestamp, (c) => c.notNull())
        .addColumn('expires_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('ui_sessions_api_key_id_idx')
        .on('ui_sessions')
        .column('api_key_id')
        .execute();
      await db.schema
        .createIndex('ui_sessions_expires_at_idx')
        .on('ui_sessions')
        .column('expires_at')
        .execute();
    },
  };
}
