/**
 * Rollout: BENCH_ROLLOUT_AGENTS (default 1000) simulated robots (agents in this process, SQLite,
 * embedded broker) in one group; a rollout of a release in three waves (10 devices, 10 %, the rest),
 * no soak. Measures create-to-all-deployed (every device's deployment reported deployed) and
 * create-to-completed (the driver noticed and closed the rollout).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '@bosun/agent';
import { benchAgents, benchRelease } from '../test/support/bench-fleet.ts';
import { startTestServer, type TestServer } from '../test/support/server.ts';
import type { Bench, BenchResult } from './run.ts';

const AGENTS = Number(process.env.BENCH_ROLLOUT_AGENTS ?? 1000);
const ms = (n: number) => Math.round(n * 10) / 10;

async function ok(t: TestServer, method: string, path: string, body?: unknown) {
  // A pooled keep-alive connection the server closed while the agents were starting resets once:
  // retry, with an Idempotency-Key so a retried POST runs once.
  const headers = { 'idempotency-key': `bench-${Math.random()}` };
  const call = () => t.api(method, path, body === undefined ? { headers } : { body, headers });
  const res = await call().catch(call);
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${res.text}`);
  return res.body;
}

async function run(): Promise<BenchResult[]> {
  const t = await startTestServer({ engine: 'sqlite' });
  const scratch = mkdtempSync(join(tmpdir(), 'bosun-bench-rollout-'));
  const agents: Agent[] = [];
  try {
    const { release, instance } = await benchRelease(t, ok, { max_speed: 1.2 });
    const group = await ok(t, 'POST', 'groups', { name: 'bench-fleet' });
    const fleet = await benchAgents(t, ok, AGENTS, scratch);
    agents.push(...fleet.agents);
    const devices = fleet.devices;
    for (let i = 0; i < devices.length; i += 1000)
      await ok(t, 'POST', `groups/${group.id}/devices/assign`, { device_ids: devices.slice(i, i + 1000) });
    await Promise.all(agents.map((a) => a.start().then(() => a.sync())));
    let deployedCount = 0;
    const allDeployed = new Promise<number>((resolve) => {
      for (const agent of agents) {
        agent.on('reported', ({ report }) => {
          if (report.activity_status === 'deployed' && ++deployedCount === AGENTS) resolve(performance.now());
        });
      }
    });
    const started = performance.now();
    const rollout = await ok(t, 'POST', 'rollouts', {
      description: 'bench',
      release_id: release.id,
      plan: { config_instance_ids: [instance.id] },
      selection: { group_ids: [group.id] },
      strategy: { waves: [{ devices: 10 }, { percent: 10 }, { percent: 100 }] },
    });
    const deployed = await allDeployed;
    let completed = 0;
    for (;;) {
      const r = await ok(t, 'GET', `rollouts/${rollout.id}`);
      if (r.status === 'completed') {
        completed = performance.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const note = `${AGENTS} agents in one process, SQLite, embedded broker, 3 waves, no soak`;
    return [
      { metric: `rollout create → all ${AGENTS} deployed`, value: ms(deployed - started), unit: 'ms', note },
      { metric: 'rollout create → completed', value: ms(completed - started), unit: 'ms', note },
    ];
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export default { name: 'rollout', run } satisfies Bench;
