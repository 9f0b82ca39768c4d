import {
  type DeploymentActivityStatus,
  type DeploymentErrorStatus,
  type DeploymentState,
  type DeploymentStatus,
  deriveStatus,
} from '../deployments/status.ts';

/**
 * How the on-robot Device API shows a deployment: what is on disk wins over the server's copy the
 * agent last fetched, because that copy goes stale the moment the agent acts on it (the server said
 * "target archived, activity deployed"; the agent removed the files, so the truth is now archived).
 *
 * - Files on disk: `deployed`, with the agent's own retry state (if any) as the error.
 * - No files and target `archived`: `archived` (removed by the agent, or it never reached the disk).
 * - No files but the copy says `deployed`: not written yet (new state dir, reinstalled robot): `queued`.
 * - Otherwise the server's activity, with the agent's retry state winning over the copy's error.
 */
export function onDeviceState(input: {
  server: DeploymentState;
  filesOnDisk: boolean;
  agentError?: 'retrying' | 'failed' | undefined;
}): { activity: DeploymentActivityStatus; error: DeploymentErrorStatus; status: DeploymentStatus } {
  const { server, filesOnDisk, agentError } = input;
  let activity: DeploymentActivityStatus;
  let error: DeploymentErrorStatus;
  if (filesOnDisk) {
    activity = 'deployed';
    error = agentError ?? 'none';
  } else if (server.target === 'archived') {
    activity = 'archived';
    error = agentError === 'failed' || server.error === 'failed' ? 'failed' : 'none';
  } else {
    activity = server.activity === 'deployed' || server.activity === 'archived' ? 'queued' : server.activity;
    error = agentError ?? server.error;
  }
  return { activity, error, status: deriveStatus({ activity, error }) };
}
