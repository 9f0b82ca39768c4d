import { unprocessable } from '@bosun/core';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { addFormats } from '../http/ajv-formats.ts';
import { checkDocumentText, checkDocumentValue } from '../http/limits.ts';
import { pointerChild } from './json-pointer.ts';
import { linearRegExp } from './linear-regexp.ts';
import type { InstanceValidator, ValidationIssue } from './types.ts';

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const ACCEPTED_DRAFTS = new Set([DRAFT_2020_12, 'http://json-schema.org/draft/2020-12/schema']);

/** Parses a JSON or YAML schema document into its value; a syntax error is a 422 with the parser's message. */
export function parseSchemaDocument(format: 'json' | 'yaml', name: string, data: string): unknown {
  checkDocumentText(format, data, 'documents', name);
  const value = parseText(format, name, data);
  checkDocumentValue(value, 'documents', name);
  return value;
}

function parseText(format: 'json' | 'yaml', name: string, data: string): unknown {
  try {
    if (format === 'json') return JSON.parse(data);
    // Not `prettyErrors`: it excerpts the source around every error, and a hostile one-line document
    // with an error every two characters made that quadratic (minutes of a blocked event loop, found
    // by the fuzzer). Only the first error is reported, located here once.
    const value = parseYaml(data, { prettyErrors: false, uniqueKeys: true, maxAliasCount: 100 });
    // An alias inside its own anchor (`&a [*a]`) parses to a cyclic value that no digest or
    // validator can walk: refuse it here like any other unusable document.
    if (isCyclic(value)) throw new SyntaxError('an alias refers to a node that contains it (a cycle)');
    return value;
  } catch (err) {
    const message =
      err instanceof YAMLParseError
        ? `${err.message} ${located(data, err.pos[0])}`
        : err instanceof SyntaxError
          ? err.message
          : String(err);
    throw unprocessable(
      'invalid_schema',
      `Schema document '${name}' is not valid ${format.toUpperCase()}: ${message}`,
      {
        field: 'documents',
        document: name,
        compiler_message: message,
      },
    );
  }
}

/** `at line L, column C: <the line, cut to 80 characters around the column>` for an offset in the text. */
function located(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  let line = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < lineStart; i = text.indexOf('\n', i + 1)) line++;
  const lineEnd = text.indexOf('\n', offset);
  const column = offset - lineStart + 1;
  const from = Math.max(lineStart, offset - 40);
  const excerpt = text.slice(from, Math.min(lineEnd < 0 ? text.length : lineEnd, from + 80));
  return `at line ${line}, column ${column}: ${JSON.stringify(excerpt)}`;
}

/** Whether a parsed value contains itself (iterative, so a deep value cannot overflow the stack). */
function isCyclic(root: unknown): boolean {
  const onPath = new Set<object>();
  const stack: Array<{ node: object; children: unknown[] } | { leave: object }> = [];
  const enter = (v: unknown) => {
    if (v === null || typeof v !== 'object') return false;
    if (onPath.has(v)) return true;
    onPath.add(v);
    stack.push({ leave: v });
    stack.push({ node: v, children: Object.values(v) });
    return false;
  };
  if (enter(root)) return true;
  while (stack.length > 0) {
    const top = stack.pop()!;
    if ('leave' in top) {
      onPath.delete(top.leave);
      continue;
    }
    const child = top.children.pop();
    if (top.children.length > 0 || child !== undefined) stack.push(top);
    if (enter(child)) return true;
  }
  return false;
}

function newAjv(): Ajv2020 {
  // strict: false because vendor keywords (`x-miru-config-type`, ...) are legal JSON Schema annotations.
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    coerceTypes: false,
    useDefaults: false,
    code: { regExp: linearRegExp },
  });
  addFormats(ajv);
  return ajv;
}

function invalidSchema(message: string, params: Record<string, unknown> = {}) {
  return unprocessable('invalid_schema', `The JSON Schema does not compile: ${message}`, {
    field: 'documents',
    compiler_message: message,
    ...params,
  });
}

/**
 * Compiles a draft 2020-12 schema with Ajv, refusing other drafts, and checks that every `default`
 * satisfies the subschema it sits in (a default that violates its own schema would pre-fill editors
 * with invalid values). Returns the validator; throws 422 `invalid_schema` with Ajv's message.
 */
export function compileJsonSchema(value: unknown): InstanceValidator {
  if (typeof value === 'boolean') return ajvValidator(newAjv().compile(value));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidSchema('the document must be a JSON object (or a boolean schema).');
  }
  const schema = { ...(value as Record<string, unknown>) };
  const declared = schema.$schema;
  if (declared !== undefined) {
    if (typeof declared !== 'string' || !ACCEPTED_DRAFTS.has(declared)) {
      throw unprocessable(
        'unsupported_schema_draft',
        `Only JSON Schema draft 2020-12 is supported; $schema must be absent or '${DRAFT_2020_12}' (http or https), got ${JSON.stringify(declared)}.`,
        { field: '$schema', value: declared, allowed: [...ACCEPTED_DRAFTS] },
      );
    }
    schema.$schema = DRAFT_2020_12;
  }
  const ajv = newAjv();
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(schema);
  } catch (err) {
    throw invalidSchema(err instanceof Error ? err.message : String(err));
  }
  checkDefaults(ajv, schema);
  // A `$ref` cycle that never descends into the instance (`{"$ref":"#"}`) recurses without end on
  // every value; found here, it is a 422 at creation instead of a failure at each instance.
  for (const probe of [null, {}, [], '', 0]) {
    try {
      validate(probe);
    } catch (err) {
      if (err instanceof RangeError) throw invalidSchema(UNBOUNDED);
      throw err;
    }
  }
  return ajvValidator(validate);
}

