import { describe, expect, it } from 'vitest';
import {
  ALL_STATES,
  BosunError,
  becomeCurrentEffects,
  checkArchive,
  checkCreateTarget,
  checkDeploy,
  checkParent,
  checkRestage,
  currentDeployment,
  type DeploymentState,
  type DeviceDeployment,
  initialState,
  isForward,
  stagingReplacementEffects,
} from '../src/index.ts';

const key = (s: DeploymentState) => `${s.target}/${s.activity}/${s.error}`;
const dep = (state: DeploymentState, id = 'dpl_x', release_id = 'rls_1'): DeviceDeployment => ({
  id,
  release_id,
  state,
});
function outcome(fn: () => DeploymentState): string {
  try {
    return key(fn());
  } catch (err) {
    const e = err as BosunError;
    expect(e.status).toBe(409);
    expect(e.message).toContain(e.params.target_status as string);
    return `409 ${e.code}`;
  }
}

describe('create', () => {
  it.each([
    ['staged', 'rls_2', null, 'ok'],
    ['deployed', 'rls_2', null, 'ok'],
    ['staged', 'rls_2', 'rls_1', 'ok'],
    ['deployed', 'rls_1', 'rls_1', 'ok'],
    ['staged', 'rls_1', 'rls_1', 'release_is_current'],
    ['deployed', 'rls_2', 'rls_1', 'release_not_current'],
  ] as const)('target %s of %s when current is %s → %s', (target, release, current, expected) => {
    let result = 'ok';
    try {
      checkCreateTarget(target, release, current);
    } catch (err) {
      const e = err as BosunError;
      expect(e.status).toBe(409);
      expect(e.message).toContain(release);
      if (current) expect(e.message).toContain(current);
      result = e.code;
    }
    expect(result).toBe(expected);
  });
  it('starts staged as staged/staged/none and deployed as deployed/queued/none', () => {
    expect(initialState('staged')).toEqual({ target: 'staged', activity: 'staged', error: 'none' });
    expect(initialState('deployed')).toEqual({ target: 'deployed', activity: 'queued', error: 'none' });
  });
  it('the current deployment is the one with target deployed', () => {
    const list = [
      dep({ target: 'archived', activity: 'deployed', error: 'none' }, 'a'),
      dep({ target: 'deployed', activity: 'queued', error: 'none' }, 'b', 'rls_2'),
      dep({ target: 'staged', activity: 'staged', error: 'none' }, 'c'),
    ];
    expect(currentDeployment(list)?.id).toBe('b');
    expect(currentDeployment(list.slice(0, 1))).toBeUndefined();
  });
  it('a parent must be a deployment of the same device (422 otherwise)', () => {
    expect(() => checkParent({ id: 'dpl_p', device_id: 'dvc_1' }, 'dpl_p', 'dvc_1')).not.toThrow();
    expect(() => checkParent(undefined, 'dpl_p', 'dvc_1')).toThrow(/names no deployment/);
    let error: unknown;
    try {
      checkParent({ id: 'dpl_p', device_id: 'dvc_2' }, 'dpl_p', 'dvc_1');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(BosunError);
    expect(error).toMatchObject({
      status: 422,
      code: 'invalid_parent',
      message: expect.stringContaining('dvc_2'),
    });
  });
});

describe('deploy, archive, restage over every (target, activity, error)', () => {
  for (const s of ALL_STATES) {
    const inStaging = s.target === 'staged' && (s.activity === 'staged' || s.activity === 'drifted');
    it(`${key(s)}`, () => {
      // deploy: only from staged/staged; drifted has its own message.
      const deploy = outcome(() => checkDeploy(dep(s)));
      if (s.target === 'staged' && s.activity === 'staged') expect(deploy).toBe('deployed/queued/none');
      else if (s.target === 'staged' && s.activity === 'drifted')
        expect(deploy).toBe('409 deployment_drifted');
      else expect(deploy).toBe('409 deployment_not_deployable');
      // archive: only from the staging area, to archived/archived.
      const archive = outcome(() => checkArchive(dep(s)));
      expect(archive).toBe(inStaging ? `archived/archived/${s.error}` : '409 deployment_not_archivable');
      // restage: only drifted → staged.
      const restage = outcome(() => checkRestage(dep(s)));
      expect(restage).toBe(
        s.target === 'staged' && s.activity === 'drifted'
          ? `staged/staged/${s.error}`
          : '409 deployment_not_drifted',
      );
    });
  }
  it('every allowed user action moves forward', () => {
    for (const s of ALL_STATES) {
      for (const check of [checkDeploy, checkArchive, checkRestage]) {
        try {
          expect(isForward(s, check(dep(s)))).toBe(true);
        } catch {}
      }
    }
  });
});

describe('effects when a deployment becomes current', () => {
  for (const s of ALL_STATES) {
    it(`on another deployment in ${key(s)}`, () => {
      const changes = becomeCurrentEffects('dpl_new', [dep(s, 'dpl_other'), dep(s, 'dpl_new')]);
      if (s.error === 'failed') {
        expect(changes).toEqual([]);
      } else if (s.target === 'deployed') {
        expect(changes).toEqual([
          {
            id: 'dpl_other',
            from: s,
            to: { ...s, target: 'archived' },
            message: expect.stringContaining('dpl_new'),
          },
        ]);
      } else if (s.target === 'staged' && s.activity === 'staged') {
        expect(changes).toEqual([
          {
            id: 'dpl_other',
            from: s,
            to: { ...s, activity: 'drifted' },
            message: expect.stringContaining('Drifted'),
          },
        ]);
      } else {
        expect(changes).toEqual([]);
      }
      for (const c of changes) expect(isForward(c.from, c.to)).toBe(true);
    });
  }
  it('drifts staged deployments of every release, archives the previous current one', () => {
    const staged = { target: 'staged', activity: 'staged', error: 'none' } as const;
    const changes = becomeCurrentEffects('C', [
      dep({ target: 'deployed', activity: 'deployed', error: 'none' }, 'A', 'v1'),
      dep(staged, 'B', 'v2'),
      dep(staged, 'D', 'v1'),
      dep({ target: 'staged', activity: 'drifted', error: 'none' }, 'E', 'v3'),
    ]);
    expect(changes.map((c) => `${c.id}:${key(c.to)}`)).toEqual([
      'A:archived/deployed/none',
      'B:staged/drifted/none',
      'D:staged/drifted/none',
    ]);
  });
});

describe('staging replacement (one staged-or-drifted per device and release)', () => {
  for (const s of ALL_STATES) {
    it(`replaces a same-release deployment in ${key(s)} only if it is in the staging area`, () => {
      const inStaging =
        s.error !== 'failed' &&
        s.target === 'staged' &&
        (s.activity === 'staged' || s.activity === 'drifted');
      const changes = stagingReplacementEffects('dpl_new', 'rls_1', [
        dep(s, 'same', 'rls_1'),
        dep(s, 'other', 'rls_2'),
      ]);
      expect(changes.map((c) => c.id)).toEqual(inStaging ? ['same'] : []);
      if (inStaging) {
        expect(changes[0]!.to).toEqual({ target: 'archived', activity: 'archived', error: s.error });
        expect(changes[0]!.message).toContain('dpl_new');
      }
    });
  }
});
