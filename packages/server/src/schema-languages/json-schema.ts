import { unprocessable } from '@bosun/core';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { pointerChild } from './json-pointer.ts';
import type { InstanceValidator, ValidationIssue } from './types.ts';

// ajv-formats is CommonJS with a default export; under NodeNext the function sits on `.default`.
const addFormats = ((formatsPlugin as any).default ?? formatsPlugin) as (ajv: Ajv2020) => Ajv2020;

const DRAFT_2020_12 = 'https://json-schema.org/draft/2020-12/schema';
const ACCEPTED_DRAFTS = new Set([DRAFT_2020_12, 'http://json-schema.org/draft/2020-12/schema']);

/** Parses a JSON or YAML schema document into its value; a syntax error is a 422 with the parser's message. */
export function parseSchemaDocument(format: 'json' | 'yaml', name: string, data: string): unknown {
  try {
    if (format === 'json') return JSON.parse(data);
    return parseYaml(data, { prettyErrors: true, uniqueKeys: true, maxAliasCount: 100 });
  } catch (err) {
    const message = err instanceof YAMLParseError || err instanceof SyntaxError ? err.message : String(err);
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

function newAjv(): Ajv2020 {
  // strict: false because vendor keywords (`x-miru-config-type`, ...) are legal JSON Schema annotations.
  const ajv = new Ajv2020({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false });
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
  checkDefaults(ajv, schema, validate);
  return ajvValidator(validate);
}

function checkDefaults(ajv: Ajv2020, root: Record<string, unknown>, _validate: ValidateFunction) {
  const withDefaults = collectDefaults(root, '');
  if (withDefaults.length === 0) return;
  // Register the root under a private id so each subschema compiles with `$ref`s resolved against it.
  const id = 'bosun:schema-under-check';
  ajv.addSchema({ ...root, $id: id }, id);
  const violations: { pointer: string; default: unknown; errors: string }[] = [];
  for (const { pointer, value } of withDefaults) {
    const sub = ajv.getSchema(`${id}#${pointer}`);
    if (!sub) continue;
    if (!sub(value)) violations.push({ pointer, default: value, errors: ajv.errorsText(sub.errors) });
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

/** Every subschema carrying `default`, as JSON Pointers (URI-fragment escaped) into the schema. */
function collectDefaults(node: unknown, pointer: string): { pointer: string; value: unknown }[] {
  if (node === null || typeof node !== 'object') return [];
  const out: { pointer: string; value: unknown }[] = [];
  if (!Array.isArray(node) && 'default' in node) {
    out.push({ pointer, value: (node as Record<string, unknown>).default });
  }
  for (const [key, child] of Object.entries(node)) {
    // Values of these keywords are data, not subschemas.
    if (!Array.isArray(node) && ['default', 'const', 'enum', 'examples'].includes(key)) continue;
    out.push(...collectDefaults(child, pointerChild(pointer, key).replace(/%/g, '%25')));
  }
  return out;
}

function ajvValidator(validate: ValidateFunction): InstanceValidator {
  return {
    async validate(value) {
      if (validate(value)) return [];
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
