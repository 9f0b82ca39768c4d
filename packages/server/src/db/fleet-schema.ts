import type { RolloutStatus, StoredTargetState } from '@bosun/core';

/** Row types of the fleet-operation tables (migration 011); status columns hold core's unions. */

export interface DeploymentSettingsTable {
  deployment_id: string;
  /** null: follow the server setting (and the rollout's); 0/1 otherwise. */
  auto_rollback: number | null;
  rollout_id: string | null;
}

export interface DeploymentRollbackTable {
  /** The rollback deployment. */
  deployment_id: string;
  failed_deployment_id: string;
  restored_deployment_id: string;
  device_id: string;
  created_at: string;
}

export interface GroupTable {
  id: string;
  name: string;
  parent_id: string | null;
  created_at: string;
  updated_at: string;
}

export interface GroupMemberTable {
  device_id: string;
  group_id: string;
  created_at: string;
}

export interface DeviceTagTable {
  device_id: string;
  key: string;
  value: string;
}

export interface RolloutTable {
  id: string;
  description: string;
  release_id: string;
  /** JSON: the instance plan. */
  plan: string;
  /** JSON: the device selection. */
  selector: string;
  /** JSON: waves, soak, max failure ratio, include_new_devices. */
  strategy: string;
  status: RolloutStatus;
  status_reason: string | null;
  auto_rollback: number | null;
  current_wave: number;
  wave_started_at: string | null;
  soak_until: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface RolloutTargetTable {
  rollout_id: string;
  device_id: string;
  wave: number;
  deployment_id: string | null;
  state: StoredTargetState;
  updated_at: string;
}

export interface RolloutEventTable {
  id: string;
  rollout_id: string;
  type: string;
  wave: number | null;
  message: string;
  occurred_at: string;
}

export interface FleetTables {
  deployment_settings: DeploymentSettingsTable;
  deployment_rollbacks: DeploymentRollbackTable;
  groups: GroupTable;
  group_members: GroupMemberTable;
  device_tags: DeviceTagTable;
  rollouts: RolloutTable;
  rollout_targets: RolloutTargetTable;
  rollout_events: RolloutEventTable;
}
