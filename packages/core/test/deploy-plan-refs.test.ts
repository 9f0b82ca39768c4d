import { describe, expect, it } from 'vitest';
import {
  BosunError,
  canBeName,
  type DeployPlanInput,
  deployPlanIsNoop,
  looksLikeId,
  pickReference,
  planDeploy,
} from '../src/index.ts';

function refusal(fn: () => unknown): BosunError {
  try {
    fn();
  } catch (err) {
    if (err instanceof BosunError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('references: names, versions and slugs wherever an id is accepted', () => {
  it.each([
    ['device', 'dvc_abc', true],
    ['device', 'dvc_', false],
    ['device', 'amr-017', false],
    ['release', 'rls_x', true],
    ['configType', 'cfg_typ_x', true],
    ['configType', 'cfg_sch_x', false],
  ] as const)('looksLikeId(%s, %s) = %s', (kind, ref, expected) => {
    expect(looksLikeId(kind, ref)).toBe(expected);
  });

  it.each([
    ['release', 'v1.2.0', true],
    ['release', '1.2.0', true],
    ['release', 'rls_abc', false],
    ['release', 'latest', false],
    ['configType', 'mobility', true],
    ['configType', 'cfg_typ_abc', false],
    ['configType', 'Mobility', false],
    ['device', 'dvc_abc', true],
    ['device', 'amr 17', true],
    ['device', 'x'.repeat(49), false],
    ['group', 'berlin/line 1', true],
    ['group', 'grp_abc', true],
    ['group', '   ', false],
    ['deployment', 'anything', false],
  ] as const)('canBeName(%s, %s) = %s', (kind, ref, expected) => {
    expect(canBeName(kind, ref)).toBe(expected);
  });

  const cases: {
    name: string;
    kind: 'device' | 'release' | 'configType';
    ref: string;
    byName: string[];
    idExists: boolean | null;
    id?: string;
    code?: string;
    status?: number;
  }[] = [
    { name: 'a name', kind: 'device', ref: 'amr-017', byName: ['dvc_1'], idExists: null, id: 'dvc_1' },
    { name: 'an id', kind: 'device', ref: 'dvc_1', byName: [], idExists: null, id: 'dvc_1' },
    {
      name: 'an unknown id is the server 404',
      kind: 'release',
      ref: 'rls_x',
      byName: [],
      idExists: null,
      id: 'rls_x',
    },
    { name: 'a version', kind: 'release', ref: '1.2.0', byName: ['rls_9'], idExists: null, id: 'rls_9' },
    {
      name: 'a slug',
      kind: 'configType',
      ref: 'mobility',
      byName: ['cfg_typ_2'],
      idExists: null,
      id: 'cfg_typ_2',
    },
    {
      name: 'an unknown name',
      kind: 'device',
      ref: 'amr-999',
      byName: [],
      idExists: null,
      code: 'unknown_reference',
      status: 404,
    },
    {
      name: 'an unknown version',
      kind: 'release',
      ref: 'v9',
      byName: [],
      idExists: null,
      code: 'unknown_reference',
      status: 404,
    },
    {
      name: 'a name of two',
      kind: 'release',
      ref: '1.0',
      byName: ['rls_a', 'rls_b'],
      idExists: null,
      code: 'ambiguous_reference',
      status: 409,
    },
    {
      name: 'the same object twice is one',
      kind: 'device',
      ref: 'amr',
      byName: ['dvc_a', 'dvc_a'],
      idExists: null,
      id: 'dvc_a',
    },
    {
      name: 'a device named like an id, no such id',
      kind: 'device',
      ref: 'dvc_x',
      byName: ['dvc_real'],
      idExists: false,
      id: 'dvc_real',
    },
    {
      name: 'a device named like another device id',
      kind: 'device',
      ref: 'dvc_x',
      byName: ['dvc_real'],
      idExists: true,
      code: 'ambiguous_reference',
      status: 409,
    },
    {
      name: 'a device named its own id',
      kind: 'device',
      ref: 'dvc_x',
      byName: ['dvc_x'],
      idExists: true,
      id: 'dvc_x',
    },
  ];
  it.each(cases)('$name', ({ kind, ref, byName, idExists, id, code, status }) => {
    if (id !== undefined) {
      expect(pickReference(kind, ref, { byName, idExists })).toBe(id);
      return;
    }
    const err = refusal(() => pickReference(kind, ref, { byName, idExists }));
    expect(err.code).toBe(code);
    expect(err.status).toBe(status);
    expect(err.message).toContain(`'${ref}'`);
  });

  it('an unknown reference names the field it was looked up by', () => {
    expect(refusal(() => pickReference('configType', 'lidar', { byName: [], idExists: null })).message).toBe(
      "No config type has the id or slug 'lidar'.",
    );
  });
});

describe('one-shot deploy plan', () => {
  // Release v2: mobility (new schema S_mob2), perception (unchanged S_per), safety (unchanged S_saf).
  const v2 = {
    id: 'rls_v2',
    schemas: [
      { id: 'S_mob2', config_type_id: 'T_mob', config_type_slug: 'mobility' },
      { id: 'S_per', config_type_id: 'T_per', config_type_slug: 'perception' },
      { id: 'S_saf', config_type_id: 'T_saf', config_type_slug: 'safety' },
    ],
  };
  // Current deployment on v1: mobility S_mob (old schema), perception S_per, safety S_saf.
  const onV1 = {
    id: 'dpl_cur',
    release_id: 'rls_v1',
    instances: [
      { id: 'I_mob', config_schema_id: 'S_mob' },
      { id: 'I_per', config_schema_id: 'S_per' },
      { id: 'I_saf', config_schema_id: 'S_saf' },
    ],
  };
  const onV2 = {
    id: 'dpl_v2',
    release_id: 'rls_v2',
    instances: [
      { id: 'I_mob2', config_schema_id: 'S_mob2' },
      { id: 'I_per', config_schema_id: 'S_per' },
      { id: 'I_saf', config_schema_id: 'S_saf' },
    ],
  };
  const plan = (p: Partial<DeployPlanInput>) =>
    planDeploy({ release: v2, sets: [], current: null, stage: false, ...p });

  it('an upgrade: the set type is new, the others carry over, staged then deployed, parent is current', () => {
    expect(plan({ sets: ['mobility'], current: onV1 })).toEqual({
      items: [
        { config_schema_id: 'S_mob2', config_type_slug: 'mobility', source: { set: 'mobility' } },
        { config_schema_id: 'S_per', config_type_slug: 'perception', source: { carry: 'I_per' } },
        { config_schema_id: 'S_saf', config_type_slug: 'safety', source: { carry: 'I_saf' } },
      ],
      mode: 'stage_then_deploy',
      parent_id: 'dpl_cur',
    });
  });

  it.each([
    { name: 'patch of the current release', current: onV2, stage: false, sets: ['safety'], mode: 'deploy' },
    { name: 'upgrade', current: onV1, stage: false, sets: ['mobility'], mode: 'stage_then_deploy' },
    { name: 'upgrade, staged only', current: onV1, stage: true, sets: ['mobility'], mode: 'stage' },
    {
      name: 'first deployment',
      current: null,
      stage: false,
      sets: ['mobility', 'perception', 'safety'],
      mode: 'deploy',
    },
    {
      name: 'first deployment, staged',
      current: null,
      stage: true,
      sets: ['mobility', 'perception', 'safety'],
      mode: 'stage',
    },
  ] as const)('mode: $name → $mode', ({ current, stage, sets, mode }) => {
    const p = plan({ current, stage, sets });
    expect(p.mode).toBe(mode);
    expect(p.parent_id).toBe(current?.id ?? null);
  });

  it('a patch with nothing set carries everything over', () => {
    expect(plan({ current: onV2 }).items.map((i) => i.source)).toEqual([
      { carry: 'I_mob2' },
      { carry: 'I_per' },
      { carry: 'I_saf' },
    ]);
  });

  it.each([
    {
      name: 'a type whose schema changed is not carried over',
      input: { current: onV1, sets: [] },
      params: { missing: [{ config_type_slug: 'mobility', config_schema_id: 'S_mob2' }] },
      message: 'give --set mobility=FILE',
    },
    {
      name: 'a type with no schema in the release',
      input: { current: onV1, sets: ['mobility', 'lidar'] },
      params: { not_in_release: ['lidar'] },
      message:
        'no schema of the release is for config type lidar (its config types: mobility, perception, safety)',
    },
    {
      name: 'a type set twice',
      input: { current: onV1, sets: ['mobility', 'mobility'] },
      params: { duplicated: ['mobility'] },
      message: 'config type mobility is set more than once',
    },
    {
      name: 'no current deployment: every type must be set',
      input: { current: null, sets: ['mobility'] },
      params: { missing: [{ config_type_slug: 'perception' }, { config_type_slug: 'safety' }] },
      message: 'the device has no current deployment',
    },
  ])('refused (422, nothing created): $name', ({ input, params, message }) => {
    const err = refusal(() => plan(input));
    expect(err.status).toBe(422);
    expect(err.code).toBe('invalid_deploy_plan');
    expect(err.params).toMatchObject(params);
    expect(err.message).toContain(message);
  });

  it('--stage for the current release is the server rule release_is_current (409)', () => {
    const err = refusal(() => plan({ current: onV2, stage: true, sets: ['safety'] }));
    expect(err.status).toBe(409);
    expect(err.code).toBe('release_is_current');
  });

  it.each([
    {
      name: 'the same set of the current release',
      current: onV2,
      release: 'rls_v2',
      ids: ['I_per', 'I_mob2', 'I_saf'],
      noop: true,
    },
    {
      name: 'one instance changed',
      current: onV2,
      release: 'rls_v2',
      ids: ['I_mob3', 'I_per', 'I_saf'],
      noop: false,
    },
    {
      name: 'another release',
      current: onV1,
      release: 'rls_v2',
      ids: ['I_mob', 'I_per', 'I_saf'],
      noop: false,
    },
    { name: 'no current deployment', current: null, release: 'rls_v2', ids: ['I_mob2'], noop: false },
  ])('no-op: $name → $noop', ({ current, release, ids, noop }) => {
    expect(deployPlanIsNoop(current, release, ids)).toBe(noop);
  });
});
