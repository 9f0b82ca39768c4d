/**
 * What the local Device API needs from the agent. The agent implements it from its local state
 * and falls back to the server for a local miss; the HTTP layer only shapes answers and errors.
 * Shapes follow Device API v0.2.1.
 */
export interface LocalDevice {
  object: 'device';
  id: string;
  name: string;
  status: 'online' | 'offline';
  last_synced_at: string;
  last_connected_at: string;
  last_disconnected_at: string;
}

export interface LocalDeployment {
  object: 'deployment';
  id: string;
  description: string;
  status: string;
  activity_status: string;
  error_status: string;
  target_status: string;
  device_id: string;
  release_id: string;
  created_at: string;
}

export interface LocalRelease {
  object: 'release';
  id: string;
  version: string;
  git_commit_id: string | null;
  created_at: string;
}

export interface LocalGitCommit {
  object: 'git_commit';
  id: string;
  sha: string;
  message: string;
  commit_url: string;
  created_at: string;
}

export interface SyncOutcome {
  code: 'success' | 'network_connection_error' | 'in_cooldown';
  message: string;
  last_synced_at: string;
  last_attempted_sync_at: string;
  in_cooldown: boolean;
  cooldown_ends_at: string;
}

export interface DeviceApiSource {
  device(): Promise<LocalDevice>;
  currentDeployment(): Promise<LocalDeployment | undefined>;
  deployment(id: string): Promise<LocalDeployment | undefined>;
  release(id: string): Promise<LocalRelease | undefined>;
  gitCommit(id: string): Promise<LocalGitCommit | undefined>;
  /** Runs a sync now (unless cooling down) and says how it went. */
  sync(): Promise<SyncOutcome>;
}
