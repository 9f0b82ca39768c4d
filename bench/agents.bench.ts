/**
 * Agents: BENCH_AGENTS (default 100) agents in this process against one server on the embedded default
 * (SQLite, embedded MQTT broker over WebSocket for the sync hints), one deployment each. Measures the
 * time from each create call to the moment the server accepted that agent's `deployed` report
 * (p50, p99) and from the first create call to the last report (total).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Agent } from '@bosun/agent';
import { benchAgents, benchRelease } from '../test/support/bench-fleet.ts';
import { startTestServer, type TestServer } from '../test/support/server.ts';
import type { Bench, BenchResult } from './run.ts';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100);

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (n: number) => Math.round(n * 10) / 10;

async function ok(t: TestServer, method: string, path: string, body?: unknown) {
  const res = await t.api(method, path, body === undefined ? {} : { body });
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${res.text}`);
  return res.body;
}

async function run(): Promise<BenchResult[]> {
  const t = await startTestServer({ engine: 'sqlite' });
  const scratch = mkdtempSync(join(tmpdir(), 'bosun-bench-agents-'));
  const agents: Agent[] = [];
  try {
    const { release, instance } = await benchRelease(t, ok, { max_speed: 1.2, zones: Array(50).fill('z') });
    const fleet = await benchAgents(t, ok, AGENTS, scratch);
    agents.push(...fleet.agents);
    const devices = fleet.devices;
    // Every agent finishes its first (empty) pass and joins the broker before the clock starts.
    await Promise.all(agents.map((a) => a.start().then(() => a.sync())));
    // Per agent: when its create call started (the report may arrive before the call returns).
    const created: number[] = [];
    const latencies: number[] = [];
    const done = new Promise<number>((resolve) => {
      for (const [i, agent] of agents.entries()) {
        agent.on('reported', ({ report }) => {
          if (report.activity_status !== 'deployed') return;
          latencies.push(performance.now() - created[i]!);
          if (latencies.length === AGENTS) resolve(performance.now());
        });
      }
    });
    const started = performance.now();
    let createsReturned = 0;
    await Promise.all(
      devices.map(async (deviceId, i) => {
        created[i] = performance.now();
        await ok(t, 'POST', 'deployments', {
          target_status: 'deployed',
          description: 'bench',
          release_id: release.id,
          device_id: deviceId,
          config_instance_ids: [instance.id],
        });
      }),
    );
    createsReturned = performance.now() - started;
    const finished = await done;
    latencies.sort((a, b) => a - b);
    const note = `${AGENTS} agents in one process, SQLite, embedded broker`;
    return [
      { metric: 'create → deployed p50', value: ms(quantile(latencies, 0.5)), unit: 'ms', note },
      { metric: 'create → deployed p99', value: ms(quantile(latencies, 0.99)), unit: 'ms', note },
      { metric: `all ${AGENTS} deployed (total)`, value: ms(finished - started), unit: 'ms', note },
      { metric: `all ${AGENTS} create calls returned`, value: ms(createsReturned), unit: 'ms', note },
    ];
  } finally {
    await Promise.all(agents.map((a) => a.stop()));
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

export default { name: 'agents', run } satisfies Bench;
