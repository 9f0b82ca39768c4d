import { describe, expect, it } from 'vitest';
import {
  ADMIN_SCOPES,
  checkApiVersion,
  checkName,
  checkSlug,
  grants,
  grantsAny,
  newId,
  parseScopeList,
} from '../src/index.ts';

describe('scopes', () => {
  it('manage implies every action of its resource only', () => {
    expect(grants(['devices:manage'], 'devices:read')).toBe(true);
    expect(grants(['devices:manage'], 'devices:provision')).toBe(true);
    expect(grants(['devices:manage'], 'deployments:read')).toBe(false);
  });
  it('write does not imply read, and no action implies another', () => {
    expect(grants(['config_types:write'], 'config_types:read')).toBe(false);
    expect(grants(['deployments:deploy'], 'deployments:stage')).toBe(false);
    expect(grants(['deployments:read'], 'deployments:read')).toBe(true);
  });
  it('an empty requirement needs no scope; otherwise any one suffices', () => {
    expect(grantsAny([], [])).toBe(true);
    expect(grantsAny(['devices:provision'], ['devices:write', 'devices:provision'])).toBe(true);
    expect(grantsAny(['devices:read'], ['devices:write', 'devices:provision'])).toBe(false);
  });
  it('admin scopes grant everything', () => {
    for (const s of ['releases:write', 'deployments:archive', 'git_commits:read'])
      expect(grants(ADMIN_SCOPES, s)).toBe(true);
  });
  it('parses CLI scope lists and reports unknown scopes', () => {
    expect(parseScopeList('deployments:read, devices:manage,nope:x')).toEqual({
      scopes: ['deployments:read', 'devices:manage'],
      unknown: ['nope:x'],
    });
  });
});

describe('Miru-Version', () => {
  it('accepts any real date of the tetons train', () => {
    expect(() => checkApiVersion('2026-03-09.tetons')).not.toThrow();
    expect(() => checkApiVersion('2026-04-01.tetons')).not.toThrow();
  });
  it('rejects a missing header as missing_version', () => {
    expect(() => checkApiVersion(undefined)).toThrow(
      expect.objectContaining({ code: 'missing_version', status: 400 }),
    );
    expect(() => checkApiVersion(' ')).toThrow(expect.objectContaining({ code: 'missing_version' }));
  });
  it.each([
    '2025-10-21.zion',
    '2026-05-06.rainier',
    '2026-02-30.tetons',
    'tetons',
    'v1',
    '2026-03-09.TETONS',
  ])('rejects %s as unsupported_version', (v) => {
    expect(() => checkApiVersion(v)).toThrow(
      expect.objectContaining({ code: 'unsupported_version', status: 400 }),
    );
  });
});

describe('names and slugs', () => {
  it('accepts 1-48 characters, trimmed', () => {
    expect(checkName('name', '  Robot 1 ')).toBe('Robot 1');
    expect(checkName('name', 'x'.repeat(48))).toHaveLength(48);
    expect(() => checkName('name', '')).toThrow(/1 to 48/);
    expect(() => checkName('name', 'x'.repeat(49))).toThrow(/1 to 48/);
    expect(() => checkName('name', 'a\nb')).toThrow(/control/);
  });
  it.each(['mobility', 'a', 'motion-control-2', '9lives'])('accepts slug %s', (s) =>
    expect(checkSlug('slug', s)).toBe(s),
  );
  it.each(['Mobility', '-x', 'x-', 'a_b', '', 'x'.repeat(49), 'a b'])('rejects slug %j', (s) => {
    expect(() => checkSlug('slug', s)).toThrow(expect.objectContaining({ code: 'invalid_slug' }));
  });
});

describe('ids', () => {
  it('carry the reference prefix and 22 random base62 characters', () => {
    const ids = new Set(Array.from({ length: 1000 }, () => newId('device')));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^dvc_[0-9A-Za-z]{22}$/);
    expect(newId('gitCommit')).toMatch(/^git_cmt_/);
  });
});
