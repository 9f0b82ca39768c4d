import { join } from 'node:path';
import type { Report } from './client.ts';
import { readJson, writeJsonAtomically } from './fsutil.ts';

/**
 * What the agent must not forget across restarts, besides the ledger of deployed files: the retry
 * bookkeeping of each deployment and the outbox of status reports not yet accepted by the server
 * (sent in order once it is reachable again).
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
  retries: Record<string, RetryState> = {};
  outbox: PendingReport[] = [];
  private readonly path: string;

  constructor(stateDir: string) {
    this.path = join(stateDir, 'agent-state.json');
  }

  async load(): Promise<void> {
    const stored = await readJson<Stored>(this.path);
    this.retries = stored?.retries ?? {};
    this.outbox = stored?.outbox ?? [];
  }

  /**
   * `durable: false` is for forgetting a report the server has accepted: if a power cut undoes it, the
   * report is sent again and the server recognises its report_id.
   */
  async save(durable = true): Promise<void> {
    await writeJsonAtomically(
      this.path,
      { retries: this.retries, outbox: this.outbox } satisfies Stored,
      0o600,
      durable,
    );
  }

  async enqueue(deploymentId: string, report: Report): Promise<void> {
    this.outbox.push({ deployment_id: deploymentId, report });
    await this.save();
  }

  /** True when a report moving `deploymentId` to `activity` waits in the outbox. */
  pending(deploymentId: string, activity: Report['activity_status']): boolean {
    return this.outbox.some((p) => p.deployment_id === deploymentId && p.report.activity_status === activity);
  }
}
