import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Bench, BenchResult } from './run.ts';

/**
 * `npm run bench -- reliability`: the reliability suite at full size — the OpenAPI fuzzer at 100,000
 * requests per engine, 20 faults of each kind, and 1,000 SIGKILLs of each agent crash test — run by
 * vitest exactly as in CI, only bigger (the sizes are environment variables, overridable). The
 * figures each test records are read back for RELIABILITY.md. PostgreSQL is included when
 * BOSUN_TEST_DATABASE_URL is set.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const bench: Bench = {
  name: 'reliability',
  async run() {
    const figuresFile = join(mkdtempSync(join(tmpdir(), 'bosun-reliability-')), 'figures.jsonl');
    const env = {
      BOSUN_FUZZ_RUNS: '100000',
      BOSUN_FAULT_ROUNDS: '20',
      BOSUN_CRASH_ROUNDS: '1000',
      BOSUN_AGENT_CRASH_ROUNDS: '1000',
      ...process.env,
      BOSUN_RELIABILITY_FIGURES: figuresFile,
    };
    console.log(
      `  fuzz ${env.BOSUN_FUZZ_RUNS}/engine, ${env.BOSUN_FAULT_ROUNDS} faults/kind, ${env.BOSUN_AGENT_CRASH_ROUNDS} agent kills (seeds are printed below)`,
    );
    const run = spawnSync(
      process.execPath,
      [
        join(root, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--project',
        'reliability',
        '--project',
        'agent',
        // Of the agent project, only its crash tests (file filters match by path).
        'packages/agent/test/crash',
        'test/reliability',
      ],
      { cwd: root, env, stdio: 'inherit', timeout: 6 * 3600_000 },
    );
    const results: BenchResult[] = [];
    const lines = existsSync(figuresFile) ? readFileSync(figuresFile, 'utf8').trim().split('\n') : [];
    for (const line of lines.filter(Boolean)) {
      const { name, figures } = JSON.parse(line);
      if (name.startsWith('fuzz-')) {
        results.push(
          {
            metric: `${name} requests`,
            value: figures.requests,
            unit: 'requests',
            note: `seed ${figures.seed}`,
          },
          { metric: `${name} 5xx (new)`, value: figures.findings.length, unit: 'responses' },
          { metric: `${name} 5xx (known open)`, value: figures.knownOpen.length, unit: 'responses' },
          { metric: `${name} hangs`, value: figures.hangs, unit: 'requests' },
          { metric: `${name} crashes`, value: figures.crashes, unit: 'exits' },
          {
            metric: `${name} refused-write groups checked`,
            value: figures.rejectedWriteBatches,
            unit: 'groups',
          },
        );
      } else {
        const faults = figures.faults ?? figures.kills;
        results.push({
          metric: `${name}`,
          value: faults,
          unit: figures.kills ? 'kills' : 'faults',
          note: `lost ${figures.lost ?? 0}, stuck ${figures.stuck ?? 0}, torn ${figures.torn ?? 0}${figures.seed !== undefined ? `, seed ${figures.seed}` : ''}`,
        });
      }
    }
    results.push({ metric: 'vitest exit code', value: run.status ?? -1, unit: '' });
    return results;
  },
};

export default bench;
