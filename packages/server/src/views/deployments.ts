import {
  ACTIVITY_STATUSES,
  DEPLOYMENT_STATUSES,
  type DeploymentState,
  deriveStatus,
  ERROR_STATUSES,
  type ExpandTree,
  TARGET_STATUSES,
} from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { DeploymentEventRow, DeploymentRow } from '../storage/deployments.ts';
import type { Repositories } from '../storage/index.ts';
import { toDeployment } from '../wire/deployments.ts';
import { type ConfigInstanceView, configInstanceView } from './config-instances.ts';
import { type DeviceView, deviceView } from './devices.ts';
import { type ReleaseView, releaseView } from './releases.ts';
import { related, renderById, type View } from './view.ts';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const Deployment = Type.Object(
  {
    object: Type.Literal('deployment'),
    id: Type.String({ examples: ['dpl_123'] }),
    description: Type.String(),
    status: literals(DEPLOYMENT_STATUSES),
    activity_status: literals(ACTIVITY_STATUSES),
    error_status: literals(ERROR_STATUSES),
    target_status: literals(TARGET_STATUSES),
    device_id: Type.String(),
    release_id: Type.String(),
    created_at: Timestamp('When the deployment was created.'),
    updated_at: Timestamp('When the deployment last changed.'),
    device: Type.Optional(Type.Ref('Device')),
    release: Type.Optional(Type.Ref('Release')),
    config_instances: Type.Optional(Type.Array(Type.Ref('ConfigInstance'))),
  },
  { $id: 'Deployment', title: 'Deployment' },
);

const StatusSnapshot = Type.Object({
  target_status: literals(TARGET_STATUSES),
  activity_status: literals(ACTIVITY_STATUSES),
  error_status: literals(ERROR_STATUSES),
  status: literals(DEPLOYMENT_STATUSES),
});

/** Extension: one status change of a deployment (docs/decisions.md #15). */
export const DeploymentEvent = Type.Object(
  {
    object: Type.Literal('event'),
    id: Type.String({ examples: ['evt_123'] }),
    deployment_id: Type.String(),
    device_id: Type.String(),
    from: Type.Union([StatusSnapshot, Type.Null()], { description: 'Null for the creation event.' }),
    to: StatusSnapshot,
    actor: Type.Object({
      type: literals(['api_key', 'agent', 'system']),
      id: Type.Union([Type.String(), Type.Null()], {
        description: 'The API key id, the device id for the agent, null for the system.',
      }),
    }),
    message: Type.Union([Type.String(), Type.Null()]),
    attempt: Type.Union([Type.Integer(), Type.Null()]),
    timestamp: Timestamp('When the server recorded the change.'),
    observed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the agent observed it (agent reports; null otherwise). Later than timestamp never.',
    }),
  },
  { $id: 'DeploymentEvent', title: 'Deployment Event' },
);

export { toDeployment };

const snapshot = (s: DeploymentState) => ({
  target_status: s.target,
  activity_status: s.activity,
  error_status: s.error,
  status: deriveStatus(s),
});

export function toDeploymentEvent(row: DeploymentEventRow) {
  const from =
    row.from_target_status !== null && row.from_activity_status !== null && row.from_error_status !== null
      ? { target: row.from_target_status, activity: row.from_activity_status, error: row.from_error_status }
      : null;
  return {
    object: 'event' as const,
    id: row.id,
    deployment_id: row.deployment_id,
    device_id: row.device_id,
    from: from && snapshot(from),
    to: snapshot({
      target: row.to_target_status,
      activity: row.to_activity_status,
      error: row.to_error_status,
    }),
    actor: { type: row.actor_type, id: row.actor_id },
    message: row.message,
    attempt: row.attempt,
    timestamp: row.occurred_at,
    observed_at: row.observed_at,
  };
}

export type DeploymentView = ReturnType<typeof toDeployment> & {
  device?: DeviceView;
  release?: ReleaseView;
  config_instances?: ConfigInstanceView[];
};

/** Serialises deployments with their expansions, fetching each related resource once per batch. */
export async function renderDeployments(
  repos: Repositories,
  rows: readonly DeploymentRow[],
  tree: ExpandTree = {},
): Promise<DeploymentView[]> {
  const [devices, releases, instances] = await Promise.all([
    related(
      repos,
      deviceView,
      tree.device,
      rows.map((r) => r.device_id),
      (ids) => repos.devices.getMany(ids),
    ),
    related(
      repos,
      releaseView,
      tree.release,
      rows.map((r) => r.release_id),
      (ids) => repos.releases.getMany(ids),
    ),
    tree.config_instances ? instancesOf(repos, rows, tree.config_instances) : undefined,
  ]);
  return rows.map((row) => {
    const view: DeploymentView = toDeployment(row);
    if (devices) view.device = devices.get(row.device_id)!;
    if (releases) view.release = releases.get(row.release_id)!;
    if (instances) view.config_instances = instances.get(row.id)!;
    return view;
  });
}

/** Each deployment's config instances, rendered, in the order of its release's schemas. */
async function instancesOf(repos: Repositories, rows: readonly DeploymentRow[], tree: ExpandTree) {
  const ids = await repos.deployments.instanceIds(rows.map((r) => r.id));
  const found = await repos.configInstances.getMany([...ids.values()].flat());
  const rendered = await renderById(configInstanceView, repos, found.values(), tree);
  return new Map([...ids].map(([id, list]) => [id, list.map((i) => rendered.get(i)!)]));
}

export const deploymentView: View<DeploymentRow, DeploymentView> = {
  resource: 'deployment',
  noun: 'deployment',
  render: renderDeployments,
};
