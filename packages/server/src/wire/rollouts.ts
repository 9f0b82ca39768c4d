import { countTargets, type RolloutStrategy, type TargetState } from '@bosun/core';
import type { Selectable } from 'kysely';
import type { RolloutTable } from '../db/fleet-schema.ts';

/** Which devices a rollout covers, as stored in its row and rendered. */
export interface RolloutSelection {
  group_ids: string[];
  include_subgroups: boolean;
  tag_selector: string | null;
  device_ids: string[];
}

/** The instances a rollout deploys, as stored in its row and rendered. */
export interface RolloutPlan {
  config_instance_ids: string[];
  keep_current: boolean;
}

/** What rendering needs of a target: whose it is, its wave and its state. */
export interface RenderedTarget {
  rollout_id: string;
  wave: number;
  state: TargetState;
}

/**
 * A rollout as the API renders it (the `Rollout` schema, without expansions), from its row and its
 * targets. The view answers with it and the `rollout.*` events carry it, rendered inside the
 * transaction of the change (docs/decisions.md #87), so it lives below both (docs/decisions.md #96).
 */
export function toRollout(row: Selectable<RolloutTable>, mine: readonly RenderedTarget[]) {
  const strategy: RolloutStrategy = JSON.parse(row.strategy);
  const counts = countTargets(mine, strategy.waves.length);
  return {
    object: 'rollout' as const,
    id: row.id,
    description: row.description,
    release_id: row.release_id,
    status: row.status,
    status_reason: row.status_reason,
    auto_rollback: row.auto_rollback === null ? null : row.auto_rollback === 1,
    plan: JSON.parse(row.plan) as RolloutPlan,
    selection: JSON.parse(row.selector) as RolloutSelection,
    strategy,
    current_wave: row.current_wave + 1,
    soak_until: row.soak_until,
    counts: counts.total,
    waves: counts.waves.map((c, i) => ({
      wave: i + 1,
      devices: mine.filter((t) => t.wave === i).length,
      counts: c,
    })),
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type RolloutBody = ReturnType<typeof toRollout>;
