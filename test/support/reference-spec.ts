import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { parse } from 'yaml';

/**
 * Wire-compatibility checks against the reference Platform API spec (Miru 2026-03-09.tetons).
 *
 * The spec is the upstream document vendored as test data in `test/vendor/miru-openapi/` (MIT).
 * Its OpenAPI 3.0 schemas become JSON Schema 2020-12 for Ajv: `nullable` → a `null` alternative,
 * `#/components/schemas/X` refs → `$defs`, and annotations (`example`, `x-*`, `discriminator`, ...)
 * dropped. Usage, after any call that returns 200:
 *
 *   expectReferenceResponse('createDevice', res.body);
 *
 * fails the test with Ajv's errors when the body does not match that operation's 200 schema. By
 * default the check is strict: an object may not carry a field the reference does not declare
 * (so a stray column or a `null` placeholder for an unexpanded field is caught). Pass
 * `{ allowExtraFields: true }` for a documented Bosun extension.
 * `referenceOperations()` lists every operation (path, method, operationId) for coverage checks.
 */

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the vendored upstream OpenAPI documents live (test data; see its README for their source). */
export const VENDORED_SPECS_DIR = join(repoRoot, 'test', 'vendor', 'miru-openapi');
export const REFERENCE_SPEC_PATH = join(VENDORED_SPECS_DIR, 'platform-api-2026-03-09.tetons.yaml');

const SPEC_ID = 'urn:bosun:reference-platform-api';
const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options'] as const;
/** OpenAPI-only keywords that are not JSON Schema (or are mere annotations Ajv would trip on). */
const DROPPED_KEYWORDS = new Set(['example', 'nullable', 'discriminator', 'xml', 'externalDocs']);
const COMPOSITIONS = ['allOf', 'anyOf', 'oneOf'] as const;

export interface ReferenceOperation {
  operationId: string;
  method: string;
  /** Path as written in the spec, e.g. `/config_types/{config_type_id}`. */
  path: string;
  /** The 200 response's JSON schema (OpenAPI form), when the operation documents one. */
  responseSchema: unknown;
}

interface Loaded {
  spec: any;
  operations: Map<string, ReferenceOperation>;
  strict: Ajv2020;
  loose: Ajv2020;
  cache: Map<string, ValidateFunction>;
}

let loaded: Loaded | undefined;

function load(): Loaded {
  if (loaded) return loaded;
  const spec = parse(readFileSync(REFERENCE_SPEC_PATH, 'utf8'));
  const operations = new Map<string, ReferenceOperation>();
  for (const [path, item] of Object.entries<any>(spec.paths ?? {})) {
    for (const method of HTTP_METHODS) {
      const op = item?.[method];
      if (!op?.operationId) continue;
      // JSON when documented; otherwise the first media type (the content download is a string).
      const content = op.responses?.['200']?.content ?? {};
      const schema = (content['application/json'] ?? Object.values<any>(content)[0])?.schema;
      operations.set(op.operationId, { operationId: op.operationId, method, path, responseSchema: schema });
    }
  }
  const components = spec.components?.schemas ?? {};
  const makeAjv = (strict: boolean) => {
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    ((formatsPlugin as any).default ?? formatsPlugin)(ajv);
    // OpenAPI's numeric formats; the type already says what matters.
    for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'])
      ajv.addFormat(f, true);
    const defs: Record<string, unknown> = {};
    // A component's own top level stays open: where it is used decides (an allOf member is
    // extended by its siblings; anywhere else the use site closes it).
    for (const [name, s] of Object.entries(components)) defs[name] = toJsonSchema(s, strict, true);
    ajv.addSchema({ $id: SPEC_ID, $defs: defs });
    return ajv;
  };
  loaded = { spec, operations, strict: makeAjv(true), loose: makeAjv(false), cache: new Map() };
  return loaded;
}

/**
 * OpenAPI 3.0 schema → JSON Schema 2020-12. In strict mode every object schema that stands on its
 * own (is not one member of an `allOf`) gets `unevaluatedProperties: false`, which sees through
 * `allOf` and `$ref`, so a composed schema such as `ConfigTypeList` still admits `data`.
 */
