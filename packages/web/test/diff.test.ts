import { describe, expect, it } from 'vitest';
import { jsonDiff, lineDiff } from '../src/diff.ts';

describe('jsonDiff (the review and compare views)', () => {
  it('reports each changed, added and removed path as a JSON Pointer, nothing else', () => {
    const before = { limits: { max: 1.4, min: 0 }, tags: ['a', 'b'], 'a/b': 1, gone: true };
    const after = { limits: { max: 1.8, min: 0 }, tags: ['a', 'c', 'd'], 'a/b': 2, added: null };
    expect(jsonDiff(before, after)).toEqual([
      { path: '/limits/max', kind: 'changed', before: 1.4, after: 1.8 },
      { path: '/tags/1', kind: 'changed', before: 'b', after: 'c' },
      { path: '/tags/2', kind: 'added', after: 'd' },
      { path: '/a~1b', kind: 'changed', before: 1, after: 2 },
      { path: '/gone', kind: 'removed', before: true },
      { path: '/added', kind: 'added', after: null },
    ]);
  });
  it('is empty for equal documents, whatever the key order', () => {
    expect(jsonDiff({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
  });
  it('a change of type at a path is one change at that path', () => {
    expect(jsonDiff({ a: { b: 1 } }, { a: [1] })).toEqual([
      { path: '/a', kind: 'changed', before: { b: 1 }, after: [1] },
    ]);
  });
});

describe('lineDiff (text that is not JSON)', () => {
  it('keeps common lines and marks the rest', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc\nd')).toEqual([
      { kind: 'same', text: 'a' },
      { kind: 'removed', text: 'b' },
      { kind: 'added', text: 'x' },
      { kind: 'same', text: 'c' },
      { kind: 'added', text: 'd' },
    ]);
  });
});
