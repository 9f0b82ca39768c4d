import type { Kysely } from 'kysely';
import { columnTypes, type Engine } from '../dialect.ts';

/**
 * Fleet operations (docs/decisions.md, section fleet): per-deployment settings and the link between a
 * failed deployment and its rollback; groups (a tree) with at most one group per device, and
 * key/value tags; rollouts with their per-device targets and their own event history. Rollout
 * drivers on several replicas claim a rollout through `lease_owner`/`lease_until` in the row.
 */
export function fleet(engine: Engine) {
  const t = columnTypes(engine);
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('deployment_settings')
        .addColumn('deployment_id', 'text', (c) => c.primaryKey().references('deployments.id'))
        // null: follow the server (and the rollout); 0/1 otherwise.
        .addColumn('auto_rollback', 'integer')
        .addColumn('rollout_id', 'text')
        .execute();

      await db.schema
        .createTable('deployment_rollbacks')
        .addColumn('deployment_id', 'text', (c) => c.primaryKey().references('deployments.id'))
        .addColumn('failed_deployment_id', 'text', (c) => c.notNull().unique().references('deployments.id'))
        .addColumn('restored_deployment_id', 'text', (c) => c.notNull().references('deployments.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('groups')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('parent_id', 'text', (c) => c.references('groups.id'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('groups_parent_id_idx').on('groups').column('parent_id').execute();

      // A device belongs to at most one group: the device is the key.
      await db.schema
        .createTable('group_members')
        .addColumn('device_id', 'text', (c) => c.primaryKey().references('devices.id'))
        .addColumn('group_id', 'text', (c) => c.notNull().references('groups.id'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('group_members_group_id_idx')
        .on('group_members')
        .column('group_id')
        .execute();

      await db.schema
        .createTable('device_tags')
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('device_tags_pkey', ['device_id', 'key'])
        .execute();
      await db.schema
        .createIndex('device_tags_key_value_idx')
        .on('device_tags')
        .columns(['key', 'value'])
        .execute();

      await db.schema
        .createTable('rollouts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
        .addColumn('plan', 'text', (c) => c.notNull())
        .addColumn('selector', 'text', (c) => c.notNull())
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('status_reason', 'text')
        .addColumn('auto_rollback', 'integer')
        .addColumn('current_wave', 'integer', (c) => c.notNull())
        .addColumn('wave_started_at', t.timestamp)
        .addColumn('soak_until', t.timestamp)
        .addColumn('lease_owner', 'text')
        .addColumn('lease_until', t.timestamp)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema.createIndex('rollouts_status_idx').on('rollouts').column('status').execute();

      await db.schema
        .createTable('rollout_targets')
        .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('wave', 'integer', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.references('deployments.id'))
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .addPrimaryKeyConstraint('rollout_targets_pkey', ['rollout_id', 'device_id'])
        .execute();

      await db.schema
        .createTable('rollout_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('rollout_id', 'text', (c) => c.notNull().references('rollouts.id'))
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('wave', 'integer')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('occurred_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('rollout_events_rollout_id_idx')
        .on('rollout_events')
        .columns(['rollout_id', 'occurred_at'])
        .execute();
    },
  };
}
