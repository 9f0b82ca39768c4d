import { type DeploymentState, deriveStatus, sameState, type WebhookEventType } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { toDeployment } from '../wire/deployments.ts';
import { emitEvents } from './events.ts';

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
  const events: { type: WebhookEventType; data: Record<string, unknown> }[] = [];
  for (const c of moved) {
    const deployment = byId.get(c.id);
    if (!deployment) continue;
    if (!c.from) {
      events.push({ type: 'deployment.created', data: { deployment } });
      continue;
    }
    events.push({
      type: 'deployment.status_changed',
      data: { deployment, from: snapshot(c.from), to: snapshot(c.to), message: c.message },
    });
    if (c.to.activity === 'drifted' && c.from.activity !== 'drifted') {
      events.push({ type: 'deployment.drifted', data: { deployment } });
    }
  }
  await emitEvents(tx, events);
}
