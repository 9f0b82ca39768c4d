import fc from 'fast-check';

/**
 * fast-check arbitraries for requests, generated from our own OpenAPI document: each operation's
 * path, query and body schemas give "plausible" requests (ids drawn from the resources that exist),
 * and hostile generators bend them (wrong types, huge and odd strings, prototype names, deep
 * nesting, bad JSON, bad headers and content types, hostile schema documents).
 *
 * Values that cannot be decided at generation time travel as placeholders and are resolved when
 * the request is sent: a reference to the n-th known resource of a kind, and raw JSON text (deep
 * nesting) that JSON.stringify could not produce.
 */

export interface OpenApiOperation {
  method: string;
  path: string;
  operationId: string;
  parameters: Array<{ name: string; in: 'path' | 'query'; schema: JsonSchema }>;
  body: JsonSchema | undefined;
}

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  maxItems?: number;
}

/** A generated request before references are resolved. */
export interface Draft {
  operationId: string;
  method: string;
  /** Path template with `{param}` replaced by an already-encoded segment (may hold references). */
  path: string;
  query: Array<[string, string]>;
  headers: Record<string, string>;
  /** JSON text (may hold placeholders), or undefined for no body. */
  body: string | undefined;
  /** Names of the hostile generators applied; empty = a plausible request. */
  hostile: string[];
}

