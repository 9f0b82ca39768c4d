/**
 * The wire shapes of the agent API (`/agent/v1`, docs/agent-protocol.md), written once: the server's
 * agent routes check their TypeBox schemas against these types at compile time, and the agent's
 * client reads and sends exactly these. Status fields use the deployment unions of
 * `deployments/status.ts`.
 */
import type {
  DeploymentActivityStatus,
  DeploymentErrorStatus,
  DeploymentTargetStatus,
} from './deployments/status.ts';

/** A config file of a deployment as the agent needs it: where it goes and what its bytes hash to. */
export interface AgentConfigInstance {
  id: string;
  filepath: string;
  /** `sha256:<hex>` of the exact bytes `GET /config_instances/{id}/content` serves. */
  content_digest: string;
  config_type_name: string;
  config_schema_id: string;
}

/** Release metadata the agent serves to on-robot apps (Device API) without a round trip. */
export interface AgentRelease {
  id: string;
  version: string;
  git_commit_id: string | null;
  created_at: string;
}

export interface AgentGitCommit {
  id: string;
  sha: string;
  message: string;
  commit_url: string;
  created_at: string;
}

/** One deployment in `GET /state`, `GET /deployments/{id}` and the answer to a report. */
export interface AgentDeployment {
  id: string;
  description: string;
  created_at: string;
  release_id: string;
  release_version: string;
  release: AgentRelease;
  git_commit: AgentGitCommit | null;
  target_status: DeploymentTargetStatus;
  activity_status: DeploymentActivityStatus;
  error_status: DeploymentErrorStatus;
  attempts: number;
  config_instances: AgentConfigInstance[];
}

/** `GET /state`: the device and the deployments it must act on or keep. */
export interface AgentDesiredState {
  device: { id: string; name: string };
  deployments: AgentDeployment[];
}

/** A file changed or removed on the robot behind the agent's back. */
export interface AgentDriftEntry {
  path: string;
  change: 'changed' | 'missing';
}

/** The body of `POST /deployments/{id}/reports` (docs/decisions.md #28). */
export interface AgentReportBody {
  activity_status?: 'deployed' | 'archived';
  error_status?: DeploymentErrorStatus;
  message?: string | null;
  attempts?: number;
  /** When the agent observed the change (its clock; the server keeps it only when plausible). */
  occurred_at?: string;
  /** Makes a resent report (from the agent's outbox) a no-op. */
  report_id?: string;
  drift?: AgentDriftEntry[];
}