const UNBOUNDED = 'the schema refers to itself without end ($ref cycle) and cannot be evaluated.';

function checkDefaults(ajv: Ajv2020, root: Record<string, unknown>) {
  const withDefaults = collectDefaults(root, '');
  if (withDefaults.length === 0) return;
  // Subschemas compile by pointer against the root, so their `$ref`s resolve as in the whole schema.
  // A root with its own $id is already registered by compile; otherwise register it under a private id.
  const id = typeof root.$id === 'string' ? root.$id.replace(/#$/, '') : 'bosun:schema-under-check';
  if (!ajv.getSchema(id)) ajv.addSchema({ ...root, $id: id });
  const violations: { pointer: string; default: unknown; errors: string }[] = [];
  for (const { pointer, fragment, value } of withDefaults) {
    let sub: ValidateFunction | undefined;
    try {
      sub = ajv.getSchema(`${id}#${fragment}`);
    } catch {
      // A default inside something that is not a subschema on its own (e.g. a fragment under a
      // nested $id): the whole-schema compile already succeeded, so there is nothing to report.
      continue;
    }
    if (sub && !sub(value)) violations.push({ pointer, default: value, errors: ajv.errorsText(sub.errors) });
  }
  if (violations.length) {
    throw unprocessable(
      'invalid_schema_default',
      `The JSON Schema has ${violations.length} default value(s) that violate it: ${violations
        .map((v) => `#${v.pointer}/default ${JSON.stringify(v.default)}: ${v.errors}`)
        .join('; ')}`,
      { field: 'documents', violations },
    );
  }
}

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
const SCHEMAS = new Set([
  'items',
  'additionalItems',
  'additionalProperties',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contains',
  'propertyNames',
  'not',
  'if',
  'then',
  'else',
]);

interface DefaultAt {
  /** JSON Pointer into the schema, for people. */
  pointer: string;
  /** The same pointer as a URI fragment, for Ajv. */
  fragment: string;
  value: unknown;
}

/** Every subschema carrying `default`, walking only the keywords whose values are subschemas. */
function collectDefaults(node: unknown, pointer = '', fragment = ''): DefaultAt[] {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return [];
  const schema = node as Record<string, unknown>;
  const out: DefaultAt[] = [];
  if ('default' in schema) out.push({ pointer, fragment, value: schema.default });
  const step = (p: string, f: string, key: string | number) => {
    const escaped = pointerChild('', key);
    return [p + escaped, f + escaped.split('/').map(encodeURIComponent).join('/')] as const;
  };
  for (const [key, child] of Object.entries(schema)) {
    const [p, f] = step(pointer, fragment, key);
    if (SCHEMA_MAPS.has(key) && child && typeof child === 'object' && !Array.isArray(child)) {
      for (const [name, sub] of Object.entries(child)) out.push(...collectDefaults(sub, ...step(p, f, name)));
    } else if (SCHEMA_LISTS.has(key) && Array.isArray(child)) {
      child.forEach((sub, i) => {
        out.push(...collectDefaults(sub, ...step(p, f, i)));
      });
    } else if (SCHEMAS.has(key)) {
      out.push(...collectDefaults(child, p, f));
    }
  }
  return out;
}

function ajvValidator(validate: ValidateFunction): InstanceValidator {
  return {
    async validate(value) {
      let valid: boolean;
      try {
        valid = validate(value) as boolean;
      } catch (err) {
        // A $ref cycle reached only under some instance shapes (the probes at creation miss it).
        if (err instanceof RangeError) throw invalidSchema(UNBOUNDED);
        throw err;
      }
      if (valid) return [];
      return (validate.errors ?? []).map(toIssue);
    },
  };
}

function toIssue(e: ErrorObject): ValidationIssue {
  const params = e.params as Record<string, unknown>;
  let path = e.instancePath;
  // A missing or extra property is reported at its parent; point at the property itself.
  if (e.keyword === 'required' || e.keyword === 'dependentRequired') {
    path = pointerChild(path, String(params.missingProperty));
  } else if (e.keyword === 'additionalProperties' || e.keyword === 'unevaluatedProperties') {
    const extra = params.additionalProperty ?? params.unevaluatedProperty;
    if (extra !== undefined) path = pointerChild(path, String(extra));
  }
  let message = e.message ?? e.keyword;
  if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
    message = `must be one of ${params.allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  }
  return { path, message, rule: e.keyword, schema_location: e.schemaPath };
}