export function operationsOf(doc: any): OpenApiOperation[] {
  const ops: OpenApiOperation[] = [];
  for (const [path, methods] of Object.entries<any>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(methods)) {
      // Path-level `parameters` (the Miru-Version header) sit beside the operations.
      if (method === 'parameters') continue;
      ops.push({
        method: method.toUpperCase(),
        path,
        operationId: op.operationId,
        parameters: (op.parameters ?? []).filter((p: any) => p.in === 'path' || p.in === 'query'),
        body: op.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  return ops.sort((a, b) => a.operationId.localeCompare(b.operationId));
}

/** Resource kinds by id prefix, as the pool of known ids keeps them. */
export const KINDS: Record<string, string> = {
  config_type: 'cfg_typ_',
  config_schema: 'cfg_sch_',
  config_instance: 'cfg_inst_',
  release: 'rls_',
  deployment: 'dpl_',
  device: 'dvc_',
  git_commit: 'git_cmt_',
  parent: 'dpl_',
  patch_source: 'dpl_',
};

const REF = '\u0002';
const RAW = '\u0003';
/** Placeholder for the n-th known id of a kind (`cfg_typ_`, …), resolved when sending. */
const ref = (prefix: string, n: number) => `${REF}${prefix}:${n}${REF}`;
/** Placeholder for raw JSON text, spliced in after JSON.stringify. */
const raw = (text: string) => `${RAW}${Buffer.from(text).toString('base64')}${RAW}`;

export function resolveDraft(text: string, pick: (prefix: string, n: number) => string): string {
  return text
    .replace(/"\\u0003([A-Za-z0-9+/=]*)\\u0003"/g, (_, b64) => Buffer.from(b64, 'base64').toString())
    .replace(/\\u0002([a-z_]+):(\d+)\\u0002/g, (_, p, n) => pick(p, Number(n)))
    .replace(new RegExp(`${REF}([a-z_]+):(\\d+)${REF}`, 'g'), (_, p, n) => pick(p, Number(n)));
}

function idKindOf(name: string): string | undefined {
  const m = /^(.*?)_ids?$/.exec(name);
  return m ? KINDS[m[1]!] : undefined;
}

// ---------------------------------------------------------------- plausible values

const SCHEMA_DOCS_JSON = [
  '{"type":"object"}',
  '{"type":"object","properties":{"max_speed":{"type":"number","minimum":0,"default":1}},"required":["max_speed"]}',
  '{"$schema":"https://json-schema.org/draft/2020-12/schema","type":"object","properties":{"name":{"type":"string","pattern":"^[a-z]+$","maxLength":10}}}',
  '{"type":"object","additionalProperties":false,"properties":{"mode":{"enum":["a","b"]},"list":{"type":"array","items":{"type":"integer"}}}}',
];
const SCHEMA_DOCS_YAML = [
  'type: object\n',
  'type: object\nproperties:\n  hz:\n    type: integer\n    default: 10\n',
];
const SCHEMA_DOCS_CUE = [
  'package robot\n\n@miru(config_type="x")\nhz: int & >0\n',
  'package robot\n\nname: string\n',
];
const INSTANCE_DOCS = [
  '{}',
  '{"max_speed":1.5}',
  '{"name":"abc"}',
  '{"mode":"a","list":[1,2]}',
  '{"hz":10}',
  '[]',
  'null',
];

const slugLike = fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/);
const idRef = (prefix: string) => fc.nat(1000).map((n) => ref(prefix, n));

function plausibleString(name: string): fc.Arbitrary<string> {
  const kind = idKindOf(name);
  if (kind)
    return fc.oneof(
      { weight: 6, arbitrary: idRef(kind) },
      { weight: 1, arbitrary: fc.constant(`${kind}nope`) },
    );
  switch (name) {
    case 'id':
      return fc.constantFrom(...Object.values(KINDS)).chain((p) => idRef(p));
    case 'slug':
    case 'name':
      return slugLike;
    case 'description':
    case 'message':
      return fc.string({ maxLength: 40 });
    case 'version':
      return fc
        .tuple(fc.boolean(), fc.nat(20), fc.nat(20), fc.nat(99))
        .map(([v, a, b, c]) => `${v ? 'v' : ''}${a}.${b}.${c}`);
    case 'instance_filepath':
      return slugLike.map((s) => `/srv/bosun/configs/${s}.json`);
    case 'sha':
      return fc.stringMatching(/^[0-9a-f]{40}$/);
    case 'origin':
      return slugLike.map((s) => `https://github.com/acme/${s}.git`);
    case 'data':
      return fc.constantFrom(...SCHEMA_DOCS_JSON, ...SCHEMA_DOCS_YAML, ...SCHEMA_DOCS_CUE, ...INSTANCE_DOCS);
    default:
      return fc.string({ maxLength: 20 });
  }
}

function plausible(schema: JsonSchema, name: string, depth = 0): fc.Arbitrary<unknown> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((s) => plausible(s, name, depth + 1)));
  switch (schema.type) {
    case 'object': {
      const props = schema.properties ?? {};
      const model: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, s] of Object.entries(props)) model[k] = plausible(s, k, depth + 1);
      return fc.record(model, { requiredKeys: (schema.required ?? []).filter((k) => k in props) });
    }
    case 'array':
      return fc.array(plausible(schema.items ?? {}, name.replace(/s$/, ''), depth + 1), {
        maxLength: Math.min(schema.maxItems ?? 4, 4),
      });
    case 'string':
      return plausibleString(name);
    case 'integer':
      // Pings wait for the agent up to the timeout: keep plausible ones short.
      return name === 'timeout_nanos'
        ? fc.integer({ min: -5, max: 50_000_000 })
        : fc.integer({ min: -5, max: 200 });
    case 'number':
      return fc.double({ noNaN: true, min: -1e6, max: 1e6 });
    case 'boolean':
      return fc.boolean();
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------- hostile values

const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  '__defineGetter__',
  'constructor.prototype',
  '__proto__.x',
  'toString.x',
];

const ODD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF\uD800',
  '\uFFFE\uFFFF',
  '\u202Eevil',
  'ʇsǝʇ',
  '𝕏🤖',
  'e\u0301',
  '../../../etc/passwd',
  '/etc/../../root',
  '%00',
  '%',
  '%ZZ',
  "' or 1=1 --",
  '"; drop table devices; --',
  `$${'{'}jndi:ldap://x}`,
  '{{7*7}}',
  '<script>alert(1)</script>',
  'null',
  'undefined',
  'NaN',
  '-0',
  '1e309',
  '0x10',
  'true',
  '\r\n\r\nX-Injected: 1',
  '\t',
  ...PROTOTYPE_NAMES,
];

/** Long strings; `maxLong` bounds the largest (bytes add up over a 100k-request run). */
export const hostileString = (maxLong: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ODD_STRINGS) },
    { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 64 }) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 256, max: maxLong }), fc.constantFrom('x', '\u0000', 'é', '🤖', '\\', '"'))
        .map(([n, c]) => c.repeat(Math.ceil(n / c.length))),
    },
  );

