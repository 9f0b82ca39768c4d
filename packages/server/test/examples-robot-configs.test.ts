import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  byPath,
  EXAMPLES,
  type ExampleSchemaName,
  example,
  exampleSchemaSource,
  expected,
  expectedIssues,
} from '../../../test/support/robot-configs.ts';
import { compileSchema } from '../src/schema-languages/index.ts';

const reEscape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * examples/robot-configs is documentation that tests keep honest: every instance validates exactly
 * as expected.json says, expected.json lists every file, and the README names every violation.
 */
describe('examples/robot-configs', () => {
  const validators = new Map<ExampleSchemaName, ReturnType<typeof compileSchema>>();
  const validator = (name: ExampleSchemaName) => {
    if (!validators.has(name)) validators.set(name, compileSchema(exampleSchemaSource(name)));
    return validators.get(name)!;
  };

  it.each(expected.instances.map((i) => [i.file, i.schema] as const))(
    '%s validates against %s exactly as expected.json says',
    async (file, schema) => {
      const text = example(file);
      const issues = await (await validator(schema)).validate(JSON.parse(text), text);
      expect(byPath(issues)).toEqual(byPath(expectedIssues(file)));
    },
  );

  it('expected.json lists every instance and schema file, and both kinds of instance per schema', () => {
    const instances = readdirSync(join(EXAMPLES, 'instances')).map((f) => `instances/${f}`);
    expect(expected.instances.map((i) => i.file).sort()).toEqual(instances.sort());
    for (const i of expected.instances)
      expect(i.file.includes('.invalid-'), i.file).toBe(i.violations.length > 0);
    const schemaFiles = readdirSync(join(EXAMPLES, 'schemas'), { recursive: true, withFileTypes: true })
      .filter((d) => d.isFile())
      .map((d) => join(d.parentPath, d.name).slice(EXAMPLES.length + 1));
    expect(
      Object.values(expected.schemas)
        .flatMap((s) => s.files)
        .sort(),
    ).toEqual(schemaFiles.sort());
    for (const name of Object.keys(expected.schemas)) {
      const kinds = expected.instances.filter((i) => i.schema === name).map((i) => i.violations.length > 0);
      expect(new Set(kinds), name).toEqual(new Set([true, false]));
    }
    // Languages covered: JSON Schema in JSON and in YAML, and a CUE package of several files.
    const shapes = Object.values(expected.schemas).map(
      (s) => `${s.language}/${s.format}/${s.files.length > 1}`,
    );
    expect(shapes.sort()).toEqual(['cue/cue/true', 'jsonschema/json/false', 'jsonschema/yaml/false']);
  });

  it('the README mirrors expected.json: each invalid instance with its count, every path and rule', () => {
    const readme = example('README.md');
    for (const i of expected.instances) {
      if (i.violations.length === 0) {
        expect(readme).toContain(`\`${i.file}\``);
        continue;
      }
      const start = readme.indexOf(`### \`${i.file}\` (${i.violations.length} violations)`);
      expect(start, i.file).toBeGreaterThanOrEqual(0);
      const end = readme.indexOf('\n### ', start + 1);
      const section = readme.slice(start, end === -1 ? undefined : end);
      for (const v of i.violations) {
        // A table row `| path | rule |`: Markdown escapes `|` in the rule, and cells may be padded.
        const cell = (text: string) => `\\|\\s*\`${reEscape(text)}\`\\s*`;
        expect(section, `${i.file} ${v.path}`).toMatch(
          new RegExp(cell(v.path) + cell(v.rule.replaceAll('|', '\\|')) + '\\|'),
        );
      }
    }
  });
});
