import { conflict, unprocessable } from '../errors.ts';
import { type DeploymentState, describeState } from './status.ts';

/**
 * The user- and system-driven half of the lifecycle (docs/decisions.md #4–#7 and #27):
 * preconditions of create, deploy, archive and restage, and the changes they cause to the
 * device's other deployments. Broken preconditions are 409s that name the rule and the current state.
 */

export interface DeviceDeployment {
  id: string;
  release_id: string;
  state: DeploymentState;
}

/** One status change the storage layer must write (and record as an event). */
export interface StatusChange {
  id: string;
  from: DeploymentState;
  to: DeploymentState;
  message: string;
}

export type CreateTarget = 'staged' | 'deployed';

/** The state a deployment starts in (docs/decisions.md #27). */
export function initialState(target: CreateTarget): DeploymentState {
  return target === 'staged'
    ? { target: 'staged', activity: 'staged', error: 'none' }
    : { target: 'deployed', activity: 'queued', error: 'none' };
}

/**
 * The device's current deployment: the one whose target is `deployed` (docs/decisions.md #27). A failed deployment
 * has target `archived` (see `applyAgentReport`), so it is never current; the database's partial
 * unique index guarantees there is at most one.
 */
export function currentDeployment<T extends DeviceDeployment>(deployments: readonly T[]): T | undefined {
  return deployments.find((d) => d.state.target === 'deployed' && d.state.error !== 'failed');
}

/**
 * docs/decisions.md #4: `staged` only for a release other than the device's current release;
 * `deployed` only for the current release, or any release when the device has none.
 */
export function checkCreateTarget(target: CreateTarget, releaseId: string, currentReleaseId: string | null) {
  if (target === 'staged' && currentReleaseId === releaseId) {
    throw conflict(
      'release_is_current',
      `Cannot stage a deployment of release ${releaseId}: it is already the device's current release. Create it with target_status 'deployed' to patch the current release.`,
      { rule: 'stage_only_other_release', release_id: releaseId, current_release_id: currentReleaseId },
    );
  }
  if (target === 'deployed' && currentReleaseId !== null && currentReleaseId !== releaseId) {
    throw conflict(
      'release_not_current',
      `Cannot deploy release ${releaseId} directly: the device's current release is ${currentReleaseId}. Stage the deployment (target_status 'staged') and then deploy it.`,
      { rule: 'deploy_only_current_release', release_id: releaseId, current_release_id: currentReleaseId },
    );
  }
}

const stateParams = (d: DeviceDeployment) => ({
  deployment_id: d.id,
  target_status: d.state.target,
  activity_status: d.state.activity,
  error_status: d.state.error,
});

/** docs/decisions.md #27: only a deployment in the staging area (target staged, activity staged) can be deployed. */
export function checkDeploy(d: DeviceDeployment): DeploymentState {
  const { target, activity } = d.state;
  if (target === 'staged' && activity === 'staged')
    return { target: 'deployed', activity: 'queued', error: 'none' };
  if (target === 'staged' && activity === 'drifted') {
    throw conflict(
      'deployment_drifted',
      `Deployment ${d.id} has drifted: the device's configuration changed after it was staged. Review it (GET /deployments/${d.id}/drifts), then restage or archive it; it cannot be deployed as is.`,
      { rule: 'deploy_only_staged', ...stateParams(d) },
    );
  }
  throw conflict(
    'deployment_not_deployable',
    `Deployment ${d.id} cannot be deployed: only a staged deployment (target staged, activity staged) can be, and this one has ${describeState(d.state)}. Deployments are one-time use; create a new one instead.`,
    { rule: 'deploy_only_staged', ...stateParams(d) },
  );
}

/** docs/decisions.md #27: only a staged or drifted deployment (still in the staging area) can be archived. */
export function checkArchive(d: DeviceDeployment): DeploymentState {
  const { target, activity, error } = d.state;
  if (target === 'staged' && (activity === 'staged' || activity === 'drifted'))
    return { target: 'archived', activity: 'archived', error };
  throw conflict(
    'deployment_not_archivable',
    `Deployment ${d.id} cannot be archived: only staged or drifted deployments can be, and this one has ${describeState(d.state)}.`,
    { rule: 'archive_only_staging_area', ...stateParams(d) },
  );
}

/** Decision 7 (extension): restage accepts a drifted deployment as is, making it deployable again. */
export function checkRestage(d: DeviceDeployment): DeploymentState {
  if (d.state.target === 'staged' && d.state.activity === 'drifted')
    return { target: 'staged', activity: 'staged', error: d.state.error };
  throw conflict(
    'deployment_not_drifted',
    `Deployment ${d.id} cannot be restaged: only a drifted deployment can be, and this one has ${describeState(d.state)}.`,
    { rule: 'restage_only_drifted', ...stateParams(d) },
  );
}

/**
 * docs/decisions.md #6 and #27: when `currentId` becomes the device's current deployment, the previous
 * current one gets target `archived` (the agent then removes it and reports `archived`), and every
 * other staged deployment of the device drifts. Drifted, archived and failed ones are left alone.
 */
export function becomeCurrentEffects(currentId: string, others: readonly DeviceDeployment[]): StatusChange[] {
  const changes: StatusChange[] = [];
  for (const d of others) {
    // A failed deployment is final: nothing moves it again.
    if (d.id === currentId || d.state.error === 'failed') continue;
    if (d.state.target === 'deployed') {
      changes.push({
        id: d.id,
        from: d.state,
        to: { ...d.state, target: 'archived' },
        message: `Superseded by ${currentId}, the device's new current deployment.`,
      });
    } else if (d.state.target === 'staged' && d.state.activity === 'staged') {
      changes.push({
        id: d.id,
        from: d.state,
        to: { ...d.state, activity: 'drifted' },
        message: `Drifted: ${currentId} became the device's current deployment after this one was staged.`,
      });
    }
  }
  return changes;
}

/**
 * Decision 5: one staged-or-drifted deployment per device and release. Staging `newId` for
 * `releaseId` archives the one that held that place.
 */
export function stagingReplacementEffects(
  newId: string,
  releaseId: string,
  others: readonly DeviceDeployment[],
): StatusChange[] {
  return others
    .filter(
      (d) =>
        d.id !== newId &&
        d.state.error !== 'failed' &&
        d.release_id === releaseId &&
        d.state.target === 'staged' &&
        (d.state.activity === 'staged' || d.state.activity === 'drifted'),
    )
    .map((d) => ({
      id: d.id,
      from: d.state,
      to: { target: 'archived', activity: 'archived', error: d.state.error },
      message: `Replaced in the staging area of release ${releaseId} by ${newId}.`,
    }));
}

/** Decision 8: a lineage reference must name a deployment of the same device. */
export function checkParent(
  parent: { id: string; device_id: string } | undefined,
  parentId: string,
  deviceId: string,
) {
  if (!parent) {
    throw unprocessable('invalid_parent', `parent_id ${parentId} names no deployment.`, {
      field: 'parent_id',
      parent_id: parentId,
    });
  }
  if (parent.device_id !== deviceId) {
    throw unprocessable(
      'invalid_parent',
      `parent_id ${parentId} is a deployment of device ${parent.device_id}, not of ${deviceId}; a deployment can only be patched from one of its own device.`,
      { field: 'parent_id', parent_id: parentId, parent_device_id: parent.device_id, device_id: deviceId },
    );
  }
}