export const deepJson = (maxDepth: number) =>
  fc
    .tuple(fc.integer({ min: 100, max: maxDepth }), fc.constantFrom('[', '{"a":', '{"__proto__":'))
    .map(([n, open]) => `${open.repeat(n)}${open === '[' ? '' : '1'}${(open === '[' ? ']' : '}').repeat(n)}`);

export const hostileValue = (maxLong: number, maxDepth: number): fc.Arbitrary<unknown> =>
  fc.oneof(
    { weight: 4, arbitrary: hostileString(maxLong) },
    {
      weight: 3,
      arbitrary: fc.constantFrom<unknown>(
        null,
        true,
        false,
        0,
        -1,
        1.5,
        2 ** 53 + 1,
        -(2 ** 63),
        1e308,
        [],
        {},
        [null],
        { '': 1 },
      ),
    },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 1, arbitrary: deepJson(maxDepth).map(raw) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...PROTOTYPE_NAMES).map((k) => raw(`{"${k}":{"polluted":true}}`)),
    },
  );

/** Schema documents that are hard on a validator (each within the documented rules or just beyond). */
const hostileDocuments = (maxLong: number, maxDepth: number, disabled: Set<string>) => {
  const gens: Array<{
    name: string;
    weight: number;
    arbitrary: fc.Arbitrary<{ data: string; format?: string; language?: string }>;
  }> = [
    {
      name: 'deep-json-document',
      weight: 8,
      arbitrary: fc
        .integer({ min: 100, max: maxDepth })
        .map((n) => ({ data: `${'{"items":'.repeat(n)}{}${'}'.repeat(n)}`, format: 'json' })),
    },
    {
      name: 'deep-json-document',
      weight: 4,
      arbitrary: fc
        .integer({ min: 100, max: maxDepth })
        .map((n) => ({ data: `${'['.repeat(n)}${']'.repeat(n)}` })),
    },
    {
      name: 'deep-yaml-document',
      weight: 4,
      arbitrary: fc
        .integer({ min: 1000, max: 20_000 })
        .map((n) => ({ data: `${'['.repeat(n)}${']'.repeat(n)}`, format: 'yaml' })),
    },
    {
      name: 'redos-pattern',
      weight: 4,
      arbitrary: fc.constantFrom('^(a+)+$', '^(a|a)*$', '^(a|aa)+$', '(x+x+)+y').map((p) => ({
        data: JSON.stringify({ type: 'string', pattern: p, default: `${'a'.repeat(40)}!` }),
        format: 'json',
      })),
    },
    {
      name: 'cue-huge-comprehension',
      weight: 4,
      arbitrary: fc.constantFrom(200_000, 1_000_000).map((n) => ({
        data: `package robot\n\nimport "list"\n\nx: [for i in list.Range(0, ${n}, 1) {i * 2}]\n`,
        format: 'cue',
        language: 'cue',
      })),
    },
    {
      name: 'odd-schema-document',
      weight: 16,
      arbitrary: fc
        .constantFrom(
          '{"$ref":"#"}',
          '{"$ref":"http://127.0.0.1:9/x.json"}',
          '{"$ref":"#/$defs/a","$defs":{"a":{"$ref":"#/$defs/a"}}}',
          '{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"default":1}}}',
          '{"$schema":"http://example.com/unknown"}',
          '{"type":"string","format":"email","default":"x"}',
          '{"type":"string","pattern":"(","default":"x"}',
          '{"type":"string","pattern":"\\\\p{Invalid}"}',
          '{"enum":[1,2,3],"default":4}',
          '{"type":"nonsense"}',
          '{"$id":"constructor"}',
          '{"type":"object","required":["__proto__"]}',
          '"just a string"',
          'null',
          '[]',
          '{"a":1,"a":2}',
          '---\n- a\n---\n- b\n',
          '&a [*a, *a]',
          'a: &x [1]\nb: [*x, *x, *x]\n',
          '!!js/function "function(){}"',
          '{"type":"object"',
          '\u0000',
          'package a\n',
          'package \u0000\n',
          'import "os"\npackage x\n',
        )
        .map((data) => ({ data })),
    },
    {
      name: 'odd-schema-document',
      weight: 4,
      arbitrary: hostileString(maxLong).map((data) => ({ data })),
    },
  ];
  return gens.filter((g) => !disabled.has(g.name));
};

