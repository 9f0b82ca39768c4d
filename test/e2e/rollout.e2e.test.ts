import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { catalog } from './support/catalog.ts';
import { AgentProcess, freePort, RestartableServer, runCli } from './support/fleet.ts';

/**
 * A staged rollout over 20 real `bosun agent run` processes (docs/decisions.md #78): three waves;
 * in the second, robots whose config path cannot be written fail, the rollout pauses and says why,
 * the failed robots are rolled back and end deployed on their previous set with its files intact;
 * after the fix, resume completes the rollout. An aborted rollout leaves nothing staged.
 */
const FLEET = 20;
const BLOCKED = [2, 3]; // two of the four robots of wave 2
const tag = Math.random().toString(36).slice(2, 8);
const content = {
  mob1: '{"max_speed": 1.0}\n',
  nav1: '{"planner": "teb"}\n',
  lidar2: '{"hz": 20}\n',
  nav2: '{"planner": "dwb"}\n',
};

/** Slow machines run many agents: a longer patience than the suite's default. */
async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, ms = 240_000) {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`gave up waiting for ${what}${last ? ` (${String(last)})` : ''}`);
}

describe(`rollout over ${FLEET} agents`, () => {
  let server: RestartableServer;
  const agents = Array.from(
    { length: FLEET },
    () => new AgentProcess(['--retry-base', '100', '--retry-cap', '400', '--max-attempts', '3']),
  );
  const devices: string[] = [];
  const ids = {} as Record<'v1' | 'v2' | 'Imob1' | 'Inav1' | 'Ilidar2' | 'Inav2' | 'group', string>;
  const read = (i: number, path: string) =>
    existsSync(agents[i]!.path(path)) ? readFileSync(agents[i]!.path(path), 'utf8') : null;
  const deploymentsOf = async (device: string, query = '') =>
    (await server.api('GET', `deployments?device_id=${device}&limit=100${query}`)).data as any[];

  beforeAll(async () => {
    server = new RestartableServer(await freePort(), undefined);
    await server.start();
    const { type, schema, instance, release } = catalog(server, tag);
    const mobility = await type('Mobility');
    const navigation = await type('Navigation');
    const lidar = await type('Lidar');
    const mob = await schema(mobility, '/etc/robot/mobility.json');
    const nav = await schema(navigation, '/etc/robot/navigation.json');
    const lidar2 = await schema(lidar, '/etc/blocked/lidar.json');
    ids.v1 = await release('1.0.0', [mob, nav]);
    ids.v2 = await release('2.0.0', [lidar2, nav]);
    ids.Imob1 = await instance(mob, content.mob1);
    ids.Inav1 = await instance(nav, content.nav1);
    ids.Ilidar2 = await instance(lidar2, content.lidar2);
    ids.Inav2 = await instance(nav, content.nav2);
    ids.group = (await server.api('POST', 'groups', { name: `fleet-${tag}` })).id;
    for (let i = 0; i < FLEET; i++)
      devices.push((await server.api('POST', 'devices', { name: `amr-${tag}-${i}` })).id);
    await server.api('POST', `groups/${ids.group}/devices/assign`, { device_ids: devices });
    // Provision in small batches (each is a CLI process).
    for (let i = 0; i < FLEET; i += 5) {
      await Promise.all(
        agents.slice(i, i + 5).map(async (agent, j) => {
          const { token } = await server.api('POST', `devices/${devices[i + j]}/activation_token`, {});
          const r = await runCli(
            ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir],
            {
              BOSUN_ACTIVATION_TOKEN: token,
            },
          );
          expect(r.code, r.stderr).toBe(0);
        }),
      );
    }
    for (const i of BLOCKED) {
      mkdirSync(dirname(agents[i]!.path('/etc/blocked')), { recursive: true });
      writeFileSync(agents[i]!.path('/etc/blocked'), 'not a directory');
    }
    for (const agent of agents) agent.start();
    // Every robot runs v1 first.
    for (const device of devices) {
      await server.api('POST', 'deployments', {
        target_status: 'deployed',
        description: 'v1',
        release_id: ids.v1,
        device_id: device,
        config_instance_ids: [ids.Imob1, ids.Inav1],
      });
    }
    await eventually('v1 deployed everywhere', async () => {
      const list = await server.api(
        'GET',
        `deployments?release_id=${ids.v1}&activity_status=deployed&expand=total_count&limit=1`,
      );
      return list.total_count === FLEET;
    });
  }, 600_000);

  afterAll(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await server?.destroy();
  });

  it('a failing wave pauses the rollout, its robots are rolled back; resume after the fix completes', async () => {
    const rollout = await server.api('POST', 'rollouts', {
      description: 'lidar at 20 Hz',
      release_id: ids.v2,
      plan: { config_instance_ids: [ids.Ilidar2, ids.Inav2] },
      selection: { group_ids: [ids.group] },
      strategy: { waves: [{ devices: 1 }, { devices: 4 }, { percent: 100 }], max_failure_ratio: 0.25 },
    });
    expect(rollout.waves.map((w: any) => w.devices)).toEqual([1, 4, 15]);
    const get = () => server.api('GET', `rollouts/${rollout.id}`);
    const paused = await eventually('paused', async () => {
      const r = await get();
      return r.status === 'paused' && r;
    });
    expect(paused.status_reason).toBe('Wave 2: 2 of 4 devices failed (50%, more than the allowed 25%).');
    expect(paused.waves[1].counts).toMatchObject({ deployed: 2, failed: 2 });
    expect(paused.waves[2].counts).toMatchObject({ pending: 15 });
    // The failed robots are rolled back and end deployed on v1, files intact; the others moved on.
    for (const i of BLOCKED) {
      const current = await eventually(`robot ${i} rolled back`, async () => {
        const [d] = await deploymentsOf(devices[i]!, '&target_status=deployed');
        return d?.status === 'deployed' && d;
      });
      expect(current.release_id).toBe(ids.v1);
      expect(current.description).toMatch(/^Rollback: dpl_/);
      expect(read(i, '/etc/robot/mobility.json')).toBe(content.mob1);
      expect(read(i, '/etc/robot/navigation.json')).toBe(content.nav1);
    }
    for (const i of [0, 1, 4]) expect(read(i, '/etc/blocked/lidar.json')).toBe(content.lidar2);
    // Wave 3 has not started.
    for (const device of devices.slice(5)) expect((await deploymentsOf(device)).length).toBe(1);

    // Fix the robots, then resume.
    for (const i of BLOCKED) rmSync(agents[i]!.path('/etc/blocked'));
    const resumed = await server.api('POST', `rollouts/${rollout.id}/resume`, {});
    expect(resumed.status).toBe('running');
    const done = await eventually('completed', async () => {
      const r = await get();
      return r.status === 'completed' && r;
    });
    expect(done.counts).toMatchObject({ deployed: FLEET, failed: 0, pending: 0, in_progress: 0 });
    for (let i = 0; i < FLEET; i++) {
      expect(read(i, '/etc/blocked/lidar.json')).toBe(content.lidar2);
      expect(read(i, '/etc/robot/navigation.json')).toBe(content.nav2);
      expect(read(i, '/etc/robot/mobility.json')).toBeNull();
    }
    const events = (await server.api('GET', `rollouts/${rollout.id}/events`)).data.map((e: any) => e.type);
    expect(events).toEqual(['created', 'wave_started', 'paused', 'resumed', 'wave_started', 'completed']);
  }, 600_000);

  it('an aborted rollout leaves nothing staged', async () => {
    const rollout = await server.api('POST', 'rollouts', {
      description: 'back to v1',
      release_id: ids.v1,
      plan: { config_instance_ids: [ids.Imob1, ids.Inav1] },
      selection: { group_ids: [ids.group] },
      strategy: { waves: [{ devices: 1 }, { percent: 100 }], soak_seconds: 3600 },
    });
    const aborted = await server.api('POST', `rollouts/${rollout.id}/abort`, {});
    expect(aborted.status).toBe('aborted');
    expect(aborted.counts.skipped + aborted.counts.in_progress + aborted.counts.deployed).toBe(FLEET);
    expect(aborted.counts.skipped).toBeGreaterThanOrEqual(FLEET - 1);
    const staged = await server.api('GET', 'deployments?target_status=staged&expand=total_count&limit=1');
    expect(staged.total_count).toBe(0);
    const after = await server.api('GET', `rollouts/${rollout.id}`);
    expect(after.status).toBe('aborted');
  }, 120_000);
});
