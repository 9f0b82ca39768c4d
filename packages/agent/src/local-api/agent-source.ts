import { deviceStatus, onDeviceState } from '@bosun/core';
import type { Ledger } from '../applier.ts';
import type { AgentDeployment } from '../client.ts';
import type {
  DeviceApiSource,
  LocalDeployment,
  LocalDevice,
  LocalGitCommit,
  LocalRelease,
  SyncOutcome,
} from './source.ts';

/** "Never" in the Device API: its times are required date-times, so upstream agents send the epoch. */
const NEVER = new Date(0).toISOString();

/** What the agent tells the Device API about its link to the server. */
export interface LocalInfo {
  deviceId: string;
  name: string;
  pushConnected: boolean;
  lastConnectedAt: string | null;
  lastDisconnectedAt: string | null;
  lastSyncedAt: string | null;
  lastAttemptedSyncAt: string | null;
}

/**
 * The small, read-only view of the agent the Device API answers from (plus `sync`, the one action the
 * API offers). The agent hands one over; this module never sees the agent itself.
 */
export interface AgentView {
  readonly deviceId: string;
  localInfo(): LocalInfo;
  /** Which deployment put which digest at which path (what is on disk, per the journal). */
  deployedFiles(): Promise<Ledger>;
  /** A deployment the server described, from the local catalog. */
  known(id: string): AgentDeployment | undefined;
  allKnown(): readonly AgentDeployment[];
  /** One of this device's deployments from the server (a local miss); undefined when unknown or offline. */
  fetchDeployment(id: string): Promise<AgentDeployment | undefined>;
  /** The agent's own error state of a deployment it is retrying or gave up on. */
  retryError(id: string): 'retrying' | 'failed' | undefined;
  /** Runs a reconcile that starts after this call. */
  sync(): Promise<void>;
}

/**
 * The current one of the deployments whose files are on disk: during a replacement only the new one
 * targets `deployed`; prefer it, then the newest.
 */
export function currentOf(onDisk: readonly AgentDeployment[]): AgentDeployment | undefined {
  return [...onDisk].sort(
    (a, b) =>
      Number(b.target_status === 'deployed') - Number(a.target_status === 'deployed') ||
      b.created_at.localeCompare(a.created_at),
  )[0];
}

/**
 * The agent's local state seen through the Device API: what is on disk (the ledger) wins over what
 * the server last said, because apps care about the files they can read right now. A deployment the
 * agent has never heard of is asked from the server when it is reachable.
 */
export class AgentDeviceApiSource implements DeviceApiSource {
  constructor(private readonly agent: AgentView) {}

  async device(): Promise<LocalDevice> {
    const info = this.agent.localInfo();
    // The server's rule seen from the robot: push session open, or synced within the contact window
    // unless the push session ended since.
    const status = info.pushConnected
      ? 'online'
      : deviceStatus(
          {
            status: 'online',
            last_connected_at: info.lastConnectedAt,
            last_disconnected_at: info.lastDisconnectedAt,
            last_seen_at: info.lastSyncedAt,
          },
          Date.now(),
        );
    return {
      object: 'device',
      id: info.deviceId,
      name: info.name,
      status: status === 'online' ? 'online' : 'offline',
      last_synced_at: info.lastSyncedAt ?? NEVER,
      last_connected_at: info.lastConnectedAt ?? NEVER,
      last_disconnected_at: info.lastDisconnectedAt ?? NEVER,
    };
  }

  async currentDeployment(): Promise<LocalDeployment | undefined> {
    const onDisk = await this.agent.deployedFiles();
    const current = currentOf(Object.keys(onDisk).flatMap((id) => this.agent.known(id) ?? []));
    return current ? this.view(current, true) : undefined;
  }

  async deployment(id: string): Promise<LocalDeployment | undefined> {
    const onDisk = await this.agent.deployedFiles();
    const known = this.agent.known(id) ?? (await this.agent.fetchDeployment(id));
    return known ? this.view(known, id in onDisk) : undefined;
  }

  async release(id: string): Promise<LocalRelease | undefined> {
    const d = this.agent.allKnown().find((x) => x.release.id === id);
    return d ? { object: 'release', ...d.release } : undefined;
  }

  async gitCommit(id: string): Promise<LocalGitCommit | undefined> {
    const d = this.agent.allKnown().find((x) => x.git_commit?.id === id);
    return d?.git_commit ? { object: 'git_commit', ...d.git_commit } : undefined;
  }

  async sync(): Promise<SyncOutcome> {
    const before = this.agent.localInfo().lastSyncedAt;
    await this.agent.sync();
    const info = this.agent.localInfo();
    const reached = info.lastSyncedAt !== null && info.lastSyncedAt !== before;
    return {
      code: reached ? 'success' : 'network_connection_error',
      message: reached
        ? 'Synced with the server.'
        : 'The server could not be reached; the device keeps its current configs.',
      last_synced_at: info.lastSyncedAt ?? NEVER,
      last_attempted_sync_at: info.lastAttemptedSyncAt ?? NEVER,
      // Syncs on demand are serialised with the reconcile loop rather than refused, so never cooling down.
      in_cooldown: false,
      cooldown_ends_at: info.lastAttemptedSyncAt ?? NEVER,
    };
  }

  private view(d: AgentDeployment, filesOnDisk: boolean): LocalDeployment {
    const { activity, error, status } = onDeviceState({
      server: { target: d.target_status, activity: d.activity_status, error: d.error_status },
      filesOnDisk,
      agentError: this.agent.retryError(d.id),
    });
    return {
      object: 'deployment',
      id: d.id,
      description: d.description,
      status,
      activity_status: activity,
      error_status: error,
      target_status: d.target_status,
      device_id: this.agent.deviceId,
      release_id: d.release_id,
      created_at: d.created_at,
    };
  }
}
