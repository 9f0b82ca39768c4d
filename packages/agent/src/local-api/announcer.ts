import type { AgentDeployment } from '../client.ts';
import type { EventLog } from './event-log.ts';

export type Announcement = 'deployment.deployed' | 'deployment.removed';

/**
 * Device API events of the reconcile loop. Appends an event once per deployment and type: the event log
 * is the memory of what was announced, so a replay after a crash does not repeat it.
 */
export class Announcer {
  constructor(
    private readonly log: () => EventLog | undefined,
    private readonly describe: (deploymentId: string) => AgentDeployment | undefined,
  ) {}

  announce(type: Announcement, deploymentId: string): void {
    const log = this.log();
    if (!log) return;
    if (log.since(0, [type]).some((e) => e.data.deployment_id === deploymentId)) return;
    const d = this.describe(deploymentId);
    const deployed = type === 'deployment.deployed';
    const now = new Date().toISOString();
    const activity = deployed ? 'deployed' : 'archived';
    log.append(type, {
      deployment_id: deploymentId,
      release_id: d?.release_id ?? null,
      status: activity,
      activity_status: activity,
      error_status: 'none',
      target_status: deployed ? 'deployed' : 'archived',
      ...(deployed ? { deployed_at: now } : { archived_at: now }),
    });
  }
}
