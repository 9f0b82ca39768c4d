import { describe, expect, it } from 'vitest';
import { type BosunError, checkInstanceSet, instanceSetProblems } from '../src/index.ts';

// The reference scenario of docs/decisions.md #30: v1 {S_mob, S_nav}, v2 {S_mob2, S_nav}; I1(S_mob) I2(S_nav) I3(S_mob2) I4(S_mob).
const instances = [
  { id: 'I1', config_schema_id: 'S_mob' },
  { id: 'I2', config_schema_id: 'S_nav' },
  { id: 'I3', config_schema_id: 'S_mob2' },
  { id: 'I4', config_schema_id: 'S_mob' },
];
const v1 = ['S_mob', 'S_nav'];
const v2 = ['S_mob2', 'S_nav'];
const found = (ids: string[]) => instances.filter((i) => ids.includes(i.id));

function refusal(release: string[], ids: string[]): BosunError {
  try {
    checkInstanceSet('rls_x', release, ids, found(ids));
  } catch (err) {
    return err as BosunError;
  }
  throw new Error('expected a refusal');
}

describe('instance-set rule', () => {
  it('accepts exactly one instance per schema, returned in the order of the release', () => {
    expect(checkInstanceSet('rls_v2', v2, ['I2', 'I3'], found(['I2', 'I3']))).toEqual(['I3', 'I2']);
    expect(checkInstanceSet('rls_v1', v1, ['I4', 'I2'], found(['I4', 'I2']))).toEqual(['I4', 'I2']);
  });
  it('names a missing schema', () => {
    const err = refusal(v2, ['I3']);
    expect(err.status).toBe(422);
    expect(err.code).toBe('invalid_config_instances');
    expect(err.message).toContain('missing an instance of config schema S_nav');
    expect(err.params).toMatchObject({ missing: ['S_nav'], extra: [], duplicated: [], unknown: [] });
  });
  it('names an instance whose schema is not in the release', () => {
    const err = refusal(v2, ['I3', 'I2', 'I1']);
    expect(err.message).toContain('I1 is an instance of S_mob, which is not in the release');
    expect(err.params.extra).toEqual([{ config_instance_id: 'I1', config_schema_id: 'S_mob' }]);
  });
  it('names a schema given twice, by two instances or the same one repeated', () => {
    expect(refusal(v1, ['I1', 'I4', 'I2']).params.duplicated).toEqual([
      { config_schema_id: 'S_mob', config_instance_ids: ['I1', 'I4'] },
    ]);
    expect(refusal(v1, ['I1', 'I1', 'I2']).message).toContain('S_mob has more than one instance (I1, I1)');
  });
  it('names unknown ids, and an empty list misses every schema', () => {
    expect(refusal(v1, ['I1', 'I2', 'nope']).params.unknown).toEqual(['nope']);
    expect(instanceSetProblems(v1, [], []).missing).toEqual(['S_mob', 'S_nav']);
  });
  it('reports every problem at once', () => {
    const p = instanceSetProblems(v2, ['I1', 'I4', 'ghost'], found(['I1', 'I4']));
    expect(p.unknown).toEqual(['ghost']);
    expect(p.missing).toEqual(['S_mob2', 'S_nav']);
    expect(p.extra.map((e) => e.config_instance_id)).toEqual(['I1', 'I4']);
  });
});
