import { checkInstanceSet, type InstanceRef, instanceSetProblems } from '../deployments/instance-set.ts';
import type { DeploymentState } from '../deployments/status.ts';
import { badRequest, conflict } from '../errors.ts';

/**
 * Rollouts (extension, docs/decisions.md #78): a release deployed over a selection of devices in
 * waves, with a soak time between waves and a failure budget per wave that pauses the rollout. These
 * are the rules; the server's driver applies them.
 */

export const ROLLOUT_STATUSES = ['running', 'paused', 'completed', 'aborted'] as const;
export type RolloutStatus = (typeof ROLLOUT_STATUSES)[number];
export const TARGET_STATES = [
  'pending',
  'in_progress',
  'deployed',
  'failed',
  'superseded',
  'skipped',
] as const;
export type TargetState = (typeof TARGET_STATES)[number];
/** What the server stores per target; the shown `TargetState` is derived from it and the deployment. */
export type StoredTargetState = 'pending' | 'created' | 'skipped';

/** A wave: a number of devices, or a percentage of all selected devices; the last wave takes the rest. */
export interface WaveSpec {
  devices?: number | undefined;
  percent?: number | undefined;
}

export interface RolloutStrategy {
  waves: WaveSpec[];
  soak_seconds: number;
  /** A wave whose failed share exceeds this pauses the rollout (0: any failure pauses). */
  max_failure_ratio: number;
  /** Devices that join the selection while the rollout runs are included in the current or a later wave. */
  include_new_devices: boolean;
}

export const MAX_WAVES = 20;

/** Checks a strategy (400 `invalid_strategy`) and fills defaults. */
export function checkStrategy(input: {
  waves?: WaveSpec[] | undefined;
  soak_seconds?: number | undefined;
  max_failure_ratio?: number | undefined;
  include_new_devices?: boolean | undefined;
}): RolloutStrategy {
  const bad = (field: string, why: string): never => {
    throw badRequest('invalid_strategy', `${field} ${why}.`, { field });
  };
  const waves = input.waves ?? [{ percent: 100 }];
  if (waves.length < 1 || waves.length > MAX_WAVES) bad('waves', `must have 1 to ${MAX_WAVES} waves`);
  waves.forEach((w, i) => {
    const hasCount = w.devices !== undefined;
    const hasPercent = w.percent !== undefined;
    if (hasCount === hasPercent) bad(`waves[${i}]`, 'needs exactly one of devices or percent');
    if (hasCount && (!Number.isInteger(w.devices) || w.devices! < 1))
      bad(`waves[${i}].devices`, 'must be a positive integer');
    if (hasPercent && (!(w.percent! > 0) || w.percent! > 100))
      bad(`waves[${i}].percent`, 'must be above 0 and at most 100');
  });
  const soak = input.soak_seconds ?? 0;
  if (!Number.isInteger(soak) || soak < 0 || soak > 7 * 24 * 3600)
    bad('soak_seconds', 'must be an integer from 0 to 604800');
  const ratio = input.max_failure_ratio ?? 0;
  if (!(ratio >= 0 && ratio <= 1)) bad('max_failure_ratio', 'must be between 0 and 1');
  return {
    waves,
    soak_seconds: soak,
    max_failure_ratio: ratio,
    include_new_devices: input.include_new_devices ?? false,
  };
}

/**
 * Wave sizes for `total` devices: counts as given, percentages of the total rounded up (at least one
 * device), never more than what is left; the last wave takes whatever remains.
 */
export function waveSizes(total: number, waves: readonly WaveSpec[]): number[] {
  let left = total;
  return waves.map((w, i) => {
    const wanted =
      i === waves.length - 1 ? left : (w.devices ?? Math.max(1, Math.ceil((total * w.percent!) / 100)));
    const size = Math.min(left, wanted);
    left -= size;
    return size;
  });
}

/** The wave of each device, in selection order. */
export function assignWaves(deviceIds: readonly string[], waves: readonly WaveSpec[]): Map<string, number> {
  const sizes = waveSizes(deviceIds.length, waves);
  const out = new Map<string, number>();
  let at = 0;
  sizes.forEach((size, wave) => {
    for (const id of deviceIds.slice(at, at + size)) out.set(id, wave);
    at += size;
  });
  return out;
}

/** Where a device of the rollout stands, from its deployment (null: none created yet). */
export function targetState(
  stored: StoredTargetState,
  deployment: { state: DeploymentState; deployed_at: string | null } | null,
): TargetState {
  if (stored === 'skipped') return 'skipped';
  if (!deployment) return 'pending';
  const { state } = deployment;
  if (state.error === 'failed') return 'failed';
  if (state.activity === 'deployed' && state.target === 'deployed') return 'deployed';
  if (state.target === 'archived') return deployment.deployed_at ? 'deployed' : 'superseded';
  return 'in_progress';
}

