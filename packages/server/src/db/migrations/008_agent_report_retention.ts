import type { Kysely } from 'kysely';
import type { Engine } from '../dialect.ts';

/**
 * The report-id ledger is pruned per device on every report (newest `AGENT_REPORT_RETENTION` kept),
 * which reads a device's ledger by time: this index keeps that a range scan.
 */
export function agentReportRetention(_engine: Engine) {
  return {
    async up(db: Kysely<any>): Promise<void> {
      await db.schema
        .createIndex('agent_reports_device_received')
        .on('agent_reports')
        .columns(['device_id', 'received_at'])
        .execute();
    },
  };
}
