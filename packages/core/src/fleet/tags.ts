import { badRequest } from '../errors.ts';

/**
 * Tags: key/value labels on devices (`env=prod`, `site=berlin`) and the selector expressions that
 * pick devices by them. Grammar (comma = and): `key=value`, `key!=value`, `key in (a|b)`,
 * `key notin (a|b)`, `key` (has the tag), `!key` (has not).
 */

const KEY = /^[a-z0-9](?:[a-z0-9._/-]{0,61}[a-z0-9])?$/;
const VALUE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?)?$/;
export const MAX_TAGS = 32;
export const MAX_SELECTOR_TERMS = 16;

export interface TagRequirement {
  key: string;
  op: 'in' | 'notin' | 'exists' | 'absent';
  /** The listed values of `in`/`notin`; empty otherwise. */
  values: string[];
}

export function checkTagKey(key: string): string {
  if (!KEY.test(key))
    throw badRequest(
      'invalid_tag',
      `Tag key '${key}' must be 1 to 63 lowercase letters, digits, '.', '_', '/' or '-', starting and ending with a letter or digit.`,
      { field: 'key', value: key },
    );
  return key;
}

export function checkTagValue(key: string, value: string): string {
  if (typeof value !== 'string' || !VALUE.test(value))
    throw badRequest(
      'invalid_tag',
      `Value of tag '${key}' must be at most 63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit.`,
      { field: key, value },
    );
  return value;
}

/** A device's full set of tags, checked. */
export function checkTags(tags: Record<string, string>): Record<string, string> {
  const entries = Object.entries(tags);
  if (entries.length > MAX_TAGS)
    throw badRequest('invalid_tag', `A device has at most ${MAX_TAGS} tags.`, {
      max: MAX_TAGS,
      count: entries.length,
    });
  return Object.fromEntries(entries.map(([k, v]) => [checkTagKey(k), checkTagValue(k, v)]));
}

function bad(text: string, why: string): never {
  throw badRequest('invalid_selector', `Tag selector '${text}': ${why}.`, { field: 'selector', value: text });
}

/** Parses a selector; 400 `invalid_selector` names what is wrong. An empty selector selects everything. */
export function parseTagSelector(text: string): TagRequirement[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(trimmed.slice(start, i));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) bad(text, 'unbalanced parentheses');
  }
  if (depth !== 0) bad(text, 'unbalanced parentheses');
  terms.push(trimmed.slice(start));
  if (terms.length > MAX_SELECTOR_TERMS) bad(text, `at most ${MAX_SELECTOR_TERMS} terms`);
  return terms.map((raw) => {
    const t = raw.trim();
    let m = /^([^=!\s(),]+)\s*(!=|==|=)\s*([^=!\s(),]*)$/.exec(t);
    if (m) {
      const key = m[1]!;
      if (!KEY.test(key)) bad(text, `'${key}' is not a tag key`);
      if (!VALUE.test(m[3]!)) bad(text, `'${m[3]}' is not a tag value`);
      return { key, op: m[2] === '!=' ? 'notin' : 'in', values: [m[3]!] };
    }
    m = /^([^=!\s(),]+)\s+(in|notin)\s*\(([^()]*)\)$/.exec(t);
    if (m) {
      const key = m[1]!;
      if (!KEY.test(key)) bad(text, `'${key}' is not a tag key`);
      const values = m[3]!.split(/[|,]/).map((v) => v.trim());
      if (!values.length || values.some((v) => !v || !VALUE.test(v)))
        bad(text, `bad value list for '${key}'`);
      return { key, op: m[2] as 'in' | 'notin', values };
    }
    m = /^(!?)\s*([^=!\s(),]+)$/.exec(t);
    if (m && KEY.test(m[2]!)) return { key: m[2]!, op: m[1] ? 'absent' : 'exists', values: [] };
    return bad(text, `cannot read '${t}'`);
  });
}

/** True when a device with `tags` satisfies every requirement. */
export function matchesSelector(
  tags: Readonly<Record<string, string>>,
  reqs: readonly TagRequirement[],
): boolean {
  return reqs.every((r) => {
    const has = Object.hasOwn(tags, r.key);
    if (r.op === 'exists') return has;
    if (r.op === 'absent') return !has;
    const listed = has && r.values.includes(tags[r.key]!);
    return r.op === 'in' ? listed : !listed;
  });
}
