import { type ExpandTree, ROLLOUT_STATUSES, TARGET_STATES } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import type { RolloutEventRow, RolloutRow } from '../storage/rollouts.ts';
import { toRollout } from '../wire/rollouts.ts';
import { type DeploymentView, deploymentView } from './deployments.ts';
import { related, type View } from './view.ts';

/** Rollouts (extension, docs/decisions.md #78): a release over a selection of devices, in waves. */

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Counts = Type.Object(Object.fromEntries(TARGET_STATES.map((s) => [s, Type.Integer()])));
/** A wave of a strategy; also the request's wave (routes/rollouts.ts). */
export const WaveSpec = Type.Object({
  devices: Type.Optional(Type.Integer({ description: 'A number of devices.' })),
  percent: Type.Optional(Type.Number({ description: 'A percentage of all selected devices (rounded up).' })),
});
const Strategy = Type.Object({
  waves: Type.Array(WaveSpec, { description: 'The waves in order; the last takes every device left.' }),
  soak_seconds: Type.Integer({ description: 'Wait this long after a wave settled before the next one.' }),
  max_failure_ratio: Type.Number({
    description: 'A wave whose failed share exceeds this pauses the rollout.',
  }),
  include_new_devices: Type.Boolean({
    description: 'Devices that join the selected groups/tags during the rollout are included.',
  }),
});
const Selection = Type.Object({
  group_ids: Type.Array(Type.String()),
  include_subgroups: Type.Boolean(),
  tag_selector: Type.Union([Type.String(), Type.Null()]),
  device_ids: Type.Array(Type.String()),
});
const Plan = Type.Object({
  config_instance_ids: Type.Array(Type.String()),
  keep_current: Type.Boolean({
    description: "Keep each device's current instance of every schema the release still has.",
  }),
});

export const Rollout = Type.Object(
  {
    object: Type.Literal('rollout'),
    id: Type.String({ examples: ['rlt_123'] }),
    description: Type.String(),
    release_id: Type.String(),
    status: literals(ROLLOUT_STATUSES),
    status_reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it paused or was aborted.' }),
    auto_rollback: Type.Union([Type.Boolean(), Type.Null()]),
    plan: Plan,
    selection: Selection,
    strategy: Strategy,
    current_wave: Type.Integer({ description: 'The wave in progress, counted from 1.' }),
    soak_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    counts: Counts,
    waves: Type.Array(Type.Object({ wave: Type.Integer(), devices: Type.Integer(), counts: Counts })),
    created_at: Timestamp('When the rollout was created.'),
    updated_at: Timestamp('When the rollout last changed.'),
    deployments: Type.Optional(Type.Array(Type.Ref('Deployment'))),
  },
  { $id: 'Rollout', title: 'Rollout' },
);

export const RolloutEvent = Type.Object(
  {
    object: Type.Literal('rollout_event'),
    id: Type.String(),
    rollout_id: Type.String(),
    type: Type.String({
      examples: ['created', 'wave_started', 'soaking', 'paused', 'resumed', 'aborted', 'completed'],
    }),
    wave: Type.Union([Type.Integer(), Type.Null()], { description: 'Counted from 1.' }),
    message: Type.String(),
    timestamp: Timestamp('When it happened.'),
  },
  { $id: 'RolloutEvent', title: 'Rollout Event' },
);

/**
 * Rollouts with their targets' counts (one query for the whole batch) and, with
 * `expand=deployments`, the deployments they created (one get-many for the batch, each rollout's in
 * its targets' order: wave, then device id).
 */
async function renderRollouts(repos: Repositories, rows: readonly RolloutRow[], tree: ExpandTree) {
  const targets = await repos.rollouts.targets(rows.map((r) => r.id));
  const deploymentIdsOf = (rolloutId: string) =>
    targets.flatMap((t) => (t.rollout_id === rolloutId && t.deployment_id ? [t.deployment_id] : []));
  const deployments = await related(
    repos,
    deploymentView,
    tree.deployments,
    targets.flatMap((t) => (t.deployment_id ? [t.deployment_id] : [])),
    (ids) => repos.deployments.getMany(ids),
  );
  return rows.map((row) => {
    const view: RolloutView = toRollout(
      row,
      targets.filter((t) => t.rollout_id === row.id),
    );
    if (deployments) view.deployments = deploymentIdsOf(row.id).flatMap((id) => deployments.get(id) ?? []);
    return view;
  });
}

export type RolloutView = ReturnType<typeof toRollout> & { deployments?: DeploymentView[] };

export const rolloutView: View<RolloutRow, RolloutView> = {
  resource: 'rollout',
  noun: 'rollout',
  render: renderRollouts,
};

export function toRolloutEvent(e: RolloutEventRow) {
  return {
    object: 'rollout_event' as const,
    id: e.id,
    rollout_id: e.rollout_id,
    type: e.type,
    wave: e.wave === null ? null : e.wave + 1,
    message: e.message,
    timestamp: e.occurred_at,
  };
}
