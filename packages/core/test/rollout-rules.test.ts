import { describe, expect, it } from 'vitest';
import {
  assignWaves,
  type BosunError,
  checkRolloutAction,
  checkRolloutPlan,
  checkStrategy,
  countTargets,
  emptyCounts,
  nextStep,
  type RolloutStatus,
  targetState,
  type WaveCounts,
  waveSizes,
} from '../src/index.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return `${(err as BosunError).status} ${(err as BosunError).code}`;
  }
};
const counts = (c: Partial<WaveCounts>) => ({ ...emptyCounts(), ...c });

describe('waves', () => {
  it.each([
    [20, [{ devices: 1 }, { percent: 10 }, { percent: 100 }], [1, 2, 17]],
    [200, [{ devices: 1 }, { percent: 10 }, { percent: 100 }], [1, 20, 179]],
    [1, [{ devices: 1 }, { percent: 10 }, { percent: 100 }], [1, 0, 0]],
    [0, [{ percent: 50 }, { percent: 50 }], [0, 0]],
    [3, [{ percent: 10 }, { devices: 5 }], [1, 2]],
    [10, [{ percent: 100 }], [10]],
  ] as const)('%i devices over %j → %j', (total, waves, expected) => {
    expect(waveSizes(total, waves)).toEqual(expected);
  });
  it('assigns devices to waves in selection order', () => {
    const w = assignWaves(['a', 'b', 'c', 'd'], [{ devices: 1 }, { percent: 50 }, { percent: 100 }]);
    expect([...w]).toEqual([
      ['a', 0],
      ['b', 1],
      ['c', 1],
      ['d', 2],
    ]);
  });
  it.each([
    [{}, 'ok'],
    [{ waves: [] }, '400 invalid_strategy'],
    [{ waves: [{ devices: 1, percent: 5 }] }, '400 invalid_strategy'],
    [{ waves: [{}] }, '400 invalid_strategy'],
    [{ waves: [{ devices: 0 }] }, '400 invalid_strategy'],
    [{ waves: [{ percent: 101 }] }, '400 invalid_strategy'],
    [{ soak_seconds: -1 }, '400 invalid_strategy'],
    [{ max_failure_ratio: 1.5 }, '400 invalid_strategy'],
    [{ max_failure_ratio: 0.2, soak_seconds: 60, waves: [{ devices: 1 }, { percent: 100 }] }, 'ok'],
  ] as const)('strategy %j → %s', (input, expected) => {
    expect(code(() => checkStrategy(input as any))).toBe(expected);
  });
});

describe('target state', () => {
  const S = (target: any, activity: any, error: any = 'none') => ({ target, activity, error });
  it.each([
    ['pending', null, 'pending'],
    ['skipped', null, 'skipped'],
    ['created', { state: S('deployed', 'queued'), deployed_at: null }, 'in_progress'],
    ['created', { state: S('deployed', 'queued', 'retrying'), deployed_at: null }, 'in_progress'],
    ['created', { state: S('deployed', 'deployed'), deployed_at: 't' }, 'deployed'],
    ['created', { state: S('archived', 'archived', 'failed'), deployed_at: null }, 'failed'],
    ['created', { state: S('archived', 'deployed'), deployed_at: 't' }, 'deployed'],
    ['created', { state: S('archived', 'queued'), deployed_at: null }, 'superseded'],
  ] as const)('%s with %j → %s', (stored, deployment, expected) => {
    expect(targetState(stored, deployment as any)).toBe(expected);
  });
});

