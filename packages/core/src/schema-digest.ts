import { createHash } from 'node:crypto';

/**
 * Canonical forms and digests of config schemas (docs/decisions.md #10, #33). The digest
 * ignores formatting: a JSON or YAML schema is hashed as its parsed value re-serialised with sorted
 * keys, a CUE package as its files sorted by name with whitespace normalised. Raw documents are still
 * stored byte for byte; only equality and dedup go through these functions.
 */

export type SchemaLanguage = 'jsonschema' | 'cue';
export type SchemaFormat = 'json' | 'yaml' | 'cue';

/** JSON with object keys sorted at every depth and no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    // Non-finite numbers cannot come out of JSON or YAML-as-JSON; map them to null like JSON does.
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .sort()
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
  return `{${entries.join(',')}}`;
}

/**
 * CUE source with formatting normalised: line endings unified, each line trimmed, runs of blanks
 * outside string literals collapsed to one space, blank lines dropped. Lines inside multi-line
 * string literals (`"""`) are kept as written, since their whitespace is content.
 */
export function canonicalCue(source: string): string {
  const out: string[] = [];
  let inMultiline = false;
  for (const raw of source.replace(/\r\n?/g, '\n').split('\n')) {
    const quotes = (raw.match(/"""/g) ?? []).length;
    if (inMultiline) {
      out.push(raw);
      if (quotes % 2 === 1) inMultiline = false;
      continue;
    }
    const line = collapseBlanks(raw.trim());
    if (line.length) out.push(line);
    if (quotes % 2 === 1) inMultiline = true;
  }
  return out.join('\n');
}

function collapseBlanks(line: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (inString) {
      out += c;
      if (c === '\\' && i + 1 < line.length) out += line[++i];
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    if (c === ' ' || c === '\t') {
      if (!out.endsWith(' ')) out += ' ';
      continue;
    }
    out += c;
  }
  return out;
}

export interface CanonicalDocument {
  name: string;
  canonical: string;
}

/**
 * `sha256:<hex>` over the language and the canonical documents. JSON Schema has one document and its
 * file name is not content; CUE documents are sorted by name, and the names take part (a package is
 * its set of files).
 */
export function schemaDigest(language: SchemaLanguage, documents: CanonicalDocument[]): string {
  const hash = createHash('sha256').update(`bosun-schema-v1\n${language}\n`);
  if (language === 'jsonschema') {
    for (const d of documents) hash.update(`${d.canonical}\n`);
  } else {
    const sorted = [...documents].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of sorted) hash.update(`${d.name.length}:${d.name}\n${d.canonical.length}:${d.canonical}\n`);
  }
  return `sha256:${hash.digest('hex')}`;
}

/**
 * The idempotency key of a schema create: equal canonical content for the same config type, language,
 * format and instance path is the same schema.
 */
export function schemaIdentityKey(input: {
  configTypeId: string;
  language: SchemaLanguage;
  format: SchemaFormat;
  instanceFilepath: string;
  digest: string;
}): string {
  const parts = [input.configTypeId, input.language, input.format, input.instanceFilepath, input.digest];
  return createHash('sha256')
    .update(parts.map((p) => `${p.length}:${p}`).join('\n'))
    .digest('hex');
}

/** Which file formats each schema language accepts (docs/decisions.md #34). */
export const SCHEMA_FORMATS: Record<SchemaLanguage, readonly SchemaFormat[]> = {
  jsonschema: ['json', 'yaml'],
  cue: ['cue'],
};
