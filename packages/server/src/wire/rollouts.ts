import { countTargets, type RolloutStrategy } from '@bosun/core';
import type { RolloutPlan, RolloutRow, RolloutSelection, TargetView } from '../storage/rollouts.ts';

/**
 * A rollout as the API renders it (the `Rollout` schema, without expansions), from its row and its
 * targets. The view answers with it and the `rollout.*` events carry it, rendered inside the
 * transaction of the change (docs/decisions.md #87), so it lives below both (docs/decisions.md #96).
 */
export function toRollout(row: RolloutRow, mine: readonly TargetView[]) {
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