// ---------------------------------------------------------------- requests

export interface Keys {
  admin: string;
  readOnly: string;
}

export interface ArbitraryOptions {
  keys: Keys;
  disabled: Set<string>;
  /** Largest hostile string, bytes. */
  maxLong: number;
  /** Deepest hostile nesting. */
  maxDepth: number;
}

/** Applies one hostile change; false when it does not fit the request (then it is not counted). */
type Apply = (d: Draft, bodyValue: unknown) => boolean;
type Applied = { name: string; f: Apply };

interface Mutation {
  name: string;
  weight: number;
  arbitrary: fc.Arbitrary<Apply>;
}

function bodyPaths(v: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []) {
  out.push(prefix);
  if (prefix.length > 16) return out;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) bodyPaths(x, [...prefix, i], out);
  } else if (v && typeof v === 'object')
    for (const [k, x] of Object.entries(v)) bodyPaths(x, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: Array<string | number>, value: unknown): unknown {
  if (path.length === 0) return value;
  let node = root as Record<string | number, unknown>;
  for (const p of path.slice(0, -1)) node = node[p] as Record<string | number, unknown>;
  Object.defineProperty(node, path.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return root;
}

/** Percent-encodes any string, lone surrogates included (they travel as U+FFFD, as a client would send them). */
export const encodeSegment = (s: string) =>
  [...Buffer.from(s)]
    .map((b) =>
      /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b))
        ? String.fromCharCode(b)
        : `%${b.toString(16).toUpperCase().padStart(2, '0')}`,
    )
    .join('');

