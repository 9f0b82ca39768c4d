import { describe, expect, it } from 'vitest';
import {
  ancestors,
  type BosunError,
  checkGroupParent,
  checkTags,
  MAX_GROUP_DEPTH,
  matchesSelector,
  parseTagSelector,
  subtree,
} from '../src/index.ts';

// fleet ─ eu ─ berlin ─ b1
//       └ us
const tree = new Map<string, string | null>([
  ['fleet', null],
  ['eu', 'fleet'],
  ['us', 'fleet'],
  ['berlin', 'eu'],
  ['b1', 'berlin'],
  ['other', null],
]);
const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return `${(err as BosunError).status} ${(err as BosunError).code}`;
  }
};

describe('group tree', () => {
  it('ancestors and subtrees', () => {
    expect(ancestors('b1', tree)).toEqual(['berlin', 'eu', 'fleet']);
    expect(subtree('eu', tree).sort()).toEqual(['b1', 'berlin', 'eu']);
    expect(subtree('other', tree)).toEqual(['other']);
  });
  it.each([
    ['eu', 'other', 'ok'],
    ['eu', null, 'ok'],
    ['eu', 'eu', '409 group_cycle'],
    ['eu', 'b1', '409 group_cycle'],
    ['fleet', 'berlin', '409 group_cycle'],
    [null, 'b1', 'ok'],
  ] as const)('move %s under %s → %s', (id, parent, expected) => {
    expect(code(() => checkGroupParent(id, parent, tree))).toBe(expected);
  });
  it('refuses a tree deeper than the limit', () => {
    const chain = new Map<string, string | null>();
    for (let i = 0; i < MAX_GROUP_DEPTH; i++) chain.set(`g${i}`, i === 0 ? null : `g${i - 1}`);
    expect(code(() => checkGroupParent(null, `g${MAX_GROUP_DEPTH - 2}`, chain))).toBe('ok');
    expect(code(() => checkGroupParent(null, `g${MAX_GROUP_DEPTH - 1}`, chain))).toBe('422 group_too_deep');
  });
});

describe('tags and selectors', () => {
  const prodBerlin = { env: 'prod', site: 'berlin' };
  const devBerlin = { env: 'dev', site: 'berlin' };
  const bare = {};
  it.each([
    ['', [true, true, true]],
    ['env=prod', [true, false, false]],
    ['env==prod', [true, false, false]],
    ['env!=prod', [false, true, true]],
    ['env=prod,site=berlin', [true, false, false]],
    ['site in (berlin|munich), env notin (prod)', [false, true, false]],
    ['env in (prod,dev)', [true, true, false]],
    ['env', [true, true, false]],
    ['!env', [false, false, true]],
    [' env = prod ', [true, false, false]],
  ] as const)('%j', (selector, expected) => {
    const reqs = parseTagSelector(selector);
    expect([prodBerlin, devBerlin, bare].map((t) => matchesSelector(t, reqs))).toEqual(expected);
  });
  it.each([
    'env=a=b',
    '=prod',
    'env in ()',
    'env in (a',
    'Env=prod',
    'env=pr od',
    '(env)',
    'a,'.repeat(20) + 'a',
  ])('refuses %j with 400 invalid_selector', (selector) => {
    const got = selector === 'env=' ? 'skip' : code(() => parseTagSelector(selector));
    if (got !== 'skip') expect(got).toBe('400 invalid_selector');
  });
  it('"env=" selects an empty value (values may be empty)', () => {
    expect(matchesSelector({ env: '' }, parseTagSelector('env='))).toBe(true);
  });
  it('checks tag keys, values and count', () => {
    expect(checkTags({ env: 'prod', 'acme.io/site': 'berlin-1' })).toEqual({
      env: 'prod',
      'acme.io/site': 'berlin-1',
    });
    expect(code(() => checkTags({ 'Bad Key': 'x' }))).toBe('400 invalid_tag');
    expect(code(() => checkTags({ env: 'with space' }))).toBe('400 invalid_tag');
    expect(code(() => checkTags({ constructor: 'x'.repeat(64) }))).toBe('400 invalid_tag');
    expect(
      code(() => checkTags(Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v'])))),
    ).toBe('400 invalid_tag');
  });
});
