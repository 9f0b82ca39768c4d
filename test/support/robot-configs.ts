import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * The example robot configs of `examples/robot-configs/` (schemas in JSON Schema JSON and YAML and a
 * CUE package, valid and invalid instances) and their machine-readable expectations,
 * `expected.json`, which the examples' README mirrors. Every suite that needs realistic schemas or
 * instances reads them through here, so the expectations live in one file.
 */
export const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples', 'robot-configs');

/** The text of a file under `examples/robot-configs/`, e.g. `example('schemas/mobility.schema.json')`. */
export const example = (path: string) => readFileSync(join(EXAMPLES, path), 'utf8');

export type ExampleSchemaName = 'mobility' | 'perception' | 'safety';

export interface ExpectedViolation {
  path: string;
  rule: string;
  message: string;
  schema_location: string;
  /** Prose for the README; not part of what the validator returns. */
  why: string;
}

export interface ExampleSchema {
  config_type: string;
  language: 'jsonschema' | 'cue';
  format: 'json' | 'yaml' | 'cue';
  files: string[];
  instance_filepath: string;
}

export interface ExampleInstance {
  file: string;
  schema: ExampleSchemaName;
  violations: ExpectedViolation[];
}

export interface Expected {
  schemas: Record<ExampleSchemaName, ExampleSchema>;
  instances: ExampleInstance[];
}

export const expected: Expected = JSON.parse(example('expected.json'));

/** `language`, `format` and `documents` of a schema, as the platform API and the validators take them. */
export function exampleSchemaSource(name: ExampleSchemaName) {
  const s = expected.schemas[name];
  return {
    language: s.language,
    format: s.format,
    documents: s.files.map((f) => ({ name: basename(f), data: example(f) })),
  };
}

/** The expectations of one instance file, by its name (`mobility.invalid-overspeed.json`) or path. */
export function expectedFor(file: string): ExampleInstance {
  const found = expected.instances.find((i) => i.file === file || i.file === `instances/${file}`);
  if (!found) throw new Error(`examples/robot-configs/expected.json does not list ${file}`);
  return found;
}

/** What a validator (or the API's 422 `params.errors`) returns for an instance: the violations without `why`. */
export function expectedIssues(file: string) {
  return expectedFor(file).violations.map(({ why: _why, ...issue }) => issue);
}

/** The instance files of a schema, valid ones (no violations) or invalid ones. */
export function exampleInstances(schema: ExampleSchemaName, valid: boolean): string[] {
  return expected.instances
    .filter((i) => i.schema === schema && (i.violations.length === 0) === valid)
    .map((i) => i.file);
}

/** Sorts issues by path then rule, so an expectation does not depend on the validator's order. */
export const byPath = <T extends { path: string; rule: string }>(issues: T[]) =>
  [...issues].sort((a, b) =>
    a.path === b.path ? a.rule.localeCompare(b.rule) : a.path.localeCompare(b.path),
  );