export function requestArbitrary(ops: OpenApiOperation[], o: ArbitraryOptions): fc.Arbitrary<Draft> {
  const docs = hostileDocuments(o.maxLong, o.maxDepth, o.disabled);
  const mutations: Mutation[] = [
    {
      name: 'wrong-type',
      weight: 16,
      arbitrary: fc.tuple(fc.nat(), hostileValue(o.maxLong, o.maxDepth)).map(([n, v]) => (d, body) => {
        if (body === undefined) return false;
        const paths = bodyPaths(body);
        d.body = JSON.stringify(setAt(body, paths[n % paths.length]!, v));
        return true;
      }),
    },
    {
      name: 'hostile-string',
      weight: 16,
      arbitrary: fc.tuple(fc.nat(), hostileString(o.maxLong)).map(([n, v]) => (d, body) => {
        if (body === undefined) return false;
        const paths = bodyPaths(body).filter((p) => p.length > 0);
        if (paths.length === 0) return false;
        d.body = JSON.stringify(setAt(body, paths[n % paths.length]!, v));
        return true;
      }),
    },
    {
      name: 'prototype-keys',
      weight: 8,
      arbitrary: fc
        .tuple(fc.constantFrom(...PROTOTYPE_NAMES), fc.jsonValue({ maxDepth: 2 }))
        .map(([k, v]) => (d, body) => {
          const base = body && typeof body === 'object' && !Array.isArray(body) ? JSON.stringify(body) : '{}';
          d.body = `{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}${base === '{}' ? '' : `,${base.slice(1, -1)}`}}`;
          return true;
        }),
    },
    {
      name: 'hostile-document',
      weight: 24,
      arbitrary: fc
        .tuple(fc.nat(), fc.oneof(...docs.map((g) => g.arbitrary.map((x) => ({ ...x, gen: g.name })))))
        .map(([n, doc]) => (d, body) => {
          if (d.operationId === 'createConfigSchema') {
            const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
            b.config_type_ref ??= { id: ref('cfg_typ_', n) };
            b.language = doc.language ?? (doc.format === 'cue' ? 'cue' : 'jsonschema');
            b.format = doc.format ?? (n % 2 ? 'json' : 'yaml');
            b.documents = [{ name: 'schema', data: doc.data }];
            d.body = JSON.stringify(b);
          } else if (d.operationId === 'createConfigInstance') {
            // A deep instance is a generator of its own: it reaches the validators (CUE above all).
            const gen = doc.gen === 'deep-json-document' ? 'deep-instance-document' : doc.gen;
            if (o.disabled.has(gen)) return false;
            d.body = JSON.stringify({
              config_schema_id: ref('cfg_sch_', n),
              content: { format: 'json', data: doc.data },
            });
            d.hostile.push(gen);
            return true;
          } else return false;
          d.hostile.push(doc.gen);
          return true;
        }),
    },
    {
      name: 'deep-body',
      weight: 4,
      arbitrary: deepJson(o.maxDepth).map((text) => (d) => {
        d.body = text;
        return true;
      }),
    },
    {
      name: 'bad-json',
      weight: 8,
      arbitrary: fc
        .tuple(
          fc.nat(),
          fc.constantFrom(
            '',
            '{',
            '{"a":',
            '[1,]',
            '{"a":1}}',
            'nul',
            '\u0000',
            '{"a":"\\u00"}',
            "{'a':1}",
            '1',
            '"x"',
            '{"a":1,"a":2}',
          ),
        )
        .map(([n, text]) => (d) => {
          d.body = n % 3 === 0 && d.body ? d.body.slice(0, n % d.body.length) : text;
          return true;
        }),
    },
    {
      name: 'huge-body',
      weight: 1,
      arbitrary: fc.integer({ min: 1, max: 10 }).map((mb) => (d) => {
        d.body = JSON.stringify({ pad: 'x'.repeat(mb * 1024 * 1024) });
        return true;
      }),
    },
    {
      name: 'content-type',
      weight: 8,
      arbitrary: fc
        .constantFrom(
          'text/plain',
          'application/xml',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          'application/json; charset=latin1',
          'application/jsonx',
          'APPLICATION/JSON',
          '',
          '*/*',
          'application/json, text/plain',
          'application/merge-patch+json',
          null,
        )
        .map((ct) => (d) => {
          if (ct === null) delete d.headers['content-type'];
          else d.headers['content-type'] = ct;
          if (d.body === undefined) d.body = '{}';
          return true;
        }),
    },
    {
      name: 'headers',
      weight: 12,
      arbitrary: fc
        .constantFrom<[string, string | null]>(
          ['miru-version', ''],
          ['miru-version', '2020-01-01.tetons'],
          ['miru-version', '2026-03-09.rainier'],
          ['miru-version', '2026-03-09.tetons, 2026-03-09.tetons'],
          ['miru-version', 'x'.repeat(8000)],
          ['miru-version', null],
          ['x-api-key', ''],
          ['x-api-key', 'bsn_nope'],
          ['x-api-key', `bsn_${'a'.repeat(8000)}`],
          ['x-api-key', 'ÿÿÿ'],
          ['x-api-key', null],
          ['x-api-key', 'READONLY'],
          ['authorization', 'Bearer bsn_nope'],
          ['idempotency-key', ''],
          ['idempotency-key', 'k'.repeat(5000)],
          ['idempotency-key', '__proto__'],
          ['accept', 'application/xml'],
          ['accept-encoding', 'gzip;q=2, br;q=-1, *;q=x'],
          ['content-encoding', 'gzip'],
          ['x-forwarded-for', 'not an address'],
        )
        .map(([h, v]) => (d) => {
          if (v === null) delete d.headers[h];
          else d.headers[h] = v === 'READONLY' ? o.keys.readOnly : v;
          return true;
        }),
    },
    {
      name: 'path-param',
      weight: 12,
      arbitrary: fc
        .oneof(
          hostileString(Math.min(o.maxLong, 10_000)).map(encodeSegment),
          fc.constantFrom('%00', 'a%00b', '%ZZ', '..', '%2e%2e', '%2F', 'dvc_%00', '%C0%AF', '%FF', '%uD800'),
        )
        .map((seg) => (d) => {
          if (!/\{[^}]+\}/.test(d.path)) d.path = `${d.path}/${seg}`;
          else d.path = d.path.replace(/\{[^}]+\}/, seg);
          return true;
        }),
    },
    {
      name: 'query',
      weight: 16,
      arbitrary: fc
        .array(
          fc.tuple(
            fc.oneof(
              fc.constantFrom(
                'expand',
                'expand[]',
                'limit',
                'offset',
                'order_by',
                'id',
                'name',
                'device_id',
                'target_status',
                'disposition',
              ),
              fc.constantFrom(...PROTOTYPE_NAMES),
              fc.string({ maxLength: 8 }),
            ),
            fc.oneof(
              hostileString(Math.min(o.maxLong, 10_000)),
              fc.constantFrom(...PROTOTYPE_NAMES),
              fc.constantFrom(
                '-1',
                '1e309',
                '9007199254740993',
                '0x10',
                '',
                'id:sideways',
                'a.b.c.d.e.f',
                'total_count',
                'device.release.config_instances.config_schema',
              ),
              fc
                .tuple(
                  fc.array(fc.constantFrom(...PROTOTYPE_NAMES, 'device', 'release', ''), {
                    minLength: 1,
                    maxLength: 5,
                  }),
                  fc.constantFrom('.', ',', '|'),
                )
                .map(([a, sep]) => a.join(sep)),
            ),
          ),
          { minLength: 1, maxLength: 6 },
        )
        .map((pairs) => (d) => {
          d.query.push(...pairs);
          return true;
        }),
    },
  ];
  const active = mutations.filter((m) => !o.disabled.has(m.name));

  const perOp = ops.map((op) => {
    const pathParams = op.parameters.filter((p) => p.in === 'path');
    const queryParams = op.parameters.filter((p) => p.in === 'query');
    const paths = fc.tuple(...pathParams.map((p) => plausibleString(p.name))) as fc.Arbitrary<string[]>;
    const query = fc
      .subarray(queryParams, { maxLength: Math.min(3, queryParams.length) })
      .chain((chosen) =>
        fc.tuple(
          ...chosen.map((p) =>
            plausible(p.schema, p.name === 'id' ? idNameOf(op.path) : p.name).map((v) => [
              p.name,
              Array.isArray(v) ? v.join(',') : String(v),
            ]),
          ),
        ),
      ) as fc.Arbitrary<Array<[string, string]>>;
    const body = op.body ? plausible(op.body, 'body') : fc.constant(undefined);
    return fc.record({ paths, query, body }).map(({ paths, query, body }) => {
      let i = 0;
      const path = op.path.replace(/\{[^}]+\}/g, () => paths[i++]!);
      return { op, path, query, body };
    });
  });

  return fc
    .tuple(
      // Writes, and above all schemas and instances (parsers, validators), get more of the run.
      fc.oneof(
        ...perOp.map((arbitrary, i) => ({
          weight: /^create(ConfigSchema|ConfigInstance)$/.test(ops[i]!.operationId)
            ? 8
            : ops[i]!.method === 'GET'
              ? 2
              : 4,
          arbitrary,
        })),
      ),
      fc.oneof(
        { weight: 3, arbitrary: fc.constant<Applied[]>([]) },
        {
          weight: 7,
          arbitrary: fc.array(
            fc.oneof(
              ...active.map((m) => ({
                weight: m.weight,
                arbitrary: m.arbitrary.map((f) => ({ name: m.name, f })),
              })),
            ),
            {
              minLength: 1,
              maxLength: 2,
            },
          ),
        },
      ),
    )
    .map(([base, muts]) => {
      const headers: Record<string, string> = {
        'miru-version': '2026-03-09.tetons',
        'x-api-key': o.keys.admin,
      };
      const d: Draft = {
        operationId: base.op.operationId,
        method: base.op.method,
        path: `/beta${base.path}`,
        query: base.query,
        headers,
        body: base.body === undefined ? undefined : JSON.stringify(base.body),
        hostile: [],
      };
      if (d.body !== undefined) headers['content-type'] = 'application/json';
      for (const m of muts) {
        if (m.f(d, parseOrUndefined(d.body))) d.hostile.push(m.name);
      }
      return d;
    });
}

/** `id` filters of a list name the listed resource's own ids. */
function idNameOf(path: string): string {
  const seg = path.split('/')[1] ?? '';
  return `${seg.replace(/s$/, '')}_id`;
}

function parseOrUndefined(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    // A body nested deeper than a stack can re-serialise stays as it is.
    const v = JSON.parse(text);
    JSON.stringify(v);
    return v;
  } catch {
    return undefined;
  }
}
