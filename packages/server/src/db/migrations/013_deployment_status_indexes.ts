import type { Kysely } from 'kysely';
import type { Engine } from '../dialect.ts';

/**
 * The deployment list filters by status and sorts by `created_at desc, id` (docs/decisions.md,
 * #94). Without an index per status column, a rare status (`error_status=failed`, one row in a
 * thousand) is found by walking the time index through most of the table: 60 ms and more at
 * 1,000,000 deployments. With `(status, created_at, id)` the page is a range read on both engines.
 */
export function deploymentStatusIndexes(_engine: Engine) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      for (const column of ['target_status', 'activity_status', 'error_status']) {
        await db.schema
          .createIndex(`deployments_${column}_created_at_idx`)
          .on('deployments')
          .columns([column, 'created_at', 'id'])
          .execute();
      }
    },
  };
}
