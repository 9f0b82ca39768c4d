import type { Kysely } from 'kysely';
import { columnTypes, type Engine } from '../dialect.ts';

/**
 * When the agent observed a change, beside when the server recorded it: an agent that was offline
 * reports late, and the history should say both.
 */
export function eventObservedAt(engine: Engine) {
  const t = columnTypes(engine);
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema.alterTable('deployment_events').addColumn('observed_at', t.timestamp).execute();
    },
  };
}
