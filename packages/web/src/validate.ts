import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

export interface Violation {
  path: string;
  message: string;
}

/** The schema's text as a JSON value (JSON Schema in JSON or YAML). */
export function schemaValue(format: string, text: string): unknown {
  return format === 'yaml' ? parseYaml(text) : JSON.parse(text);
}

const cache = new Map<string, (value: unknown) => Violation[]>();

/**
 * A JSON Schema validator in the browser (Ajv 2020, as the server uses), by schema id: violations
 * with their JSON Pointer path, as the server reports them. The server stays the judge on create.
 */
export function jsonSchemaValidator(id: string, schema: unknown): (value: unknown) => Violation[] {
  const known = cache.get(id);
  if (known) return known;
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
  addFormats(ajv);
  const check = ajv.compile(schema as object);
  const run = (value: unknown): Violation[] => {
    if (check(value)) return [];
    return (check.errors ?? []).map((e) => ({
      path:
        e.keyword === 'required'
          ? `${e.instancePath}/${(e.params as { missingProperty: string }).missingProperty}`
          : e.instancePath || '/',
      message: e.message ?? e.keyword,
    }));
  };
  cache.set(id, run);
  return run;
}

/** Validates instance text: JSON syntax first, then the schema. */
export function validateText(
  text: string,
  validator: ((value: unknown) => Violation[]) | undefined,
): Violation[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return [{ path: '/', message: `not valid JSON: ${(err as Error).message}` }];
  }
  return validator ? validator(value) : [];
}
