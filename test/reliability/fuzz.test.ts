import { describe, expect, it } from 'vitest';
import { describeFinding, runFuzz, summarise } from './fuzz.ts';
import { reliabilityEngines } from './support/bosun-server.ts';
import { recordFigures } from './support/figures.ts';

/**
 * The OpenAPI-driven fuzzer at CI size (BOSUN_FUZZ_RUNS, default 5,000 requests per engine) with a
 * fixed seed (BOSUN_FUZZ_SEED); `npm run bench -- reliability` runs it at 100,000. A failure prints
 * each finding with the command that replays its batch.
 */
const RUNS = Number(process.env.BOSUN_FUZZ_RUNS ?? 5_000);
const SEED = Number(process.env.BOSUN_FUZZ_SEED ?? 20_261_203);
const BATCHES = process.env.BOSUN_FUZZ_BATCHES?.split(',').map(Number);
const ENGINES = process.env.BOSUN_FUZZ_ENGINE
  ? reliabilityEngines().filter((e) => e === process.env.BOSUN_FUZZ_ENGINE)
  : reliabilityEngines();

describe.each(ENGINES)('OpenAPI fuzzer on %s', (engine) => {
  it(`${RUNS} requests: no 5xx, no hang, the process stays up, refused writes change nothing`, {
    timeout: Math.max(600_000, RUNS * 60),
  }, async () => {
    const result = await runFuzz({ engine, runs: RUNS, seed: SEED, batches: BATCHES });
    const summary = summarise(result);
    console.log(summary);
    for (const f of result.knownOpen.slice(0, 5)) console.log(describeFinding(f));
    recordFigures(`fuzz-${engine}`, result);
    expect(result.findings.map(describeFinding), summary).toEqual([]);
    expect(result.requests).toBe(BATCHES ? result.requests : RUNS);
  });
});
