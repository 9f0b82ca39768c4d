import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  collectSchemaFiles,
  cueAnnotations,
  cuePackage,
  formatOf,
  jsonSchemaAnnotations,
  loadSchemaUnits,
} from '../src/schema-files.ts';
import { FIXTURES } from './cli-api-support.ts';

describe('schema annotations', () => {
  it('infers language and format from the extension', () => {
    expect(formatOf('a/b.schema.json')).toEqual({ language: 'jsonschema', format: 'json' });
    expect(formatOf('b.YML')).toEqual({ language: 'jsonschema', format: 'yaml' });
    expect(formatOf('b.yaml')).toEqual({ language: 'jsonschema', format: 'yaml' });
    expect(formatOf('b.cue')).toEqual({ language: 'cue', format: 'cue' });
    expect(formatOf('README.md')).toBeNull();
  });

  it('reads x-miru-* keys of a JSON Schema and refuses wrong types', () => {
    expect(
      jsonSchemaAnnotations({ 'x-miru-config-type': 'nav', 'x-miru-instance-filepath': '/a.json' }, 'f'),
    ).toEqual({
      configType: 'nav',
      instanceFilepath: '/a.json',
    });
    expect(jsonSchemaAnnotations({ type: 'object' }, 'f')).toBeNull();
    expect(() => jsonSchemaAnnotations({ 'x-miru-config-type': 3 }, 'f')).toThrow(/non-empty string/);
    expect(() => jsonSchemaAnnotations([], 'f')).toThrow(/must be an object/);
  });

  it('reads @miru(...) of CUE, ignoring comments, and refuses unknown keys and missing config_type', () => {
    const src =
      'package nav\n// @miru(config_type="commented")\n@miru(config_type="nav",instance_filepath="/srv/x \\"q\\".json")\nx: int\n';
    expect(cuePackage(src)).toBe('nav');
    expect(cueAnnotations(src, 'f')).toEqual({ configType: 'nav', instanceFilepath: '/srv/x "q".json' });
    expect(cueAnnotations('package nav\nx: int\n', 'f')).toBeNull();
    expect(() => cueAnnotations('@miru(config_type="a", instance_path="/x")', 'f')).toThrow(
      /unknown @miru key\(s\): instance_path/,
    );
    expect(() => cueAnnotations('@miru(instance_filepath="/x")', 'f')).toThrow(/needs config_type/);
    expect(() => cueAnnotations('@miru(config_type=nav)', 'f')).toThrow(/key="value"/);
  });

  it('groups the example CUE package into one schema, annotated file first', () => {
    const units = loadSchemaUnits(collectSchemaFiles([], [join(FIXTURES, 'schemas')]));
    expect(
      units.map((u) => [u.annotations.configType, u.language, u.format, u.documents.map((d) => d.name)]),
    ).toEqual([
      ['mobility', 'jsonschema', 'json', ['mobility.schema.json']],
      ['perception', 'jsonschema', 'yaml', ['perception.schema.yaml']],
      ['safety', 'cue', 'cue', ['safety.cue', 'estop.cue', 'zones.cue']],
    ]);
    expect(units[0]!.title).toBe('Mobility');
    // One file of a package named with --schema brings its siblings.
    const one = loadSchemaUnits(collectSchemaFiles([join(FIXTURES, 'schemas/safety/zones.cue')], []));
    expect(one.map((u) => u.documents.map((d) => d.name))).toEqual([
      ['safety.cue', 'zones.cue', 'estop.cue'],
    ]);
  });

  it('keeps packages of different directories apart and refuses a package with no annotated file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bosun-cue-'));
    mkdirSync(join(dir, 'a'));
    mkdirSync(join(dir, 'b'));
    writeFileSync(join(dir, 'a', 'x.cue'), 'package cfg\n@miru(config_type="a")\nx: int\n');
    writeFileSync(join(dir, 'b', 'x.cue'), 'package cfg\n@miru(config_type="b")\nx: int\n');
    expect(loadSchemaUnits(collectSchemaFiles([], [dir])).map((u) => u.annotations.configType)).toEqual([
      'a',
      'b',
    ]);
    writeFileSync(join(dir, 'b', 'x.cue'), 'package cfg\nx: int\n');
    expect(() => loadSchemaUnits(collectSchemaFiles([], [dir]))).toThrow(
      /exactly one file must carry .*found 0/,
    );
    writeFileSync(join(dir, 'b', 'x.cue'), 'x: int\n');
    expect(() => loadSchemaUnits(collectSchemaFiles([], [dir]))).toThrow(/needs a package clause/);
  });
});
