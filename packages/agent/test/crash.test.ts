import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { recordFigures } from '../../../test/reliability/support/figures.ts';
import { FileApplier, type RecoveryResult } from '../src/applier.ts';
import { sha256Digest } from '../src/fsutil.ts';
import { contentOf, deploymentIndex, PATHS, pathsOf } from './support/crash-content.ts';
import { seededRandom } from './support/seeded.ts';

/**
 * SIGKILLs a real agent apply process at random points, many times, and checks after every kill that
 * recovery leaves each config file with the complete content of exactly one deployment (the last
 * committed or the interrupted one), that the ledger the agent reports from matches the disk, and that
 * no committed deployment is ever lost.
 */
const here = dirname(fileURLToPath(import.meta.url));
const child = join(here, 'support', 'crash-child.ts');
const ROUNDS = Number(process.env.BOSUN_CRASH_ROUNDS ?? 60);
// Kill points come from this seed (printed; BOSUN_CRASH_SEED=<seed> replays them).
const random = seededRandom('BOSUN_CRASH_SEED');

function start(
  stateDir: string,
  fsRoot: string,
  crashAt: number,
): { proc: ChildProcess; ready: Promise<void> } {
  const proc = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', child, stateDir, fsRoot], {
    env: { ...process.env, CRASH_AT_STEP: String(crashAt) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    proc.on('exit', () => reject(new Error('exited before ready')));
  });
  return { proc, ready };
}

const exited = (proc: ChildProcess) =>
  new Promise<NodeJS.Signals | null>((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) resolve(proc.signalCode);
    else proc.on('exit', (_code, signal) => resolve(signal));
  });

function strayTempFiles(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (e.name.includes('.bosun-')) found.push(join(dir, e.name));
    }
  };
  if (existsSync(root)) walk(root);
  return found;
}

/** Recovers and checks the invariant; returns the deployment the disk now holds (0 = none yet). */
async function recoverAndCheck(
  stateDir: string,
  fsRoot: string,
  outcomes: RecoveryResult['outcome'][],
  at: string,
) {
  const applier = new FileApplier(stateDir, fsRoot);
  outcomes.push(...(await applier.recover()).map((r) => r.outcome));
  expect(readdirSync(join(stateDir, 'journal'))).toEqual([]);
  expect(strayTempFiles(fsRoot)).toEqual([]);
  const ledger = await applier.ledger();
  const ids = Object.keys(ledger);
  expect(ids.length).toBeLessThanOrEqual(1);
  const k = ids[0] ? deploymentIndex(ids[0]) : 0;
  const owned = k > 0 ? pathsOf(k) : [];
  for (const path of PATHS) {
    const real = join(fsRoot, path);
    if (owned.includes(path)) {
      const content = readFileSync(real);
      expect(
        content.equals(contentOf(k, path)),
        `${path} holds the complete content of deployment ${k} (${at})`,
      ).toBe(true);
      expect(ledger[ids[0]!]![path]).toBe(sha256Digest(content));
    } else {
      expect(existsSync(real), `${path} belongs to no deployment after recovery (${at})`).toBe(false);
    }
  }
  return k;
}

describe('crash safety of applies (SIGKILL at random points)', () => {
  // A full-size run (1,000 kills) on a busy machine takes far longer than the CI size.
  it(`keeps every file complete-old or complete-new across ${ROUNDS} kills`, {
    timeout: Math.max(300_000, ROUNDS * 3_000),
  }, async () => {
    console.log(
      `crash test: seed ${random.seed} (replay: ${random.replay} npx vitest run packages/agent/test/crash.test.ts)`,
    );
    const stateDir = mkdtempSync(join(tmpdir(), 'bosun-crash-state-'));
    const fsRoot = mkdtempSync(join(tmpdir(), 'bosun-crash-root-'));
    const outcomes: RecoveryResult['outcome'][] = [];
    let committed = 0;
    let advanced = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Half the rounds die at a chosen durable step (covers every step boundary), half at a random
      // moment chosen by the parent (covers the middle of writes, fsyncs and renames).
      const selfKill = round % 2 === 0;
      const crashAt = selfKill ? 1 + Math.floor(random.next() * 30) : 0;
      const { proc, ready } = start(stateDir, fsRoot, crashAt);
      await ready;
      if (!selfKill) {
        await new Promise((r) => setTimeout(r, random.next() * 150));
        proc.kill('SIGKILL');
      }
      expect(await exited(proc)).toBe('SIGKILL');
      const k = await recoverAndCheck(stateDir, fsRoot, outcomes, `round ${round}, ${random.replay}`);
      expect(
        k,
        `a committed deployment is never lost (round ${round}, ${random.replay})`,
      ).toBeGreaterThanOrEqual(committed);
      if (k > committed) advanced++;
      committed = k;
    }
    const count = (o: string) => outcomes.filter((x) => x === o).length;
    recordFigures('agent-apply-crash', { kills: ROUNDS, seed: random.seed, committed, advanced });
    console.log(
      `crash test: seed ${random.seed}, ${ROUNDS} SIGKILLs, ${committed} deployments committed, progress in ${advanced} rounds; recovery: ${count('rolled_back')} rolled back, ${count('completed')} completed, ${count('discarded')} discarded`,
    );
    expect(committed).toBeGreaterThan(0);
    expect(count('rolled_back')).toBeGreaterThan(0);
  });
});
