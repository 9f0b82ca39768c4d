import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { dirname } from 'node:path';
import { type ConfigChange, onConfigChange } from '@bosun/agent/local-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_VERSION } from '../support/server.ts';
import { catalog } from './support/catalog.ts';
import { AgentProcess, freePort, RestartableServer, runCli, waitFor } from './support/fleet.ts';

/**
 * Rollback when an upgrade fails (docs/decisions.md #21), with a real server and a real
 * `bosun agent run` process: the upgrade cannot be written, ends failed, the server creates a
 * rollback deployment of the previous set, the agent takes the files that are already in place over
 * without rewriting them, and the robot's Device API shows a current deployment throughout and never
 * announces the previous one removed. Then redeploy (extension) over HTTP.
 */
const tag = Math.random().toString(36).slice(2, 8);
const content = { mob1: '{"max_speed": 1.0}\n', nav1: '{"planner": "teb"}\n', nav2: '{"planner": "dwb"}\n' };

function call(socketPath: string, path: string) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      let text = '';
      res.on('data', (c) => {
        text += c;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('rollback of a failed upgrade', () => {
  let server: RestartableServer;
  const agent = new AgentProcess(['--retry-base', '100', '--retry-cap', '400', '--max-attempts', '3']);
  let device: { id: string };
  const ids = {} as Record<'v1' | 'v2' | 'Imob1' | 'Inav1' | 'Iblocked' | 'Inav2', string>;
  let A: string;
  let B: string;
  let C: string;
  const changes: ConfigChange[] = [];
  let watch: ReturnType<typeof onConfigChange> | undefined;
  const deployment = (id: string) => server.api('GET', `deployments/${id}`);
  const statusIs = (id: string, status: string) => async () => (await deployment(id)).status === status;
  const read = (path: string) => readFileSync(agent.path(path), 'utf8');
  const inode = (path: string) => statSync(agent.path(path)).ino;

  beforeAll(async () => {
    server = new RestartableServer(await freePort(), undefined);
    await server.start();
    const { type, schema, instance, release } = catalog(server, tag);
    const mobility = await type('Mobility');
    const navigation = await type('Navigation');
    const mob = await schema(mobility, '/etc/robot/mobility.json');
    const nav = await schema(navigation, '/etc/robot/navigation.json');
    // On the robot /etc/blocked is a regular file: nothing can be created below it.
    const blocked = await schema(mobility, '/etc/blocked/mobility.json');
    ids.v1 = await release('1.0.0', [mob, nav]);
    ids.v2 = await release('2.0.0', [blocked, nav]);
    ids.Imob1 = await instance(mob, content.mob1);
    ids.Inav1 = await instance(nav, content.nav1);
    ids.Iblocked = await instance(blocked, '{"max_speed": 2.0}');
    ids.Inav2 = await instance(nav, content.nav2);
    device = await server.api('POST', 'devices', { name: `amr-${tag}` });
    const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
    const provisioned = await runCli(
      ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir],
      {
        BOSUN_ACTIVATION_TOKEN: token,
      },
    );
    expect(provisioned.code, provisioned.stderr).toBe(0);
    mkdirSync(dirname(agent.path('/etc/blocked')), { recursive: true });
    writeFileSync(agent.path('/etc/blocked'), 'not a directory');
    agent.start();
    await waitFor(
      'device API up',
      async () => (await call(agent.socketPath, '/v0.2/health').catch(() => ({ status: 0 }))).status === 200,
    );
    watch = onConfigChange((c) => changes.push(c), { socketPath: agent.socketPath, retryMs: 50 });
  });

  afterAll(async () => {
    watch?.close();
    await agent.stop();
    await server?.destroy();
  });

  it('the robot ends deployed on the previous set, files untouched, and is never without a current deployment', async () => {
    A = (
      await server.api('POST', 'deployments', {
        target_status: 'deployed',
        description: 'good',
        release_id: ids.v1,
        device_id: device.id,
        config_instance_ids: [ids.Imob1, ids.Inav1],
      })
    ).id;
    await waitFor('A deployed', statusIs(A, 'deployed'));
    await waitFor(
      'A current on the robot',
      async () => (await call(agent.socketPath, '/v0.2/deployments/current')).body?.id === A,
    );

    // Sample the robot's current deployment all along the failed upgrade.
    const seen: { status: number; id?: string }[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const r = await call(agent.socketPath, '/v0.2/deployments/current');
        seen.push({ status: r.status, id: r.body?.id });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();

    B = (
      await server.api('POST', 'deployments', {
        target_status: 'staged',
        description: 'upgrade that cannot be written',
        release_id: ids.v2,
        device_id: device.id,
        config_instance_ids: [ids.Iblocked, ids.Inav2],
      })
    ).id;
    await server.api('POST', `deployments/${B}/deploy`);
    await waitFor('B failed', statusIs(B, 'failed'));
    C = await waitFor('a rollback deployment', async () => {
      const list = await server.api('GET', `deployments?device_id=${device.id}&target_status=deployed`);
      return list.data[0]?.id as string | undefined;
    });
    await waitFor('rollback deployed', statusIs(C, 'deployed'));
    await waitFor('A archived', statusIs(A, 'archived'));
    await waitFor(
      'rollback current on the robot',
      async () => (await call(agent.socketPath, '/v0.2/deployments/current')).body?.id === C,
    );
    sampling = false;
    await sampler;

    const rollback = await server.api('GET', `deployments/${C}?expand=config_instances`);
    expect(rollback).toMatchObject({ release_id: ids.v1, target_status: 'deployed', status: 'deployed' });
    expect(rollback.description).toContain(B);
    expect(rollback.description).toContain(A);
    expect(rollback.config_instances.map((i: any) => i.id)).toEqual([ids.Imob1, ids.Inav1]);
    // Both histories name the other deployment.
    const cEvents = (await server.api('GET', `deployments/${C}/events`)).data;
    expect(cEvents[0]).toMatchObject({ from: null, actor: { type: 'system', id: null } });
    expect(cEvents[0].message).toContain(B);
    const bEvents = (await server.api('GET', `deployments/${B}/events`)).data;
    expect(bEvents.some((e: any) => e.message?.includes(C))).toBe(true);

    // The files are the previous set's, and the rollback wrote nothing: it took them over.
    expect(read('/etc/robot/mobility.json')).toBe(content.mob1);
    expect(read('/etc/robot/navigation.json')).toBe(content.nav1);
    expect(agent.log).toMatch(new RegExp(`"deployment_id":"${C}"[^\\n]*"written":0`));

    // The robot always had a current deployment: A, then the rollback; never a 404.
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.filter((s) => s.status !== 200)).toEqual([]);
    expect([...new Set(seen.map((s) => s.id))].every((id) => id === A || id === C)).toBe(true);
    // Apps were told the rollback is deployed, and never that A's files (still in place) were removed.
    await waitFor('deployed event of the rollback', async () =>
      changes.some(
        (c) =>
          c.kind === 'event' && c.event.type === 'deployment.deployed' && c.event.data.deployment_id === C,
      ),
    );
    const removed = changes.filter((c) => c.kind === 'event' && c.event.type === 'deployment.removed');
    expect(removed).toEqual([]);
  });

  it('redeploy deploys an old deployment set again; bad ids and bodies are refused', async () => {
    const before = { mob: inode('/etc/robot/mobility.json'), nav: inode('/etc/robot/navigation.json') };
    const res = await fetch(`${server.url}/beta/deployments/${A}/redeploy`, {
      method: 'POST',
      headers: {
        'miru-version': API_VERSION,
        'x-api-key': server.adminKey,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ description: 'same set again' }),
    });
    expect(res.status).toBe(200);
    const again = await res.json();
    expect(again).toMatchObject({
      description: 'same set again',
      release_id: ids.v1,
      target_status: 'deployed',
    });
    await waitFor('redeploy deployed', statusIs(again.id, 'deployed'));
    expect(read('/etc/robot/mobility.json')).toBe(content.mob1);
    await waitFor(
      'redeploy current on the robot',
      async () => (await call(agent.socketPath, '/v0.2/deployments/current')).body?.id === again.id,
    );
    // Same set as what is on disk: taken over in place (an atomic rewrite would give new inodes).
    expect({ mob: inode('/etc/robot/mobility.json'), nav: inode('/etc/robot/navigation.json') }).toEqual(
      before,
    );

    const post = (path: string, body: unknown) =>
      fetch(`${server.url}/beta/${path}`, {
        method: 'POST',
        headers: {
          'miru-version': API_VERSION,
          'x-api-key': server.adminKey,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      });
    const missing = await post('deployments/dpl_doesnotexist/redeploy', {});
    expect(missing.status).toBe(404);
    expect((await missing.json()).error.code).toBe('resource_not_found');
    const bad = await post(`deployments/${A}/redeploy`, { description: '' });
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toHaveProperty('code');
    const list = await server.api('GET', `deployments?device_id=${device.id}&limit=100`);
    expect(list.data).toHaveLength(4);
  });
});
