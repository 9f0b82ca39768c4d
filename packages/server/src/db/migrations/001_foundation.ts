import { type Kysely, sql } from 'kysely';
import { columnTypes, type Engine } from '../dialect.ts';

export function foundation(engine: Engine) {
  const t = columnTypes(engine);
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('api_keys')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('key_hash', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('last_used_at', t.timestamp)
        .addColumn('revoked_at', t.timestamp)
        .execute();
      await db.schema
        .createIndex('api_keys_key_hash_key')
        .on('api_keys')
        .column('key_hash')
        .unique()
        .execute();

      await db.schema
        .createTable('config_types')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('slug', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('config_types_slug_key')
        .on('config_types')
        .column('slug')
        .unique()
        .execute();
      await db.schema
        .createIndex('config_types_name_key')
        .on('config_types')
        .column('name')
        .unique()
        .execute();
      await db.schema
        .createIndex('config_types_created_at_idx')
        .on('config_types')
        .columns(['created_at', 'id'])
        .execute();

      await db.schema
        .createTable('devices')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) =>
          c.notNull().check(sql`status in ('inactive', 'activating', 'online', 'offline')`),
        )
        .addColumn('agent_version', 'text')
        .addColumn('last_connected_at', t.timestamp)
        .addColumn('last_disconnected_at', t.timestamp)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('devices_name_key').on('devices').column('name').unique().execute();
      await db.schema
        .createIndex('devices_created_at_idx')
        .on('devices')
        .columns(['created_at', 'id'])
        .execute();

      await db.schema
        .createTable('git_commits')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('sha', 'text', (c) => c.notNull())
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('repository_owner', 'text', (c) => c.notNull())
        .addColumn('repository_name', 'text', (c) => c.notNull())
        .addColumn('repository_type', 'text', (c) =>
          c.notNull().check(sql`repository_type in ('github', 'gitlab', 'bitbucket')`),
        )
        .addColumn('repository_url', 'text', (c) => c.notNull())
        .addColumn('commit_url', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('git_commits_sha_repository_url_key')
        .on('git_commits')
        .columns(['sha', 'repository_url'])
        .unique()
        .execute();
      await db.schema
        .createIndex('git_commits_created_at_idx')
        .on('git_commits')
        .columns(['created_at', 'id'])
        .execute();
    },
  };
}
