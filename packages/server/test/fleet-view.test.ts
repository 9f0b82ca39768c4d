import { DEVICE_STATUSES, deviceStatus, newId } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeployment, createInstance, createRelease } from '../../../test/support/deployments.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { presenceIs } from '../src/storage/presence.ts';

/** The dashboard's fleet view: presence in SQL agrees with core, filters and paging in the database. */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

describe('presenceIs (SQL) agrees with deviceStatus (core)', () => {
  it('on every combination of stored phase, connection, disconnection and contact times', async () => {
    const now = Date.now();
    const at = (agoMs: number | null) => (agoMs === null ? null : new Date(now - agoMs).toISOString());
    const times = [null, 5_000, 30_000, 120_000];
    const rows = [];
    const tag = `presence-${now}`;
    let i = 0;
    for (const status of DEVICE_STATUSES)
      for (const connected of times)
        for (const disconnected of times)
          for (const seen of times)
            rows.push({
              id: newId('device'),
              name: `${tag}-${i++}`,
              status,
              agent_version: null,
              last_connected_at: at(connected),
              last_disconnected_at: at(disconnected),
              last_seen_at: at(seen),
              created_at: at(0)!,
              updated_at: at(0)!,
            });
    const db = t.server.store.db;
    await db.insertInto('devices').values(rows).execute();
    for (const status of DEVICE_STATUSES) {
      const found = await db
        .selectFrom('devices')
        .select('id')
        .where('name', 'like', `${tag}-%`)
        .where((eb) => presenceIs(eb, status, now))
        .execute();
      const expected = rows.filter((r) => deviceStatus(r, now) === status).map((r) => r.id);
      expect(found.map((r) => r.id).sort(), status).toEqual(expected.sort());
    }
  });
});