describe('nextStep', () => {
  const strategy = checkStrategy({
    waves: [{ devices: 1 }, { percent: 50 }, { percent: 100 }],
    max_failure_ratio: 0.2,
    soak_seconds: 10,
  });
  const now = '2026-01-01T00:00:00.000Z';
  const step = (
    status: RolloutStatus,
    currentWave: number,
    waves: WaveCounts[],
    soakUntil: string | null = null,
    s = strategy,
  ) => nextStep({ status, strategy: s, currentWave, waves, soakUntil, now });
  const three = (w0: Partial<WaveCounts>, w1: Partial<WaveCounts> = {}, w2: Partial<WaveCounts> = {}) => [
    counts(w0),
    counts(w1),
    counts(w2),
  ];
  it.each([
    ['paused', 0, three({ pending: 1 }), null, 'wait'],
    ['running', 0, three({ pending: 1 }, { pending: 5 }), null, 'start_wave 0'],
    ['running', 0, three({ in_progress: 1 }, { pending: 5 }), null, 'wait'],
    ['running', 0, three({ deployed: 1 }, { pending: 5 }), null, 'soak'],
    ['running', 0, three({ deployed: 1 }, { pending: 5 }), '2026-01-01T00:00:05.000Z', 'wait'],
    ['running', 0, three({ deployed: 1 }, { pending: 5 }), '2025-12-31T23:59:59.000Z', 'start_wave 1'],
    ['running', 1, three({ deployed: 1 }, { deployed: 4, failed: 1 }), null, 'soak'],
    ['running', 1, three({ deployed: 1 }, { deployed: 3, failed: 2 }), null, 'pause'],
    ['running', 1, three({ deployed: 1 }, { in_progress: 3, failed: 2 }), null, 'pause'],
    ['running', 2, three({ deployed: 1 }, { deployed: 5 }, { deployed: 9 }), null, 'complete'],
    ['running', 2, three({ deployed: 1 }, { deployed: 5 }, { skipped: 3 }), null, 'complete'],
  ] as const)('%s in wave %i with %j (soak until %s) → %s', (status, wave, waves, soak, expected) => {
    const got = step(status, wave, waves, soak);
    expect(got.action === 'start_wave' ? `start_wave ${got.wave}` : got.action).toBe(expected);
  });
  it('names the wave, the count and the budget when it pauses', () => {
    const got = step('running', 1, three({ deployed: 1 }, { deployed: 3, failed: 2 }));
    expect(got).toEqual({
      action: 'pause',
      reason: 'Wave 2: 2 of 5 devices failed (40%, more than the allowed 20%).',
    });
  });
  it('without a soak time the next wave starts at once', () => {
    const s = checkStrategy({ waves: [{ devices: 1 }, { percent: 100 }] });
    expect(step('running', 0, [counts({ deployed: 1 }), counts({ pending: 2 })], null, s)).toEqual({
      action: 'start_wave',
      wave: 1,
    });
  });
});

describe('rollout actions', () => {
  it.each([
    ['running', 'pause', 'paused'],
    ['paused', 'resume', 'running'],
    ['running', 'abort', 'aborted'],
    ['paused', 'abort', 'aborted'],
    ['running', 'resume', '409 rollout_not_paused'],
    ['paused', 'pause', '409 rollout_not_active'],
    ['completed', 'abort', '409 rollout_not_active'],
    ['aborted', 'resume', '409 rollout_not_paused'],
  ] as const)('%s + %s → %s', (status, action, expected) => {
    let got: string;
    try {
      got = checkRolloutAction('rlt_1', status, action);
    } catch (err) {
      got = `${(err as BosunError).status} ${(err as BosunError).code}`;
    }
    expect(got).toBe(expected);
  });
});

describe('rollout plan', () => {
  const found = [
    { id: 'i_mob', config_schema_id: 's_mob' },
    { id: 'i_nav', config_schema_id: 's_nav' },
    { id: 'i_old', config_schema_id: 's_old' },
  ];
  it.each([
    [['i_mob', 'i_nav'], false, 'ok'],
    [['i_mob'], false, '422 invalid_config_instances'],
    [['i_mob'], true, 'ok'],
    [[], true, 'ok'],
    [['i_mob', 'i_old'], true, '422 invalid_config_instances'],
    [['i_missing'], true, '422 invalid_config_instances'],
  ] as const)('%j keep_current %s → %s', (ids, keep, expected) => {
    expect(code(() => checkRolloutPlan('rls_1', ['s_mob', 's_nav'], ids, found, keep))).toBe(expected);
  });
});

describe('countTargets', () => {
  it('counts per state, overall and per wave (waves without devices count zero)', () => {
    const c = countTargets(
      [
        { wave: 0, state: 'deployed' },
        { wave: 1, state: 'failed' },
        { wave: 1, state: 'in_progress' },
        { wave: 1, state: 'deployed' },
      ],
      3,
    );
    expect(c.total).toEqual(counts({ deployed: 2, failed: 1, in_progress: 1 }));
    expect(c.waves).toEqual([
      counts({ deployed: 1 }),
      counts({ deployed: 1, failed: 1, in_progress: 1 }),
      counts({}),
    ]);
  });
});
