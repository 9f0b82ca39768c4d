import type { Kysely } from 'kysely';
import { columnTypes, type Engine } from '../dialect.ts';

/**
 * Device identity and the agent's credentials. Every token is stored as a SHA-256 hash; the
 * plaintext exists only in the response that issued it. `device_jwt_ids` remembers the `jti` of
 * each accepted proof-of-possession JWT until it expires, so a captured JWT cannot be replayed;
 * `agent_reports` remembers report ids so a report resent from the agent's queue changes nothing.
 */
export function agent(engine: Engine) {
  const t = columnTypes(engine);
  return {
    async up(db: Kysely<any>): Promise<void> {
      // Last agent API call or MQTT keep-alive: the 60 s rule of the shown status reads it.
      await db.schema.alterTable('devices').addColumn('last_seen_at', t.timestamp).execute();

      await db.schema
        .createTable('device_identities')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('key_fingerprint', 'text', (c) => c.notNull())
        .addColumn('hostname', 'text')
        .addColumn('activated_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('device_activation_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        // 0/1 on both engines.
        .addColumn('allow_reactivation', 'integer', (c) => c.notNull())
        .addColumn('expires_at', t.timestamp, (c) => c.notNull())
        .addColumn('used_at', t.timestamp)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('device_activation_tokens_device_id_idx')
        .on('device_activation_tokens')
        .column('device_id')
        .execute();

      await db.schema
        .createTable('device_access_tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('expires_at', t.timestamp, (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('device_access_tokens_device_id_idx')
        .on('device_access_tokens')
        .column('device_id')
        .execute();

      await db.schema
        .createTable('device_jwt_ids')
        .addColumn('jti', 'text', (c) => c.primaryKey())
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('expires_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('device_jwt_ids_expires_at_idx')
        .on('device_jwt_ids')
        .column('expires_at')
        .execute();

      await db.schema
        .createTable('agent_reports')
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('report_id', 'text', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id'))
        .addColumn('received_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('agent_reports_pkey', ['device_id', 'report_id'])
        .execute();
    },
  };
}
