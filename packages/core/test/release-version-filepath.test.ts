import { describe, expect, it } from 'vitest';
import { checkFilepath, defaultInstanceFilepath, filepathProblem } from '../src/filepath.ts';
import {
  checkReleaseSchemaSet,
  checkReleaseVersion,
  isReleaseVersion,
  releaseVersionKey,
} from '../src/release-version.ts';

describe('release version grammar (docs/decisions.md #29)', () => {
  it.each([
    'v1',
    '1',
    'v2.1',
    '2.1',
    'v3.2.1',
    '3.2.1',
    'v4.3.2-beta.1',
    '4.3.2-rc.1',
    'v5.4.3+metadata',
    '6.5.4-beta.2+metadata',
    '0.0.0',
  ])('accepts %s', (v) => expect(isReleaseVersion(v)).toBe(true));
  it.each([
    '',
    'v',
    'V1',
    '1.2.3.4',
    '01.2',
    '1.02',
    '1.2.',
    '1..2',
    'v1.2-',
    '1.2+',
    'latest',
    ' 1.2',
    '1.2-be ta',
  ])('rejects %j', (v) => expect(isReleaseVersion(v)).toBe(false));
  it('rejects overly long versions', () => expect(isReleaseVersion(`1.2.3-${'a'.repeat(200)}`)).toBe(false));
  it('checkReleaseVersion throws a 400 naming the field', () => {
    expect(() => checkReleaseVersion('1.2.3.4')).toThrow(
      expect.objectContaining({ status: 400, code: 'invalid_version' }),
    );
    expect(checkReleaseVersion('v1.2.0')).toBe('v1.2.0');
  });
  it('v1.2.0 and 1.2.0 share a key; 1.2 and 1.2.0 do not', () => {
    expect(releaseVersionKey('v1.2.0')).toBe(releaseVersionKey('1.2.0'));
    expect(releaseVersionKey('1.2')).not.toBe(releaseVersionKey('1.2.0'));
    expect(releaseVersionKey('v1.2.0-rc.1')).toBe('1.2.0-rc.1');
  });
});

describe('instance file paths', () => {
  it.each(['/srv/bosun/configs/a.json', '/a', '/etc/robot/.hidden', '/a/b..c/d.json'])('accepts %s', (p) =>
    expect(filepathProblem(p)).toBeNull(),
  );
  it.each([
    ['', 'empty'],
    ['relative/a.json', 'absolute'],
    ['/', 'root'],
    ['/srv/', 'trailing'],
    ['/srv//a.json', 'empty segments'],
    ['/srv/../etc/passwd', 'normalised'],
    ['/srv/./a.json', 'normalised'],
    ['/srv/a\u0000.json', 'control'],
    ['C:\\configs\\a.json', 'separator'],
  ])('rejects %j (%s)', (p, why) => expect(filepathProblem(p)).toContain(why));
  it('checkFilepath throws 400 invalid_filepath naming the field', () => {
    expect(() => checkFilepath('instance_filepath', '/a/../b')).toThrow(
      expect.objectContaining({
        status: 400,
        code: 'invalid_filepath',
        params: expect.objectContaining({ field: 'instance_filepath' }),
      }),
    );
  });
  it('default path uses the config type slug', () => {
    expect(defaultInstanceFilepath('mobility')).toBe('/srv/bosun/configs/mobility.json');
  });
});

describe('release schema set', () => {
  const s = (id: string, type: string, path: string) => ({
    id,
    config_type_id: type,
    instance_filepath: path,
  });
  it('accepts one schema per type with distinct paths', () => {
    expect(() => checkReleaseSchemaSet([s('a', 't1', '/a.json'), s('b', 't2', '/b.json')])).not.toThrow();
  });
  it('refuses an empty set', () => {
    expect(() => checkReleaseSchemaSet([])).toThrow(
      expect.objectContaining({ status: 422, code: 'invalid_schema_set' }),
    );
  });
  it('refuses two schemas of one type', () => {
    expect(() => checkReleaseSchemaSet([s('a', 't1', '/a.json'), s('b', 't1', '/b.json')])).toThrow(
      expect.objectContaining({
        status: 422,
        params: expect.objectContaining({
          clashes: [{ rule: 'one_schema_per_config_type', value: 't1', config_schema_ids: ['a', 'b'] }],
        }),
      }),
    );
  });
  it('refuses two schemas writing one file', () => {
    expect(() => checkReleaseSchemaSet([s('a', 't1', '/a.json'), s('b', 't2', '/a.json')])).toThrow(
      expect.objectContaining({
        params: expect.objectContaining({
          clashes: [{ rule: 'distinct_instance_filepaths', value: '/a.json', config_schema_ids: ['a', 'b'] }],
        }),
      }),
    );
  });
});
