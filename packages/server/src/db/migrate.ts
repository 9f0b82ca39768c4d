import { type Kysely, type Migration, Migrator } from 'kysely';
import type { Engine } from './dialect.ts';
import { foundation } from './migrations/001_foundation.ts';
import { configsReleasesDeployments } from './migrations/002_configs_releases_deployments.ts';
import { agent } from './migrations/005_agent.ts';
import { eventObservedAt } from './migrations/006_event_observed_at.ts';
import { idempotencyKeys } from './migrations/007_idempotency_keys.ts';
import { agentReportRetention } from './migrations/008_agent_report_retention.ts';
import { webhooks } from './migrations/009_webhooks.ts';
import { uiSessions } from './migrations/010_ui_sessions.ts';
import { fleet } from './migrations/011_fleet.ts';
import { presenceEventsRetention } from './migrations/012_presence_events_retention.ts';
import { deploymentStatusIndexes } from './migrations/013_deployment_status_indexes.ts';

/**
 * Migrations live in code (not a folder scan) so they ship inside the package and run identically
 * from the CLI, the server and the tests. Names sort in the order they must run.
 *
 * 003 and 004 do not exist and never did: numbers are handed out ahead of time to work done in
 * parallel, and the two holders of 003 and 004 in the first wave needed no schema change. Applied
 * migrations are never renumbered (a database records the names it ran), so the gap stays
 * (docs/decisions.md #62); `migrations.test.ts` accepts exactly this gap.
 */
function migrations(engine: Engine): Record<string, Migration> {
  return {
    '001_foundation': foundation(engine),
    '002_configs_releases_deployments': configsReleasesDeployments(engine),
    '005_agent': agent(engine),
    '006_event_observed_at': eventObservedAt(engine),
    '007_idempotency_keys': idempotencyKeys(engine),
    '008_agent_report_retention': agentReportRetention(engine),
    '009_webhooks': webhooks(engine),
    '010_ui_sessions': uiSessions(engine),
    '011_fleet': fleet(engine),
    '012_presence_events_retention': presenceEventsRetention(engine),
    '013_deployment_status_indexes': deploymentStatusIndexes(engine),
  };
}

/**
 * `schema` names the PostgreSQL schema the migration tables live in: Kysely otherwise looks for them
 * in every schema of the database, so a second schema (a test's, another app's) would make it skip
 * creating its own and fail.
 */
export async function migrateToLatest(db: Kysely<any>, engine: Engine, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(engine) },
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
}
