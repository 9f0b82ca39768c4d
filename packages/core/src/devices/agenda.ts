import type { DeploymentState } from '../deployments/status.ts';

/**
 * Which of its deployments a device's agent sees in its desired state (docs/agent-protocol.md): the
 * ones it must act on or keep — sent to the device (activity queued or deployed) with target
 * `deployed` (apply or keep) or `archived` (remove) — never a failed one, never one still in the
 * staging area, never another device's.
 */
export function onAgentAgenda(state: DeploymentState): boolean {
  if (state.error === 'failed') return false;
  if (state.activity !== 'queued' && state.activity !== 'deployed') return false;
  return state.target === 'deployed' || state.target === 'archived';
}
