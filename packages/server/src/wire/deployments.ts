import { type DeploymentState, deriveStatus } from '@bosun/core';
import type { Selectable } from 'kysely';
import type { DeploymentTable } from '../db/schema.ts';

/** The three status columns of a deployment row as core's `DeploymentState`. */
export const stateOf = (
  row: Pick<DeploymentTable, 'target_status' | 'activity_status' | 'error_status'>,
): DeploymentState => ({ target: row.target_status, activity: row.activity_status, error: row.error_status });

export function toDeployment(row: Selectable<DeploymentTable>) {
  return {
    object: 'deployment' as const,
    id: row.id,
    description: row.description,
    status: deriveStatus(stateOf(row)),
    activity_status: row.activity_status,
    error_status: row.error_status,
    target_status: row.target_status,
    device_id: row.device_id,
    release_id: row.release_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
