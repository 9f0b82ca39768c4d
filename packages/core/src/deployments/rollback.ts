import type { CreateTarget } from './lifecycle.ts';
import type { DeploymentState } from './status.ts';

/**
 * Rollback when an upgrade fails (docs/decisions.md #21, #76): a failed deployment that had replaced
 * a deployed one must not leave the device without a current release. These rules decide whether the
 * server answers a failure with a rollback deployment, and which set it restores.
 */

/** A deployment of the device as the rollback rule needs to see it. */
export interface RollbackCandidate {
  id: string;
  release_id: string;
  state: DeploymentState;
  /** When it became the device's current deployment (null: never). */
  current_at: string | null;
  /** When the agent reported its files written (null: they never reached the robot). */
  deployed_at: string | null;
}

export type NoRollbackReason =
  | 'disabled'
  | 'not_a_failure'
  | 'not_current'
  | 'no_previous'
  | 'previous_never_deployed'
  | 'previous_failed';

export type RollbackDecision =
  | { rollback: true; restore_id: string; release_id: string; description: string; message: string }
  | { rollback: false; reason: NoRollbackReason };

/**
 * The deployment `failed` replaced: the one that became current last before it. Only one deployment
 * is current at a time, so this is the one its becoming current superseded (or one that had itself
 * ended before, which `rollbackAfterFailure` recognises as failed).
 */
export function replacedBy<T extends RollbackCandidate>(
  failed: Pick<RollbackCandidate, 'id' | 'current_at'>,
  deployments: readonly T[],
): T | undefined {
  if (!failed.current_at) return undefined;
  let best: T | undefined;
  for (const d of deployments) {
    if (d.id === failed.id || !d.current_at || d.current_at > failed.current_at) continue;
    if (d.current_at === failed.current_at && d.id > failed.id) continue;
    if (!best || d.current_at > best.current_at! || (d.current_at === best.current_at && d.id > best.id))
      best = d;
  }
  return best;
}

/**
 * Whether the status change `from → to` of deployment `failedId` calls for a rollback, and to what.
 * A rollback happens when the deployment has just failed while it was the device's current one
 * (target deployed), auto rollback is enabled (server, deployment and rollout settings together),
 * and the deployment it replaced had reached the robot and did not fail itself. A failing rollback
 * replaced nothing deployed (its predecessor is the failed upgrade), so rollbacks never chain.
 */
export function rollbackAfterFailure(input: {
  failedId: string;
  from: DeploymentState;
  to: DeploymentState;
  previous: RollbackCandidate | undefined;
  enabled: boolean;
}): RollbackDecision {
  const { failedId, from, to, previous } = input;
  if (to.error !== 'failed' || from.error === 'failed') return { rollback: false, reason: 'not_a_failure' };
  if (from.target !== 'deployed') return { rollback: false, reason: 'not_current' };
  if (!input.enabled) return { rollback: false, reason: 'disabled' };
  if (!previous) return { rollback: false, reason: 'no_previous' };
  if (previous.state.error === 'failed') return { rollback: false, reason: 'previous_failed' };
  if (!previous.deployed_at) return { rollback: false, reason: 'previous_never_deployed' };
  return {
    rollback: true,
    restore_id: previous.id,
    release_id: previous.release_id,
    description: `Rollback: ${failedId} failed; restores the config instances of ${previous.id}.`,
    message: `Automatic rollback after ${failedId} failed: restores the config instances of ${previous.id}.`,
  };
}

/** The message recorded on the failed deployment, linking it to its rollback. */
export const rolledBackMessage = (rollbackId: string, restoredId: string) =>
  `Rolled back by ${rollbackId}, which restores the config instances of ${restoredId}.`;

/**
 * Auto rollback is on unless the server setting, the deployment or its rollout turns it off
 * (an unset deployment or rollout setting follows the server).
 */
export const autoRollbackEnabled = (server: boolean, deployment: boolean | null, rollout: boolean | null) =>
  server && deployment !== false && rollout !== false;

/**
 * Redeploy (extension): a deployment's instance set deployed again as a new deployment. It can be
 * created `deployed` when its release is the device's current one or the device has none
 * (docs/decisions.md #4); otherwise it is staged and then deployed.
 */
export function redeployTarget(
  releaseId: string,
  currentReleaseId: string | null,
): { create: CreateTarget; thenDeploy: boolean } {
  return currentReleaseId === null || currentReleaseId === releaseId
    ? { create: 'deployed', thenDeploy: false }
    : { create: 'staged', thenDeploy: true };
}
