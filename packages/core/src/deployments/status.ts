/**
 * The three status fields of a deployment and the derived `status` (docs/decisions.md #25).
 * Every layer that shows a status calls `deriveStatus`; nothing else merges the fields.
 */

export const TARGET_STATUSES = ['staged', 'deployed', 'archived'] as const;
export const ACTIVITY_STATUSES = ['drifted', 'staged', 'queued', 'deployed', 'archived'] as const;
export const ERROR_STATUSES = ['none', 'retrying', 'failed'] as const;
export const DEPLOYMENT_STATUSES = [
  'drifted',
  'staged',
  'queued',
  'deployed',
  'archived',
  'failed',
  'retrying',
] as const;

export type DeploymentTargetStatus = (typeof TARGET_STATUSES)[number];
export type DeploymentActivityStatus = (typeof ACTIVITY_STATUSES)[number];
export type DeploymentErrorStatus = (typeof ERROR_STATUSES)[number];
export type DeploymentStatus = (typeof DEPLOYMENT_STATUSES)[number];

export interface DeploymentState {
  target: DeploymentTargetStatus;
  activity: DeploymentActivityStatus;
  error: DeploymentErrorStatus;
}

/** Error status wins over activity status: (deployed, failed) → failed; (queued, none) → queued. */
export function deriveStatus(state: { activity: DeploymentActivityStatus; error: DeploymentErrorStatus }) {
  return (state.error === 'none' ? state.activity : state.error) as DeploymentStatus;
}

export const describeState = (s: DeploymentState) =>
  `target ${s.target}, activity ${s.activity}, error ${s.error}`;

export const sameState = (a: DeploymentState, b: DeploymentState) =>
  a.target === b.target && a.activity === b.activity && a.error === b.error;

/** Target only moves staged → deployed → archived (or staged → archived). */
const TARGET_RANK: Record<DeploymentTargetStatus, number> = { staged: 0, deployed: 1, archived: 2 };
/** Staged and drifted are both "in the staging area": review moves between them in either direction. */
const ACTIVITY_RANK: Record<DeploymentActivityStatus, number> = {
  staged: 0,
  drifted: 0,
  queued: 1,
  deployed: 2,
  archived: 3,
};

/**
 * True when `to` is reachable from `from` without any field moving backwards: the invariant
 * "statuses only move forward" (docs/decisions.md #25). A failed deployment never changes again; `retrying` may
 * return to `none` (success after retries) but nothing leaves `failed`.
 */
export function isForward(from: DeploymentState, to: DeploymentState): boolean {
  if (from.error === 'failed' && !sameState(from, to)) return false;
  return (
    TARGET_RANK[to.target] >= TARGET_RANK[from.target] &&
    ACTIVITY_RANK[to.activity] >= ACTIVITY_RANK[from.activity]
  );
}

/** Every (target, activity, error) combination, for exhaustive tests and tooling. */
export const ALL_STATES: DeploymentState[] = TARGET_STATUSES.flatMap((target) =>
  ACTIVITY_STATUSES.flatMap((activity) => ERROR_STATUSES.map((error) => ({ target, activity, error }))),
);
