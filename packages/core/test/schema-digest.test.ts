import { describe, expect, it } from 'vitest';
import { canonicalCue, canonicalJson, schemaDigest, schemaIdentityKey } from '../src/schema-digest.ts';

const doc = (name: string, canonical: string) => ({ name, canonical });

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });
  it('is equal for the same value written differently', () => {
    expect(canonicalJson(JSON.parse('{ "x" : 5.0,\n "y": "s" }'))).toBe(
      canonicalJson(JSON.parse('{"y":"s","x":5}')),
    );
  });
});

describe('canonicalCue', () => {
  it('normalises indentation, blank lines, runs of spaces and line endings', () => {
    const a = 'package safety\n\n#Zone: {\n\tname:   string\n\tkind: "a"  |  "b"\n}\n';
    const b = 'package safety\r\n#Zone: {\r\n    name: string\r\n  kind: "a" | "b"\r\n}';
    expect(canonicalCue(a)).toBe(canonicalCue(b));
  });
  it('keeps whitespace inside string literals', () => {
    expect(canonicalCue('x: "a  b"')).not.toBe(canonicalCue('x: "a b"'));
    expect(canonicalCue('x: "a \\"  b"')).toBe('x: "a \\"  b"');
  });
  it('keeps lines of multi-line strings as written', () => {
    const s = 'x: """\n    two  spaces\n    """\ny:   1';
    expect(canonicalCue(s)).toBe('x: """\n    two  spaces\n    """\ny: 1');
  });
});

describe('schemaDigest', () => {
  it('has the sha256:<hex> form', () => {
    expect(schemaDigest('jsonschema', [doc('a.json', '{}')])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
  it('ignores the file name of a JSON Schema but not of CUE files', () => {
    expect(schemaDigest('jsonschema', [doc('a.json', '{}')])).toBe(
      schemaDigest('jsonschema', [doc('b.yaml', '{}')]),
    );
    expect(schemaDigest('cue', [doc('a.cue', 'x: 1')])).not.toBe(schemaDigest('cue', [doc('b.cue', 'x: 1')]));
  });
  it('sorts CUE documents by name', () => {
    const a = schemaDigest('cue', [doc('zones.cue', 'z'), doc('limits.cue', 'l')]);
    expect(schemaDigest('cue', [doc('limits.cue', 'l'), doc('zones.cue', 'z')])).toBe(a);
  });
  it('does not confuse document boundaries', () => {
    expect(schemaDigest('cue', [doc('a.cue', 'xy'), doc('b.cue', '')])).not.toBe(
      schemaDigest('cue', [doc('a.cue', 'x'), doc('b.cue', 'y')]),
    );
  });
  it('depends on the language and the content', () => {
    expect(schemaDigest('cue', [doc('a', '{}')])).not.toBe(schemaDigest('jsonschema', [doc('a', '{}')]));
    expect(schemaDigest('jsonschema', [doc('a', '{"a":1}')])).not.toBe(
      schemaDigest('jsonschema', [doc('a', '{"a":2}')]),
    );
  });
});

describe('schemaIdentityKey', () => {
  const base = {
    configTypeId: 'cfg_typ_1',
    language: 'jsonschema' as const,
    format: 'json' as const,
    instanceFilepath: '/a.json',
    digest: 'sha256:00',
  };
  it('is stable and changes with each part', () => {
    const k = schemaIdentityKey(base);
    expect(schemaIdentityKey({ ...base })).toBe(k);
    for (const patch of [
      { configTypeId: 'cfg_typ_2' },
      { format: 'yaml' as const },
      { instanceFilepath: '/b.json' },
      { digest: 'sha256:01' },
      { language: 'cue' as const },
    ])
      expect(schemaIdentityKey({ ...base, ...patch })).not.toBe(k);
  });
});
