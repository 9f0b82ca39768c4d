/** One difference between two documents: a JSON path (JSON Pointer) and the two values. */
export interface PathChange {
  path: string;
  kind: 'added' | 'removed' | 'changed';
  before?: unknown;
  after?: unknown;
}

const escapePointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The semantic diff of two JSON values, per path, in document order (arrays by index). */
export function jsonDiff(before: unknown, after: unknown, path = ''): PathChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => {
      const p = `${path}/${escapePointer(k)}`;
      if (!(k in after)) return [{ path: p, kind: 'removed' as const, before: before[k] }];
      if (!(k in before)) return [{ path: p, kind: 'added' as const, after: after[k] }];
      return jsonDiff(before[k], after[k], p);
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: PathChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      const p = `${path}/${i}`;
      if (i >= after.length) out.push({ path: p, kind: 'removed', before: before[i] });
      else if (i >= before.length) out.push({ path: p, kind: 'added', after: after[i] });
      else out.push(...jsonDiff(before[i], after[i], p));
    }
    return out;
  }
  return JSON.stringify(before) === JSON.stringify(after)
    ? []
    : [{ path: path || '/', kind: 'changed', before, after }];
}

export interface LineChange {
  kind: 'same' | 'added' | 'removed';
  text: string;
}

/** A line diff (longest common subsequence) for text that is not JSON. */
export function lineDiff(before: string, after: string): LineChange[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: LineChange[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ kind: 'same', text: a[i]! });
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ kind: 'removed', text: a[i++]! });
    else out.push({ kind: 'added', text: b[j++]! });
  }
  while (i < a.length) out.push({ kind: 'removed', text: a[i++]! });
  while (j < b.length) out.push({ kind: 'added', text: b[j++]! });
  return out;
}

/** Parses JSON, or undefined when the text is not JSON. */
export function tryJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}
