import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordFigures } from '../../../test/reliability/support/figures.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { FileApplier, type RecoveryResult } from '../src/applier.ts';
import { seededRandom } from './support/seeded.ts';
import { newDevice, ok } from './support/world.ts';

/**
 * The whole agent (reconcile, apply, report) in a child process against a real server, SIGKILLed at a
 * random moment after each new deployment. After every kill: each file holds the complete content of
 * the old or of the new deployment — all files the same one — and the ledger says which; after the
 * restart the agent converges and the server shows the new deployment `deployed`, the old `archived`.
 */
const here = dirname(fileURLToPath(import.meta.url));
const ROUNDS = Number(process.env.BOSUN_AGENT_CRASH_ROUNDS ?? 50);
// Kill moments come from this seed (printed; BOSUN_AGENT_CRASH_SEED=<seed> replays them).
const random = seededRandom('BOSUN_AGENT_CRASH_SEED');
const PATHS = ['/etc/robot/a.json', '/etc/robot/b.json', '/srv/bosun/configs/c.json'];

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

function spawnAgent(stateDir: string, fsRoot: string): Promise<ChildProcess> {
  const proc = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', join(here, 'support', 'agent-child.ts'), stateDir, fsRoot],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolve, reject) => {
    proc.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve(proc));
    proc.on('exit', (code) => reject(new Error(`agent exited early (${code})`)));
  });
}

const killed = (proc: ChildProcess) =>
  new Promise<void>((resolve) => {
    proc.on('exit', () => resolve());
    proc.kill('SIGKILL');
  });

async function waitFor(what: string, check: () => Promise<boolean>) {
  for (let i = 0; i < 1200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('crash safety of the running agent', () => {
  it(`converges and reports correctly after ${ROUNDS} SIGKILLs during deployments`, {
    // A full-size run (1,000 kills) on a busy machine takes far longer than the CI size.
    timeout: Math.max(1_200_000, ROUNDS * 10_000),
  }, async () => {
    console.log(
      `agent crash test: seed ${random.seed} (replay: ${random.replay} npx vitest run packages/agent/test/crash-agent.test.ts)`,
    );
    const slug = `crash-${Math.random().toString(36).slice(2, 8)}`;
    const schemas: string[] = [];
    for (const [i, path] of PATHS.entries()) {
      const type = await ok(t, 'POST', 'config_types', { name: `${slug}-${i}`, slug: `${slug}-${i}` });
      const schema = await ok(t, 'POST', 'config_schemas', {
        config_type_ref: { id: type.id },
        instance_filepath: path,
        language: 'jsonschema',
        format: 'json',
        documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
      });
      schemas.push(schema.id);
    }
    const release = await ok(t, 'POST', 'releases', { version: `1.0.0-${slug}`, config_schema_ids: schemas });
    const device = await newDevice(t);
    const content = (round: number, i: number) =>
      JSON.stringify({ round, file: i, padding: 'x'.repeat(32 * 1024 * (1 + (round % 3))) });
    const outcomes: RecoveryResult['outcome'][] = [];
    let previous: { id: string; round: number } | undefined;
    let midway = 0;
    let proc = await spawnAgent(device.stateDir, device.fsRoot);
    for (let round = 1; round <= ROUNDS; round++) {
      const instances = [];
      for (const [i, schema] of schemas.entries()) {
        const inst = await ok(t, 'POST', 'config_instances', {
          config_schema_id: schema,
          content: { format: 'json', data: content(round, i) },
        });
        instances.push(inst.id);
      }
      const d = await ok(t, 'POST', 'deployments', {
        target_status: 'deployed',
        description: `crash round ${round}`,
        release_id: release.id,
        device_id: device.id,
        config_instance_ids: instances,
      });
      await new Promise((r) => setTimeout(r, random.next() * 400));
      await killed(proc);

      // What a restart finds: recover (as Agent.start does), then every file from one deployment.
      const applier = new FileApplier(device.stateDir, device.fsRoot);
      const recovered = await applier.recover();
      outcomes.push(...recovered.map((r) => r.outcome));
      const ledger = await applier.ledger();
      const owners = Object.keys(ledger);
      const at = `round ${round}, ${random.replay}`;
      expect(owners.length, `the ledger names at most one deployment (${at})`).toBeLessThanOrEqual(1);
      const allowed = new Map([[d.id, round]]);
      if (previous) allowed.set(previous.id, previous.round);
      if (owners[0]) {
        expect(allowed.has(owners[0]), `ledger names ${owners[0]} (${at})`).toBe(true);
        const owner = allowed.get(owners[0])!;
        if (owner === round && previous) midway++;
        for (const [i, path] of PATHS.entries())
          expect(readFileSync(join(device.fsRoot, path), 'utf8'), `${path} after kill (${at})`).toBe(
            content(owner, i),
          );
      } else {
        expect(previous, `only before the first deployment is nothing on disk (${at})`).toBeUndefined();
        for (const path of PATHS) expect(existsSync(join(device.fsRoot, path))).toBe(false);
      }

      proc = await spawnAgent(device.stateDir, device.fsRoot);
      await waitFor(
        `round ${round} deployed`,
        async () => (await ok(t, 'GET', `deployments/${d.id}`)).status === 'deployed',
      );
      if (previous) {
        const prev = previous.id;
        await waitFor(
          `round ${round - 1} archived`,
          async () => (await ok(t, 'GET', `deployments/${prev}`)).status === 'archived',
        );
      }
      for (const [i, path] of PATHS.entries())
        expect(readFileSync(join(device.fsRoot, path), 'utf8')).toBe(content(round, i));
      previous = { id: d.id, round };
    }
    await killed(proc);
    const count = (o: string) => outcomes.filter((x) => x === o).length;
    recordFigures('agent-process-crash', { kills: ROUNDS, seed: random.seed, midway, lost: 0, stuck: 0 });
    console.log(
      `agent crash test: seed ${random.seed}, ${ROUNDS} SIGKILLs; new deployment already on disk at ${midway} kills; recovery: ${count('rolled_back')} rolled back, ${count('completed')} completed, ${count('discarded')} discarded`,
    );
  });
});
