import { describe, expect, it } from 'vitest';
import {
  expansionPaths,
  parseEnumFilter,
  parseExpand,
  parseOrderBy,
  parsePage,
  splitMulti,
} from '../src/index.ts';

describe('splitMulti', () => {
  it('accepts repeated, comma-joined and pipe-joined values alike', () => {
    expect(splitMulti(['a', 'b,c', 'd|e'])).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(splitMulti('x')).toEqual(['x']);
    expect(splitMulti(undefined)).toEqual([]);
    expect(splitMulti(' a , ,b ')).toEqual(['a', 'b']);
  });
});

describe('parsePage', () => {
  it.each([
    [undefined, undefined, 0, 10],
    ['-3', '1001', 0, 100],
    ['5', '0', 5, 1],
    ['7', '-1', 7, 1],
    ['20', '100', 20, 100],
    ['99999999999999999999', '3', Number.MAX_SAFE_INTEGER, 3],
  ])('offset %s limit %s → %i/%i', (offset, limit, o, l) => {
    expect(parsePage(offset, limit)).toEqual({ offset: o, limit: l });
  });
  it('rejects a value that is not an integer, naming it', () => {
    expect(() => parsePage('abc', undefined)).toThrow(/offset must be an integer/);
    expect(() => parsePage(undefined, '1.5')).toThrow(/limit must be an integer/);
  });
});

describe('parseOrderBy', () => {
  it('defaults to created_at:desc with the id:asc tie-breaker', () => {
    expect(parseOrderBy(undefined)).toEqual([
      { field: 'created_at', direction: 'desc' },
      { field: 'id', direction: 'asc' },
    ]);
  });
  it('defaults a missing direction to desc', () => {
    expect(parseOrderBy('created_at')[0]).toEqual({ field: 'created_at', direction: 'desc' });
  });
  it('does not append id when id is already a key', () => {
    expect(parseOrderBy(['id:asc', 'created_at:desc'])).toEqual([
      { field: 'id', direction: 'asc' },
      { field: 'created_at', direction: 'desc' },
    ]);
  });
  it('rejects unknown fields and directions', () => {
    expect(() => parseOrderBy('name:asc')).toThrow(/order_by 'name:asc'/);
    expect(() => parseOrderBy('id:up')).toThrow(/order_by/);
  });
});

describe('parseEnumFilter', () => {
  it('accepts known values and rejects unknown ones by name', () => {
    expect(parseEnumFilter('target_status', 'staged|deployed', ['staged', 'deployed', 'archived'])).toEqual([
      'staged',
      'deployed',
    ]);
    expect(() => parseEnumFilter('target_status', 'paused', ['staged'])).toThrow(/target_status 'paused'/);
  });
});

describe('parseExpand', () => {
  it('builds a tree from nested paths; a child implies its parent', () => {
    expect(
      parseExpand('deployment', ['release.config_schemas.config_type', 'device'], { list: false }).tree,
    ).toEqual({
      release: { config_schemas: { config_type: {} } },
      device: {},
    });
  });
  it('accepts total_count only on lists', () => {
    expect(parseExpand('device', 'total_count', { list: true })).toEqual({ tree: {}, totalCount: true });
    expect(() => parseExpand('device', 'total_count', { list: false })).toThrow(/not an expandable field/);
  });
  it('rejects unknown names, names under a leaf, and depth above 4', () => {
    expect(() => parseExpand('deployment', 'owner', { list: false })).toThrow(/expand 'owner'/);
    expect(() => parseExpand('config_instance', 'content.data', { list: false })).toThrow(/content.data/);
    expect(() =>
      parseExpand('deployment', 'config_instances.config_schema.config_type.x.y', { list: false }),
    ).toThrow(/at most 4/);
  });
  it('lists every path up to depth 4', () => {
    expect(expansionPaths('release')).toEqual([
      'config_schemas',
      'config_schemas.documents',
      'config_schemas.config_type',
    ]);
    expect(expansionPaths('deployment')).toContain('config_instances.config_schema.config_type');
  });
});
