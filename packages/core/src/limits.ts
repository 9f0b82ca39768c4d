import { badRequest } from './errors.ts';

/**
 * Input limits (docs/decisions.md, "Hostile input"). Every one is checked before the expensive step it
 * protects: nesting is measured on the raw text before a parser recurses into it, sizes before a
 * document is parsed. Exceeding a limit is a 400 `limit_exceeded` naming the field, the limit and its
 * value (a malformed request, DESIGN decision 1); only the whole body's size is a 413.
 */
export const LIMITS = {
  /** Bytes of one request body (server option `BOSUN_BODY_LIMIT_BYTES`). */
  bodyBytes: 8 * 1024 * 1024,
  /** Nesting of the JSON request body itself (objects and arrays). */
  bodyDepth: 32,
  /** Keys of one object, or items of one array, in a request body. */
  bodyKeys: 1000,
  /** Characters of any one string in a request body (schema documents and instance content included). */
  bodyStringChars: 1024 * 1024,
  /** Characters of one path parameter or query value. */
  paramChars: 1024,
  /**
   * Characters of one YAML schema document. YAML parsing costs ≈ 4 µs of CPU per character on the
   * event loop (JSON.parse ≈ 100× less), so a YAML document is held to what a real schema needs.
   */
  yamlDocumentChars: 256 * 1024,
  /** Nesting of a JSON or YAML schema document or of JSON instance content. */
  documentDepth: 64,
  /** Keys of one object, or items of one array, in a schema document or instance content. */
  documentKeys: 10_000,
  /** Documents of one schema (the .cue files of a package). */
  schemaDocuments: 64,
} as const;

export type LimitName = keyof typeof LIMITS;

export function limitExceeded(limit: LimitName, field: string, message: string, max: number = LIMITS[limit]) {
  return badRequest('limit_exceeded', message, { field, limit, max });
}

/**
 * Deepest nesting of `[`/`{` in JSON text, scanning only outside string literals, stopping as soon as
 * `max` is passed (so the answer costs no more than the text's length and never recurses).
 */
export function jsonNestingExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * An upper bound of a YAML document's nesting, from its text: flow collections (`[`, `{` outside
 * quotes and comments) and block nesting, which needs at least one more column (indentation, `- `,
 * `? `) per level. The `yaml` parser recurses per level and dies (stack overflow, or V8's regexp
 * compiler running out of memory on a deep flow sequence), so this must answer before it runs.
 * Generous for block structure (2 columns per level), exact for flow; the parsed value's depth is
 * checked exactly afterwards.
 */
export function yamlNestingExceeds(text: string, max: number): boolean {
  let flow = 0;
  let quote = 0;
  let lineStart = true;
  let column = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      lineStart = true;
      column = 0;
      if (quote === 0x27 || quote === 0x22) continue; // quoted scalars may span lines
      continue;
    }
    if (lineStart) {
      // Leading blanks and block indicators (`- `, `? `, `: `) each open at most one level per column.
      if (c === 0x20 || c === 0x09 || ((c === 0x2d || c === 0x3f || c === 0x3a) && isBlank(text, i + 1))) {
        if (++column > 2 * max) return true;
        continue;
      }
      lineStart = false;
    }
    if (quote) {
      if (quote === 0x22 && c === 0x5c) i++;
      else if (c === quote) {
        if (quote === 0x27 && text.charCodeAt(i + 1) === 0x27) i++;
        else quote = 0;
      }
      continue;
    }
    if (c === 0x23 && (i === 0 || isBlankCode(text.charCodeAt(i - 1)))) {
      while (i + 1 < text.length && text.charCodeAt(i + 1) !== 0x0a) i++;
    } else if (c === 0x22 || c === 0x27) quote = c;
    else if (c === 0x5b || c === 0x7b) {
      if (++flow > max) return true;
    } else if ((c === 0x5d || c === 0x7d) && flow > 0) flow--;
  }
  return false;
}

function isBlankCode(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}
function isBlank(text: string, i: number): boolean {
  return i >= text.length || isBlankCode(text.charCodeAt(i));
}

export interface ShapeProblem {
  kind: 'depth' | 'keys';
  /** JSON Pointer of the offending node. */
  path: string;
}

/**
 * The first place where a parsed value nests deeper than `depth` or holds more than `keys` keys/items,
 * found without recursion (the value may come from a parser that allows more than our stack does).
 */
export function valueShapeProblem(
  value: unknown,
  limits: { depth: number; keys: number },
): ShapeProblem | null {
  const stack: { node: unknown; level: number; path: string }[] = [{ node: value, level: 0, path: '' }];
  while (stack.length) {
    const { node, level, path } = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (level + 1 > limits.depth) return { kind: 'depth', path };
    const count = Array.isArray(node) ? node.length : Object.keys(node).length;
    if (count > limits.keys) return { kind: 'keys', path };
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    for (const [k, v] of entries) {
      if (v !== null && typeof v === 'object')
        stack.push({
          node: v,
          level: level + 1,
          path: `${path}/${k.replace(/~/g, '~0').replace(/\//g, '~1')}`,
        });
    }
  }
  return null;
}

/**
 * Why a text cannot be stored as sent, or null. PostgreSQL's text type refuses U+0000, and a lone
 * UTF-16 surrogate has no UTF-8 form (both drivers would silently replace it); refused on every engine
 * alike so the API answers the same whatever the storage.
 */
export function unstorableText(text: string): 'nul' | 'lone_surrogate' | null {
  if (text.includes('\u0000')) return 'nul';
  // A surrogate not part of a pair.
  if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text))
    return 'lone_surrogate';
  return null;
}
