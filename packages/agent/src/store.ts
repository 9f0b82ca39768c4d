import { join } from 'node:path';
import type { Report } from './client.ts';
import { readJson, writeJsonAtomically } from './fsutil.ts';

/**
 * What the agent must not forget across restarts, besides the ledger of deployed files: the retry
 * bookkeeping of each deployment and the outbox of status reports not yet accepted by the server
 * (sent in order once it is reachable again). Both are changed only through this store's methods,
 * each of which saves what it changed.
 */

export interface RetryState {
  attempts: number;
  error: 'retrying' | 'failed';
  message: string;
  /** Epoch ms of the next attempt; null once failed. */
  retry_at: number | null;
}

export interface PendingReport {
  deployment_id: string;
  report: Report;
}

interface Stored {
  retries: Record<string, RetryState>;
  outbox: PendingReport[];
}

export class AgentStore {
  private retries: Record<string, RetryState> = {};
  private queue: PendingReport[] = [];
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'agent-state.json');
  }

  async load(): Promise<void> {
    const stored = await readJson<Stored>(this.path);
    this.retries = stored?.retries ?? {};
    this.queue = stored?.outbox ?? [];
  }

  /**
   * `durable: false` is for forgetting a report the server has accepted: if a power cut undoes it, the
   * report is sent again and the server recognises its report_id.
   */
  private async save(durable = true): Promise<void> {
    await writeJsonAtomically(
      this.path,
      { retries: this.retries, outbox: this.queue } satisfies Stored,
      0o600,
      durable,
    );
  }

  // --- retry state -------------------------------------------------------------------------------

  retryOf(deploymentId: string): RetryState | undefined {
    return this.retries[deploymentId];
  }

  /** A copy of every retry record (for status output and the local API). */
  allRetries(): Record<string, RetryState> {
    return { ...this.retries };
  }

  /** Records a failed attempt; saved durably unless `durable` is false (a report follows that saves). */
  async setRetry(deploymentId: string, state: RetryState): Promise<void> {
    this.retries[deploymentId] = state;
    await this.save();
  }

  async clearRetry(deploymentId: string): Promise<void> {
    if (!(deploymentId in this.retries)) return;
    delete this.retries[deploymentId];
    await this.save();
  }

  /** Drops the retry records of deployments the server no longer describes. */
  async forgetRetriesExcept(known: ReadonlySet<string>): Promise<void> {
    const stale = Object.keys(this.retries).filter((id) => !known.has(id));
    if (stale.length === 0) return;
    for (const id of stale) delete this.retries[id];
    await this.save();
  }

  /** Epoch ms of the earliest scheduled retry, or undefined when none is. */
  nextRetryAt(): number | undefined {
    const times = Object.values(this.retries)
      .map((r) => r.retry_at)
      .filter((t): t is number => t !== null);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  // --- outbox ------------------------------------------------------------------------------------

  get outbox(): readonly PendingReport[] {
    return this.queue;
  }

  async enqueue(deploymentId: string, report: Report): Promise<void> {
    this.queue.push({ deployment_id: deploymentId, report });
    await this.save();
  }

  /** Removes the oldest report once the server accepted (or for good refused) it. */
  async dequeue(): Promise<void> {
    this.queue.shift();
    await this.save(false);
  }

  /** True when a report moving `deploymentId` to `activity` waits in the outbox. */
  pending(deploymentId: string, activity: Report['activity_status']): boolean {
    return this.queue.some((p) => p.deployment_id === deploymentId && p.report.activity_status === activity);
  }
}