export function toJsonSchema(node: unknown, strict: boolean, composedMember = false): unknown {
  if (Array.isArray(node)) return node.map((n) => toJsonSchema(n, strict));
  if (!node || typeof node !== 'object') return node;
  const src = node as Record<string, any>;
  const out: Record<string, any> = {};
  for (const [key, value] of Object.entries(src)) {
    if (DROPPED_KEYWORDS.has(key) || key.startsWith('x-')) continue;
    if (key === '$ref' && typeof value === 'string') {
      out.$ref = value.replace(/^#\/components\/schemas\//, `${SPEC_ID}#/$defs/`);
    } else if (key === 'properties' || key === 'patternProperties' || key === '$defs') {
      out[key] = Object.fromEntries(Object.entries<any>(value).map(([k, v]) => [k, toJsonSchema(v, strict)]));
    } else if ((COMPOSITIONS as readonly string[]).includes(key)) {
      out[key] = (value as unknown[]).map((v) => toJsonSchema(v, strict, key === 'allOf'));
    } else if (key === 'items' || key === 'additionalProperties' || key === 'not') {
      out[key] = typeof value === 'object' ? toJsonSchema(value, strict) : value;
    } else {
      out[key] = value;
    }
  }
  let result: Record<string, any> = out;
  // In 3.0 `$ref` siblings are ignored; keep them beside the ref only through allOf.
  if (result.$ref && Object.keys(result).length > 1) {
    const { $ref, ...rest } = result;
    result = { ...rest, allOf: [{ $ref }, ...(rest.allOf ?? [])] };
  }
  // A bare `type: object` with no declared properties is free-form (an event's `data`): leave it open.
  const objectLike = result.properties !== undefined || result.allOf !== undefined || result.$ref;
  if (strict && objectLike && !composedMember && result.additionalProperties === undefined) {
    // A $ref can't carry siblings cleanly in every reader; wrapping keeps it explicit.
    result = result.$ref && Object.keys(result).length === 1 ? { allOf: [result] } : result;
    result.unevaluatedProperties = false;
  }
  if (src.nullable === true) {
    if (typeof result.type === 'string' && Object.keys(result).every((k) => k !== 'allOf' && k !== '$ref')) {
      result.type = [result.type, 'null'];
      if (Array.isArray(result.enum) && !result.enum.includes(null)) result.enum = [...result.enum, null];
    } else {
      result = { anyOf: [result, { type: 'null' }] };
    }
  }
  return result;
}

/** The parsed reference document (for checks beyond response bodies, e.g. parameters). */
export function referenceSpec(): any {
  return load().spec;
}

/** Every operation of the reference spec, keyed by operationId. */
export function referenceOperations(): ReferenceOperation[] {
  return [...load().operations.values()];
}

export function referenceOperation(operationId: string): ReferenceOperation {
  const op = load().operations.get(operationId);
  if (!op) throw new Error(`The reference spec has no operation '${operationId}'.`);
  return op;
}

/** A validator for one operation's 200 response body (compiled once per mode). */
export function referenceResponseValidator(
  operationId: string,
  opts: { allowExtraFields?: boolean } = {},
): ValidateFunction {
  const l = load();
  const strict = !opts.allowExtraFields;
  const cacheKey = `${operationId}:${strict}`;
  const hit = l.cache.get(cacheKey);
  if (hit) return hit;
  const op = referenceOperation(operationId);
  if (!op.responseSchema) throw new Error(`Reference operation '${operationId}' documents no 200 JSON body.`);
  const validate = (strict ? l.strict : l.loose).compile(toJsonSchema(op.responseSchema, strict) as object);
  l.cache.set(cacheKey, validate);
  return validate;
}

/** Throws (failing the test) unless `body` matches the reference's 200 response of `operationId`. */
export function expectReferenceResponse(
  operationId: string,
  body: unknown,
  opts: { allowExtraFields?: boolean } = {},
): void {
  const validate = referenceResponseValidator(operationId, opts);
  if (validate(body)) return;
  const errors = (validate.errors ?? [])
    .map((e) => `  ${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`)
    .join('\n');
  throw new Error(
    `Response of ${operationId} does not match the reference spec:\n${errors}\nbody: ${JSON.stringify(body).slice(0, 2000)}`,
  );
}