export type WaveCounts = Record<TargetState, number>;

export const emptyCounts = (): WaveCounts => ({
  pending: 0,
  in_progress: 0,
  deployed: 0,
  failed: 0,
  superseded: 0,
  skipped: 0,
});

/** Counts per state, overall and per wave, of a rollout's targets. */
export function countTargets(
  targets: readonly { wave: number; state: TargetState }[],
  waves: number,
): { total: WaveCounts; waves: WaveCounts[] } {
  const total = emptyCounts();
  const per = Array.from({ length: waves }, emptyCounts);
  for (const t of targets) {
    total[t.state]++;
    per[t.wave]![t.state]++;
  }
  return { total, waves: per };
}

export type RolloutStep =
  | { action: 'wait' }
  | { action: 'start_wave'; wave: number }
  | { action: 'soak'; until: string }
  | { action: 'pause'; reason: string }
  | { action: 'complete' };

/**
 * What the driver does next with a running rollout. The current wave is started when it still has
 * pending devices; a wave whose failed share exceeds the budget pauses the rollout with the reason;
 * once every device of the wave has settled the rollout soaks, then starts the next wave, or
 * completes after the last. Devices that are offline stay in progress (never failed): the wave waits.
 */
export function nextStep(input: {
  status: RolloutStatus;
  strategy: RolloutStrategy;
  currentWave: number;
  waves: WaveCounts[];
  soakUntil: string | null;
  now: string;
}): RolloutStep {
  if (input.status !== 'running') return { action: 'wait' };
  const w = input.currentWave;
  const counts = input.waves[w] ?? emptyCounts();
  const total = counts.pending + counts.in_progress + counts.deployed + counts.failed + counts.superseded;
  if (total > 0 && counts.failed / total > input.strategy.max_failure_ratio) {
    const pct = (x: number) => `${Math.round(x * 1000) / 10}%`;
    return {
      action: 'pause',
      reason: `Wave ${w + 1}: ${counts.failed} of ${total} devices failed (${pct(counts.failed / total)}, more than the allowed ${pct(input.strategy.max_failure_ratio)}).`,
    };
  }
  if (counts.pending > 0) return { action: 'start_wave', wave: w };
  if (counts.in_progress > 0) return { action: 'wait' };
  const last = w >= input.waves.length - 1;
  if (!last && input.strategy.soak_seconds > 0) {
    if (input.soakUntil === null)
      return {
        action: 'soak',
        until: new Date(Date.parse(input.now) + input.strategy.soak_seconds * 1000).toISOString(),
      };
    if (input.now < input.soakUntil) return { action: 'wait' };
  }
  return last ? { action: 'complete' } : { action: 'start_wave', wave: w + 1 };
}

export type RolloutAction = 'pause' | 'resume' | 'abort';

/** pause: running → paused; resume: paused → running; abort: running/paused → aborted. Else 409. */
export function checkRolloutAction(id: string, status: RolloutStatus, action: RolloutAction): RolloutStatus {
  const allowed: Record<RolloutAction, [RolloutStatus[], RolloutStatus]> = {
    pause: [['running'], 'paused'],
    resume: [['paused'], 'running'],
    abort: [['running', 'paused'], 'aborted'],
  };
  const [from, to] = allowed[action];
  if (!from.includes(status)) {
    throw conflict(
      'rollout_not_' + (action === 'resume' ? 'paused' : 'active'),
      `Rollout ${id} cannot ${action}: it is ${status}; ${action} needs ${from.join(' or ')}.`,
      {
        rule: 'rollout_transition',
        rollout_id: id,
        status,
        action,
      },
    );
  }
  return to;
}

/**
 * A rollout's instance plan: one instance per schema of the release (the instance-set rule), except
 * that with `keep_current` a schema may be left out — each device then keeps its current instance of
 * it, which the rule checks again per device when its deployment is created.
 */
export function checkRolloutPlan(
  releaseId: string,
  releaseSchemaIds: readonly string[],
  requestedIds: readonly string[],
  found: readonly InstanceRef[],
  keepCurrent: boolean,
): void {
  const p = instanceSetProblems(releaseSchemaIds, requestedIds, found);
  const onlyMissing = !p.unknown.length && !p.extra.length && !p.duplicated.length;
  if (keepCurrent && onlyMissing) return;
  checkInstanceSet(releaseId, releaseSchemaIds, requestedIds, found);
}
