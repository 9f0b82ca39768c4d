import { describe, expect, it } from 'vitest';
import {
  autoRollbackEnabled,
  type DeploymentState,
  type RollbackCandidate,
  redeployTarget,
  replacedBy,
  rollbackAfterFailure,
} from '../src/index.ts';

const S = (
  target: DeploymentState['target'],
  activity: DeploymentState['activity'],
  error: DeploymentState['error'] = 'none',
) => ({
  target,
  activity,
  error,
});
const queuedRetrying = S('deployed', 'queued', 'retrying');
const failed = S('archived', 'archived', 'failed');
const previousOk: RollbackCandidate = {
  id: 'dpl_a',
  release_id: 'rls_1',
  state: S('archived', 'deployed'),
  current_at: '2026-01-01T00:00:00.000Z',
  deployed_at: '2026-01-01T00:00:01.000Z',
};

describe('rollbackAfterFailure', () => {
  it.each([
    ['current upgrade fails, previous deployed', queuedRetrying, failed, previousOk, true, 'rollback'],
    ['current upgrade fails at once (queued)', S('deployed', 'queued'), failed, previousOk, true, 'rollback'],
    [
      'previous already removed by the agent (archived) still restorable',
      queuedRetrying,
      failed,
      { ...previousOk, state: S('archived', 'archived') },
      true,
      'rollback',
    ],
    ['turned off', queuedRetrying, failed, previousOk, false, 'disabled'],
    ['a retry is no failure', S('deployed', 'queued'), queuedRetrying, previousOk, true, 'not_a_failure'],
    ['already failed: repeated report', failed, failed, previousOk, true, 'not_a_failure'],
    [
      'superseded meanwhile: something else is current',
      S('archived', 'queued', 'retrying'),
      failed,
      previousOk,
      true,
      'not_current',
    ],
    ['first deployment of the device', queuedRetrying, failed, undefined, true, 'no_previous'],
    [
      'previous never reached the robot',
      queuedRetrying,
      failed,
      { ...previousOk, deployed_at: null },
      true,
      'previous_never_deployed',
    ],
    [
      'previous failed itself (a failing rollback does not chain)',
      queuedRetrying,
      failed,
      { ...previousOk, state: failed },
      true,
      'previous_failed',
    ],
  ] as const)('%s', (_name, from, to, previous, enabled, expected) => {
    const d = rollbackAfterFailure({ failedId: 'dpl_b', from, to, previous, enabled });
    expect(d.rollback ? 'rollback' : d.reason).toBe(expected);
    if (d.rollback) {
      expect(d).toMatchObject({ restore_id: 'dpl_a', release_id: 'rls_1' });
      expect(d.description).toContain('dpl_b');
      expect(d.description).toContain('dpl_a');
    }
  });
});

describe('replacedBy', () => {
  const c = (id: string, current_at: string | null): RollbackCandidate => ({
    ...previousOk,
    id,
    current_at,
  });
  it('is the deployment current last before the failed one', () => {
    const all = [
      c('dpl_1', 't1'),
      c('dpl_3', 't3'),
      c('dpl_2', 't2'),
      c('dpl_s', null),
      c('dpl_f', 't4'),
      c('dpl_5', 't5'),
    ];
    expect(replacedBy({ id: 'dpl_f', current_at: 't4' }, all)?.id).toBe('dpl_3');
  });
  it('is nothing for a deployment that never became current or had no predecessor', () => {
    expect(replacedBy({ id: 'dpl_f', current_at: null }, [c('dpl_1', 't1')])).toBeUndefined();
    expect(
      replacedBy({ id: 'dpl_f', current_at: 't1' }, [c('dpl_f', 't1'), c('dpl_2', 't2')]),
    ).toBeUndefined();
  });
  it('breaks a tie of times by id, as lists do', () => {
    expect(replacedBy({ id: 'dpl_b', current_at: 't1' }, [c('dpl_a', 't1'), c('dpl_c', 't1')])?.id).toBe(
      'dpl_a',
    );
  });
});

describe('settings and redeploy', () => {
  it.each([
    [true, null, null, true],
    [false, null, null, false],
    [true, false, null, false],
    [true, null, false, false],
    [true, true, true, true],
    [false, true, true, false],
  ] as const)('server %s, deployment %s, rollout %s → %s', (server, deployment, rollout, expected) => {
    expect(autoRollbackEnabled(server, deployment, rollout)).toBe(expected);
  });
  it.each([
    ['rls_1', null, { create: 'deployed', thenDeploy: false }],
    ['rls_1', 'rls_1', { create: 'deployed', thenDeploy: false }],
    ['rls_1', 'rls_2', { create: 'staged', thenDeploy: true }],
  ] as const)('redeploy of %s with current %s', (release, current, expected) => {
    expect(redeployTarget(release, current)).toEqual(expected);
  });
});
