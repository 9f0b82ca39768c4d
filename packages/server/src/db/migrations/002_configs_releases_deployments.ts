import { type Kysely, sql } from 'kysely';
import { columnTypes, type Engine } from '../dialect.ts';

/**
 * The data model of schemas, instances, releases and deployments. Invariants that must hold whatever
 * the application does are enforced here: foreign keys, one schema per config type and distinct file
 * paths within a release, one version per release key, at most one current (target `deployed`,
 * not failed) deployment per device, and one staged-or-drifted deployment per device and release.
 */
export function configsReleasesDeployments(engine: Engine) {
  const t = columnTypes(engine);
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createTable('config_schemas')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('config_type_id', 'text', (c) => c.notNull().references('config_types.id'))
        .addColumn('language', 'text', (c) => c.notNull().check(sql`language in ('jsonschema', 'cue')`))
        .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('json', 'yaml', 'cue')`))
        .addColumn('instance_filepath', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        // sha256 over (config type, language, format, instance path, digest): the idempotency key.
        .addColumn('identity_key', 'text', (c) => c.notNull())
        .addColumn('git_commit_id', 'text', (c) => c.references('git_commits.id'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('config_schemas_identity_key_key')
        .on('config_schemas')
        .column('identity_key')
        .unique()
        .execute();
      await db.schema
        .createIndex('config_schemas_config_type_id_idx')
        .on('config_schemas')
        .column('config_type_id')
        .execute();
      await db.schema
        .createIndex('config_schemas_created_at_idx')
        .on('config_schemas')
        .columns(['created_at', 'id'])
        .execute();

      await db.schema
        .createTable('schema_documents')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('config_schema_id', 'text', (c) => c.notNull().references('config_schemas.id'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('data', 'text', (c) => c.notNull())
        // Repo-relative path of the file this document came from, when a git commit was linked.
        .addColumn('repository_path', 'text')
        .execute();
      await db.schema
        .createIndex('schema_documents_config_schema_id_name_key')
        .on('schema_documents')
        .columns(['config_schema_id', 'name'])
        .unique()
        .execute();

      await db.schema
        .createTable('config_instances')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('config_schema_id', 'text', (c) => c.notNull().references('config_schemas.id'))
        .addColumn('config_type_id', 'text', (c) => c.notNull().references('config_types.id'))
        .addColumn('filepath', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull().check(sql`format in ('json')`))
        .addColumn('data', 'text', (c) => c.notNull())
        // sha256 of the exact bytes of `data`: what the agent checks before and after writing.
        .addColumn('content_digest', 'text', (c) => c.notNull())
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('config_instances_config_schema_id_idx')
        .on('config_instances')
        .column('config_schema_id')
        .execute();
      await db.schema
        .createIndex('config_instances_config_type_id_idx')
        .on('config_instances')
        .column('config_type_id')
        .execute();
      await db.schema
        .createIndex('config_instances_created_at_idx')
        .on('config_instances')
        .columns(['created_at', 'id'])
        .execute();

      await db.schema
        .createTable('releases')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('version', 'text', (c) => c.notNull())
        // The version without a leading 'v': `v1.2.0` and `1.2.0` are the same release.
        .addColumn('version_key', 'text', (c) => c.notNull())
        .addColumn('git_commit_id', 'text', (c) => c.references('git_commits.id'))
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('releases_version_key_key')
        .on('releases')
        .column('version_key')
        .unique()
        .execute();
      await db.schema
        .createIndex('releases_created_at_idx')
        .on('releases')
        .columns(['created_at', 'id'])
        .execute();

      await db.schema
        .createTable('release_schemas')
        .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
        .addColumn('config_schema_id', 'text', (c) => c.notNull().references('config_schemas.id'))
        .addColumn('config_type_id', 'text', (c) => c.notNull().references('config_types.id'))
        .addColumn('instance_filepath', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('release_schemas_pkey', ['release_id', 'config_schema_id'])
        .execute();
      await db.schema
        .createIndex('release_schemas_release_id_config_type_id_key')
        .on('release_schemas')
        .columns(['release_id', 'config_type_id'])
        .unique()
        .execute();
      await db.schema
        .createIndex('release_schemas_release_id_instance_filepath_key')
        .on('release_schemas')
        .columns(['release_id', 'instance_filepath'])
        .unique()
        .execute();
      await db.schema
        .createIndex('release_schemas_config_schema_id_idx')
        .on('release_schemas')
        .column('config_schema_id')
        .execute();

      await db.schema
        .createTable('deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('description', 'text', (c) => c.notNull())
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('release_id', 'text', (c) => c.notNull().references('releases.id'))
        .addColumn('parent_id', 'text', (c) => c.references('deployments.id'))
        .addColumn('target_status', 'text', (c) =>
          c.notNull().check(sql`target_status in ('staged', 'deployed', 'archived')`),
        )
        .addColumn('activity_status', 'text', (c) =>
          c.notNull().check(sql`activity_status in ('drifted', 'staged', 'queued', 'deployed', 'archived')`),
        )
        .addColumn('error_status', 'text', (c) =>
          c.notNull().check(sql`error_status in ('none', 'retrying', 'failed')`),
        )
        .addColumn('error_message', 'text')
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        // When it entered the staging area (created or restaged): drifts are counted from here.
        .addColumn('staged_at', t.timestamp)
        // When it became the device's current deployment (create `deployed` or /deploy).
        .addColumn('current_at', t.timestamp)
        .addColumn('deployed_at', t.timestamp)
        .addColumn('archived_at', t.timestamp)
        .addColumn('created_at', t.timestamp, (c) => c.notNull())
        .addColumn('updated_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('deployments_device_id_current_key')
        .on('deployments')
        .column('device_id')
        .unique()
        .where(sql.ref('target_status'), '=', 'deployed')
        .execute();
      await db.schema
        .createIndex('deployments_device_id_release_id_staging_key')
        .on('deployments')
        .columns(['device_id', 'release_id'])
        .unique()
        .where(sql<boolean>`target_status = 'staged' and activity_status in ('staged', 'drifted')`)
        .execute();
      await db.schema
        .createIndex('deployments_created_at_idx')
        .on('deployments')
        .columns(['created_at', 'id'])
        .execute();
      await db.schema
        .createIndex('deployments_device_id_idx')
        .on('deployments')
        .columns(['device_id', 'created_at'])
        .execute();
      await db.schema
        .createIndex('deployments_release_id_idx')
        .on('deployments')
        .columns(['release_id', 'created_at'])
        .execute();

      await db.schema
        .createTable('deployment_instances')
        .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id'))
        .addColumn('config_instance_id', 'text', (c) => c.notNull().references('config_instances.id'))
        .addColumn('position', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('deployment_instances_pkey', ['deployment_id', 'config_instance_id'])
        .execute();
      await db.schema
        .createIndex('deployment_instances_config_instance_id_idx')
        .on('deployment_instances')
        .column('config_instance_id')
        .execute();

      await db.schema
        .createTable('deployment_events')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('deployment_id', 'text', (c) => c.notNull().references('deployments.id'))
        .addColumn('device_id', 'text', (c) => c.notNull().references('devices.id'))
        .addColumn('from_target_status', 'text')
        .addColumn('from_activity_status', 'text')
        .addColumn('from_error_status', 'text')
        .addColumn('to_target_status', 'text', (c) => c.notNull())
        .addColumn('to_activity_status', 'text', (c) => c.notNull())
        .addColumn('to_error_status', 'text', (c) => c.notNull())
        .addColumn('actor_type', 'text', (c) =>
          c.notNull().check(sql`actor_type in ('api_key', 'agent', 'system')`),
        )
        .addColumn('actor_id', 'text')
        .addColumn('message', 'text')
        .addColumn('attempt', 'integer')
        .addColumn('occurred_at', t.timestamp, (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('deployment_events_deployment_id_idx')
        .on('deployment_events')
        .columns(['deployment_id', 'occurred_at'])
        .execute();
      await db.schema
        .createIndex('deployment_events_device_id_idx')
        .on('deployment_events')
        .columns(['device_id', 'occurred_at'])
        .execute();
    },
  };
}
