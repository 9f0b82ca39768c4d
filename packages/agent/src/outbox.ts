import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { HttpError, NetworkError, type Report } from './client.ts';
import { errorMessage } from './errors.ts';
import type { AgentStore, PendingReport } from './store.ts';

/** The fields of a report the caller decides; time and id are the outbox's. */
export type ReportFields = Omit<Report, 'occurred_at' | 'report_id'>;

/**
 * Status reports, queued durably (in the store) before they are sent and sent in order, so a report
 * survives restarts and outages. A report the server will never accept is dropped so it cannot block
 * the rest; a network error or a refusal of the device itself keeps the queue for later.
 */
export class Outbox {
  constructor(
    private readonly store: AgentStore,
    private readonly send: (deploymentId: string, report: Report) => Promise<void>,
    private readonly logger: Logger,
    private readonly onReported: (sent: PendingReport) => void,
  ) {}

  get length(): number {
    return this.store.outbox.length;
  }

  /** True when a report moving `deploymentId` to `activity` is still queued. */
  pending(deploymentId: string, activity: Report['activity_status']): boolean {
    return this.store.pending(deploymentId, activity);
  }

  /** Queues a report durably, then tries to send the queue. */
  async report(deploymentId: string, fields: ReportFields): Promise<void> {
    await this.store.enqueue(deploymentId, {
      ...fields,
      // The server caps messages (4000 characters); a long system error is cut, not refused.
      ...(fields.message !== undefined ? { message: fields.message.slice(0, 2000) } : {}),
      occurred_at: new Date().toISOString(),
      report_id: randomUUID(),
    });
    await this.flush();
  }

  /**
   * Sends queued reports in order. False when the network stopped it with reports left (worth a quick
   * retry); a device the server refuses keeps its reports too, but waits for the normal poll.
   */
  async flush(): Promise<boolean> {
    for (let next = this.store.outbox[0]; next; next = this.store.outbox[0]) {
      try {
        await this.send(next.deployment_id, next.report);
        this.onReported(next);
      } catch (err) {
        if (err instanceof NetworkError) return false;
        if (err instanceof HttpError && (err.status === 401 || err.status === 403)) {
          this.logger.error({ err: err.message }, 'the server refuses this device; reports are kept');
          return true;
        }
        // A report the server will never accept (e.g. 409 invalid_transition) must not block the rest.
        this.logger.warn(
          { deployment_id: next.deployment_id, err: errorMessage(err) },
          'report refused; dropped',
        );
      }
      await this.store.dequeue();
    }
    return true;
  }
}
