import { type DeploymentState, deriveStatus, sameState } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { toDeployment } from '../wire/deployments.ts';
import { emitEvent } from './events.ts';

const snapshot = (s: DeploymentState) => ({
  target_status: s.target,
  activity_status: s.activity,
  error_status: s.error,
  status: deriveStatus(s),
});

/**
 * The platform events of a batch of deployment status changes written in `tx`: `deployment.created`
 * (no `from`), `deployment.status_changed` (with from/to and the message, e.g. the agent's), and
 * `deployment.drifted` when a deployment enters `drifted`. Each carries the deployment as the API
 * renders it after the whole batch. A change with `from` equal to `to` (a notice) emits nothing.
 */
export async function emitDeploymentEvents(
  tx: Kysely<Database>,
  changes: readonly {
    id: string;
    from: DeploymentState | null;
    to: DeploymentState;
    message: string | null;
  }[],
): Promise<void> {
  const moved = changes.filter((c) => !c.from || !sameState(c.from, c.to));
  if (!moved.length) return;
  const rows = await tx
    .selectFrom('deployments')
    .selectAll()
    .where('id', 'in', [...new Set(moved.map((c) => c.id))])
    .execute();
  const byId = new Map(rows.map((r) => [r.id, toDeployment(r)]));
  for (const c of moved) {
    const deployment = byId.get(c.id);
    if (!deployment) continue;
    if (!c.from) {
      await emitEvent(tx, 'deployment.created', { deployment });
      continue;
    }
    await emitEvent(tx, 'deployment.status_changed', {
      deployment,
      from: snapshot(c.from),
      to: snapshot(c.to),
      message: c.message,
    });
    if (c.to.activity === 'drifted' && c.from.activity !== 'drifted') {
      await emitEvent(tx, 'deployment.drifted', { deployment });
    }
  }
}