describe('GET /beta/fleet', () => {
  it('searches by name part, filters by release and deployment status, pages with a total', async () => {
    const tag = `fleet${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const d = await t.api('POST', 'devices', { body: { name: `${tag}-robot-${i}` } });
      ids.push(d.body.id);
    }
    await t.api('POST', 'devices', { body: { name: `other-${tag.toUpperCase()}_x` } });
    const release = await createRelease(t);
    const instance = await createInstance(t, release);
    await createDeployment(t, { deviceId: ids[0]!, release, instanceId: instance.id });
    await createDeployment(t, { deviceId: ids[1]!, release, instanceId: instance.id, target: 'staged' });

    const all = await t.api('GET', `fleet?q=${tag}&limit=2`);
    expect(all.status, all.text).toBe(200);
    expect(all.body.total_count).toBe(6);
    expect(all.body.data).toHaveLength(2);
    expect(all.body.has_more).toBe(true);
    const page3 = await t.api('GET', `fleet?q=${tag}&limit=2&offset=4`);
    expect(page3.body.has_more).toBe(false);
    expect(page3.body.data.map((d: any) => d.device.name)).toEqual([
      `${tag}-robot-4`,
      `other-${tag.toUpperCase()}_x`,
    ]);

    // Case-insensitive, and the LIKE wildcard `_` is a plain character.
    expect((await t.api('GET', `fleet?q=${tag.toUpperCase()}_X`)).body.total_count).toBe(1);
    expect(
      (await t.api('GET', `fleet?q=robot_`)).body.data.every((d: any) => d.device.name.includes('robot_')),
    ).toBe(true);

    const byRelease = await t.api('GET', `fleet?q=${tag}&release_id=${release.releaseId}`);
    expect(byRelease.body.data).toHaveLength(1);
    expect(byRelease.body.data[0]).toMatchObject({
      device: { id: ids[0] },
      current_deployment: {
        release_id: release.releaseId,
        release_version: release.version,
        status: 'queued',
      },
      staged_deployments: 0,
    });
    const staged = await t.api('GET', `fleet?q=${tag}&staged=true`);
    expect(staged.body.data.map((d: any) => d.device.id)).toEqual([ids[1]]);
    const none = await t.api('GET', `fleet?q=${tag}&deployment_status=none`);
    expect(none.body.total_count).toBe(5);
    const queued = await t.api('GET', `fleet?q=${tag}&deployment_status=queued`);
    expect(queued.body.data.map((d: any) => d.device.id)).toEqual([ids[0]]);
    const inactive = await t.api('GET', `fleet?q=${tag}&status=inactive`);
    expect(inactive.body.total_count).toBe(6);
    expect((await t.api('GET', `fleet?q=${tag}&status=online`)).body.total_count).toBe(0);
  });

  it('filters by group (with subgroups when asked) and tag selector, and shows group and tags', async () => {
    const tag = `grp${Date.now()}`;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++)
      ids.push((await t.api('POST', 'devices', { body: { name: `${tag}-${i}` } })).body.id);
    const parent = (await t.api('POST', 'groups', { body: { name: `${tag}-site` } })).body;
    const child = (await t.api('POST', 'groups', { body: { name: `${tag}-line`, parent_id: parent.id } }))
      .body;
    const assign = (g: string, d: string[]) =>
      t.api('POST', `groups/${g}/devices/assign`, { body: { device_ids: d } });
    expect((await assign(parent.id, [ids[0]!])).status).toBe(200);
    expect((await assign(child.id, [ids[1]!, ids[2]!])).status).toBe(200);
    await t.api('PUT', `devices/${ids[1]}/tags`, { body: { tags: { env: 'prod', site: 'berlin' } } });
    await t.api('PUT', `devices/${ids[3]}/tags`, { body: { tags: { env: 'dev' } } });
    const names = async (query: string) => {
      const res = await t.api('GET', `fleet?q=${tag}&${query}`);
      expect(res.status, res.text).toBe(200);
      return res.body.data.map((d: any) => d.device.name);
    };

    expect(await names(`group_id=${parent.id}`)).toEqual([`${tag}-0`]);
    expect(await names(`group_id=${parent.id}&include_subgroups=true`)).toEqual([
      `${tag}-0`,
      `${tag}-1`,
      `${tag}-2`,
    ]);
    expect(await names(`group_id=${child.id}&tag_selector=env%3Dprod`)).toEqual([`${tag}-1`]);
    expect(await names('tag_selector=env')).toEqual([`${tag}-1`, `${tag}-3`]);
    expect(await names('tag_selector=!env')).toEqual([`${tag}-0`, `${tag}-2`]);
    // The same selection as the device list answers.
    const list = await t.api('GET', `devices?group_id=${parent.id}&include_subgroups=true&limit=100`);
    expect(list.body.data.map((d: any) => d.name).sort()).toEqual([`${tag}-0`, `${tag}-1`, `${tag}-2`]);

    const row = (await t.api('GET', `fleet?q=${tag}-1`)).body.data[0];
    expect(row).toMatchObject({ group_id: child.id, tags: { env: 'prod', site: 'berlin' } });
    const loose = (await t.api('GET', `fleet?q=${tag}-3`)).body.data[0];
    expect(loose).toMatchObject({ group_id: null, tags: { env: 'dev' } });

    const bad = await t.api('GET', 'fleet?tag_selector=env%20in%20(a');
    expect(bad.status, bad.text).toBe(400);
    expect(bad.body.error.code).toBeTypeOf('string');
  });

  it('refuses bad filters (400) and needs deployments:read besides devices:read (403)', async () => {
    expect((await t.api('GET', 'fleet?status=sleeping')).status).toBe(400);
    expect((await t.api('GET', 'fleet?limit=abc')).status).toBe(400);
    const devicesOnly = await t.keyWith('devices:read');
    const res = await t.api('GET', 'fleet', { key: devicesOnly });
    expect(res.status).toBe(403);
    expect(res.body.error.code).toBe('missing_scope');
    expect((await t.api('GET', 'fleet/summary', { key: devicesOnly })).status).toBe(403);
  });

  it('hides release versions from a key without releases:read', async () => {
    const key = await t.keyWith('devices:read', 'deployments:read');
    const res = await t.api('GET', 'fleet?deployment_status=queued&limit=100', { key });
    expect(res.status).toBe(200);
    for (const d of res.body.data) expect(d.current_deployment.release_version).toBeNull();
  });
});

describe('GET /beta/fleet/summary', () => {
  it('counts devices per presence and release, staged and failed', async () => {
    const res = await t.api('GET', 'fleet/summary');
    expect(res.status, res.text).toBe(200);
    const total = (await t.api('GET', 'fleet?limit=1')).body.total_count;
    expect(res.body.devices).toBe(total);
    expect(res.body.releases.reduce((a: number, r: any) => a + r.devices, 0)).toBe(total);
    expect(res.body.staged).toBeGreaterThanOrEqual(1);
    expect(res.body.releases.find((r: any) => r.release_id === null).devices).toBeGreaterThan(0);
  });
});
