import { isForward } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { lifecycleViolations, seedDeploymentWorld } from './support-deployments.ts';

/**
 * Rollouts over real HTTP and the real driver, with the agent's reports made through the same
 * storage call the agent API uses (the end-to-end suite does it with real agent processes).
 */

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const ok = async (method: string, path: string, body?: unknown) => {
  const res = await t.api(method, path, body === undefined ? {} : { body });
  expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
  return res.body;
};
const report = (id: string, r: object) =>
  t.server.app.repos.deployments.report(id, r, { type: 'agent', id: 'agent' });
async function until<T>(what: string, fn: () => Promise<T | undefined | false | null>): Promise<T> {
  for (let i = 0; i < 300; i++) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}
const deploymentOf = async (rolloutId: string, deviceId: string) => {
  const r = await ok('GET', `rollouts/${rolloutId}?expand=deployments`);
  return (r.deployments as any[]).find((d) => d.device_id === deviceId && d.status !== 'failed');
};

describe('rollouts', () => {
  let w: Awaited<ReturnType<typeof seedDeploymentWorld>>;
  let group: any;

  beforeAll(async () => {
    w = await seedDeploymentWorld(t.server.app.store.db, { devices: 6 });
    group = await ok('POST', 'groups', { name: 'rollout-fleet' });
    await ok('POST', `groups/${group.id}/devices/assign`, { device_ids: w.devices });
    // Every device runs v1 first, so a failed upgrade has something to roll back to.
    for (const device of w.devices) {
      const d = await ok('POST', 'deployments', {
        target_status: 'deployed',
        description: 'v1',
        release_id: w.v1,
        device_id: device,
        config_instance_ids: [w.I1, w.I2],
      });
      await report(d.id, { activity_status: 'deployed' });
    }
  });

  it('refuses bad input with the envelope, creating nothing', async () => {
    const base = {
      description: 'v2',
      release_id: w.v2,
      plan: { config_instance_ids: [w.I3, w.I2] },
      selection: { group_ids: [group.id] },
    };
    const cases: [object, number, string][] = [
      [{ ...base, selection: {} }, 400, 'empty_selection'],
      [{ ...base, selection: { group_ids: ['grp_missing'] } }, 404, 'resource_not_found'],
      [{ ...base, selection: { tag_selector: 'env in (' } }, 400, 'invalid_selector'],
      [{ ...base, release_id: 'rls_missing' }, 404, 'resource_not_found'],
      [{ ...base, plan: { config_instance_ids: [w.I3] } }, 422, 'invalid_config_instances'],
      [{ ...base, strategy: { waves: [] } }, 400, 'invalid_strategy'],
      [{ ...base, strategy: { max_failure_ratio: 2 } }, 400, 'invalid_strategy'],
      [{ ...base, description: '   ' }, 400, 'invalid_request'],
    ];
    for (const [body, status, code] of cases) {
      const res = await t.api('POST', 'rollouts', { body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.body.error.code).toBe(code);
    }
    expect((await ok('GET', 'rollouts?expand=total_count')).total_count).toBe(0);
    const reader = await t.keyWith('rollouts:read');
    expect((await t.api('POST', 'rollouts', { key: reader, body: base })).status).toBe(403);
    expect((await t.api('GET', 'rollouts/rlt_missing')).status).toBe(404);
  });

  it('waves, a failing wave pauses with the reason and is rolled back, resume completes', async () => {
    const created = await ok('POST', 'rollouts', {
      description: 'v2 to the fleet',
      release_id: w.v2,
      plan: { config_instance_ids: [w.I3, w.I2] },
      selection: { group_ids: [group.id] },
      strategy: { waves: [{ devices: 1 }, { percent: 50 }, { percent: 100 }], max_failure_ratio: 0.2 },
    });
    expect(created).toMatchObject({ object: 'rollout', status: 'running', current_wave: 1 });
    expect(created.waves.map((x: any) => x.devices)).toEqual([1, 3, 2]);
    const id = created.id;
    const [canary, ...rest] = w.devices;
    const d0 = await until('canary deployment', () => deploymentOf(id, canary!));
    expect(d0).toMatchObject({ release_id: w.v2, target_status: 'deployed' });
    await report(d0.id, { activity_status: 'deployed' });
    const wave2 = await until('wave 2', async () => {
      const r = await ok('GET', `rollouts/${id}?expand=deployments`);
      return r.deployments.length === 4 && r;
    });
    expect(wave2.current_wave).toBe(2);
    const inWave2 = wave2.deployments.filter((d: any) => d.id !== d0.id);
    // One of three fails (33% > 20%): the rollout pauses and says why; the failed robot is rolled back.
    await report(inWave2[0].id, { error_status: 'failed', message: 'unwritable', attempts: 3 });
    await report(inWave2[1].id, { activity_status: 'deployed' });
    await report(inWave2[2].id, { activity_status: 'deployed' });
    const paused = await until('paused', async () => {
      const r = await ok('GET', `rollouts/${id}`);
      return r.status === 'paused' && r;
    });
    expect(paused.status_reason).toBe('Wave 2: 1 of 3 devices failed (33.3%, more than the allowed 20%).');
    expect(paused.counts).toMatchObject({ deployed: 3, failed: 1, pending: 2 });
    expect(paused.waves[1].counts).toMatchObject({ deployed: 2, failed: 1 });
    const failedDevice = inWave2[0].device_id;
    const rollback = (
      await ok('GET', `deployments?device_id=${failedDevice}&target_status=deployed&expand=config_instances`)
    ).data[0];
    expect(rollback.release_id).toBe(w.v1);
    expect(rollback.description).toContain(inWave2[0].id);
    await report(rollback.id, { activity_status: 'deployed' });
    // Nothing moves while paused.
    expect((await ok('GET', `rollouts/${id}?expand=deployments`)).deployments).toHaveLength(4);

    const resumed = await ok('POST', `rollouts/${id}/resume`, {});
    expect(resumed).toMatchObject({ status: 'running', status_reason: null });
    const retry = await until('retry of the failed device', () => deploymentOf(id, failedDevice));
    expect(retry.id).not.toBe(inWave2[0].id);
    await report(retry.id, { activity_status: 'deployed' });
    const wave3 = await until('wave 3', async () => {
      const r = await ok('GET', `rollouts/${id}?expand=deployments`);
      return (
        r.current_wave === 3 &&
        r.deployments.filter((d: any) => rest.slice(3).includes(d.device_id)).length === 2 &&
        r
      );
    });
    for (const d of wave3.deployments.filter((d: any) => rest.slice(3).includes(d.device_id)))
      await report(d.id, { activity_status: 'deployed' });
    const done = await until('completed', async () => {
      const r = await ok('GET', `rollouts/${id}`);
      return r.status === 'completed' && r;
    });
    expect(done.counts).toMatchObject({ deployed: 6, failed: 0, pending: 0, in_progress: 0 });
    const events = (await ok('GET', `rollouts/${id}/events`)).data.map((e: any) => e.type);
    expect(events).toEqual(['created', 'wave_started', 'paused', 'resumed', 'wave_started', 'completed']);
    // The rollout's deployments are ordinary ones.
    expect((await ok('GET', `deployments/${retry.id}`)).status).toBe('deployed');
    const pause = await t.api('POST', `rollouts/${id}/pause`, { body: {} });
    expect(pause.status).toBe(409);
    expect(pause.body.error.code).toBe('rollout_not_active');
    expect(await lifecycleViolations(t.server.app.store.db, isForward)).toEqual([]);
  });

  it('include_new_devices: a device that joins the selected group or tags while the rollout runs is picked up; without it, not', async () => {
    const x = await seedDeploymentWorld(t.server.app.store.db, { devices: 6 });
    const tag = `join${Date.now()}`;
    const groupIn = await ok('POST', 'groups', { name: `${tag}-in` });
    const groupOut = await ok('POST', 'groups', { name: `${tag}-out` });
    await ok('POST', `groups/${groupIn.id}/devices/assign`, { device_ids: x.devices.slice(0, 2) });
    await ok('POST', `groups/${groupOut.id}/devices/assign`, { device_ids: x.devices.slice(2, 4) });
    for (const device of x.devices.slice(4))
      await ok('PUT', `devices/${device}/tags`, { tags: { ring: tag } });
    const rollout = (selection: object, include_new_devices: boolean) =>
      ok('POST', 'rollouts', {
        description: `join ${JSON.stringify(selection)} ${include_new_devices}`,
        release_id: x.v2,
        plan: { config_instance_ids: [x.I3, x.I2] },
        selection,
        strategy: { waves: [{ devices: 1 }, { percent: 100 }], include_new_devices },
      });
    const byGroup = await rollout({ group_ids: [groupIn.id] }, true);
    const byTag = await rollout({ tag_selector: `ring=${tag}` }, true);
    const without = await rollout({ group_ids: [groupOut.id] }, false);
    expect(byGroup.strategy.include_new_devices).toBe(true);
    expect(without.strategy.include_new_devices).toBe(false);
    // Each canary is in progress: the rollouts run while devices join.
    for (const r of [byGroup, byTag, without])
      await until('canary', async () => (await ok('GET', `rollouts/${r.id}`)).counts.in_progress === 1);
    const created = async (name: string) =>
      (await ok('POST', 'devices', { name: `${tag}-${name}` })).id as string;
    const joinsGroup = await created('joins-group');
    await ok('POST', `groups/${groupIn.id}/devices/assign`, { device_ids: [joinsGroup] });
    const joinsTag = await created('joins-tag');
    await ok('PUT', `devices/${joinsTag}/tags`, { tags: { ring: tag, site: 'berlin' } });
    const joinsOut = await created('joins-out');
    await ok('POST', `groups/${groupOut.id}/devices/assign`, { device_ids: [joinsOut] });

    // Every deployment of the three rollouts reports deployed until all three complete.
    const finished = new Map<string, any>();
    await until('all three completed', async () => {
      for (const r of [byGroup, byTag, without]) {
        const now = await ok('GET', `rollouts/${r.id}?expand=deployments`);
        for (const d of now.deployments as any[])
          if (d.status !== 'deployed') await report(d.id, { activity_status: 'deployed' });
        if (now.status === 'completed') finished.set(r.id, now);
      }
      return finished.size === 3;
    });
    const devicesOf = (id: string) => (finished.get(id).deployments as any[]).map((d) => d.device_id).sort();
    expect(devicesOf(byGroup.id)).toEqual([...x.devices.slice(0, 2), joinsGroup].sort());
    expect(devicesOf(byTag.id)).toEqual([...x.devices.slice(4), joinsTag].sort());
    expect(devicesOf(without.id)).toEqual(x.devices.slice(2, 4).sort());
    expect(finished.get(byGroup.id).counts).toMatchObject({ deployed: 3, pending: 0 });
    expect(finished.get(without.id).counts).toMatchObject({ deployed: 2, pending: 0 });
    // The device that joined the rollout without the flag got nothing; the history says who joined.
    expect((await ok('GET', `deployments?device_id=${joinsOut}`)).data).toEqual([]);
    const history = (await ok('GET', `rollouts/${byGroup.id}/events`)).data as any[];
    expect(history.find((e) => e.type === 'devices_added')?.message).toContain('1 devices joined');
    expect(
      ((await ok('GET', `rollouts/${without.id}/events`)).data as any[]).map((e) => e.type),
    ).not.toContain('devices_added');
  });

  it('abort skips the devices not started and leaves nothing staged', async () => {
    const created = await ok('POST', 'rollouts', {
      description: 'back to v1, keeping current instances',
      release_id: w.v1,
      plan: { config_instance_ids: [w.I4], keep_current: true },
      selection: { device_ids: w.devices.slice(0, 3) },
      strategy: { waves: [{ devices: 1 }, { percent: 100 }] },
    });
    const id = created.id;
    const first = await until('first deployment', () => deploymentOf(id, w.devices[0]!));
    const aborted = await ok('POST', `rollouts/${id}/abort`, { reason: 'wrong release' });
    expect(aborted).toMatchObject({ status: 'aborted', status_reason: 'wrong release' });
    expect(aborted.counts).toMatchObject({ in_progress: 1, skipped: 2, pending: 0 });
    for (const device of w.devices) {
      const staged = await ok('GET', `deployments?device_id=${device}&target_status=staged`);
      expect(staged.data).toEqual([]);
    }
    // The deployment already sent stays; keep_current kept the navigation instance of the device.
    const sent = await ok('GET', `deployments/${first.id}?expand=config_instances`);
    expect(sent.config_instances.map((i: any) => i.id).sort()).toEqual([w.I4, w.I2].sort());
    expect((await t.api('POST', `rollouts/${id}/resume`, { body: {} })).status).toBe(409);
  });
});
