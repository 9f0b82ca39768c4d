import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/** Groups (Miru `2026-08-17` shape), membership and tags (extensions), and the device list filters. */

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
const names = (list: any) => list.data.map((d: any) => d.name).sort();

describe('groups', () => {
  let fleet: any;
  let eu: any;
  let berlin: any;
  let us: any;
  const robots: any[] = [];

  beforeAll(async () => {
    fleet = await ok('POST', 'groups', { name: 'fleet' });
    eu = await ok('POST', 'groups', { name: 'eu', parent_id: fleet.id });
    berlin = await ok('POST', 'groups', { name: 'berlin', parent_id: eu.id });
    us = await ok('POST', 'groups', { name: 'us', parent_id: fleet.id });
    for (const name of ['amr-1', 'amr-2', 'amr-3', 'amr-4'])
      robots.push(await ok('POST', 'devices', { name }));
  });

  it('creates, gets, lists and expands groups in the Miru shape', async () => {
    expect(berlin).toEqual({
      object: 'group',
      id: expect.stringMatching(/^grp_/),
      name: 'berlin',
      parent_id: eu.id,
      created_at: expect.any(String),
      updated_at: expect.any(String),
    });
    const got = await ok('GET', `groups/${berlin.id}?expand=parent.parent`);
    expect(got.parent).toMatchObject({ id: eu.id, parent: { id: fleet.id, parent_id: null } });
    const children = await ok('GET', `groups?parent_id=${fleet.id}&expand=total_count`);
    expect(children.total_count).toBe(2);
    expect(names(children)).toEqual(['eu', 'us']);
    expect((await ok('PATCH', `groups/${us.id}`, { name: 'americas' })).name).toBe('americas');
  });

  it('refuses bad input with the envelope and changes nothing', async () => {
    const dup = await t.api('POST', 'groups', { body: { name: 'eu' } });
    expect(dup.status).toBe(409);
    expect(dup.body.error).toMatchObject({ code: 'already_exists', params: { existing_id: eu.id } });
    const orphan = await t.api('POST', 'groups', { body: { name: 'orphan', parent_id: 'grp_missing' } });
    expect(orphan.status).toBe(404);
    const blank = await t.api('POST', 'groups', { body: { name: '  ' } });
    expect(blank.status).toBe(400);
    const cycle = await t.api('POST', `groups/${fleet.id}/move`, { body: { parent_id: berlin.id } });
    expect(cycle.status).toBe(409);
    expect(cycle.body.error.code).toBe('group_cycle');
    const self = await t.api('POST', `groups/${eu.id}/move`, { body: { parent_id: eu.id } });
    expect(self.status).toBe(409);
    expect((await ok('GET', `groups/${fleet.id}`)).parent_id).toBeNull();
    expect((await t.api('GET', 'groups/grp_missing')).status).toBe(404);
    expect((await t.api('GET', 'groups?expand=nope')).status).toBe(400);
    const list = await ok('GET', 'groups?expand=total_count');
    expect(list.total_count).toBe(4);
  });

  it('assigns devices (one group each), filters the device list by group with subgroups, unassigns', async () => {
    await ok('POST', `groups/${berlin.id}/devices/assign`, { device_ids: [robots[0].id, robots[1].id] });
    await ok('POST', `groups/${eu.id}/devices/assign`, { device_ids: [robots[2].id] });
    await ok('POST', `groups/${us.id}/devices/assign`, { device_ids: [robots[1].id] });
    expect((await ok('GET', `devices/${robots[1].id}/membership`)).group_id).toBe(us.id);
    expect(names(await ok('GET', `devices?group_id=${eu.id}`))).toEqual(['amr-3']);
    // An empty group_id is no group filter (found by the fuzzer: `in ()` was a 500 on PostgreSQL).
    expect(names(await ok('GET', `devices?group_id=&id=${robots[2].id}`))).toEqual(['amr-3']);
    expect(names(await ok('GET', `devices?group_id=${eu.id}&include_subgroups=true`))).toEqual([
      'amr-1',
      'amr-3',
    ]);
    expect(names(await ok('GET', `devices?group_id=${fleet.id}&include_subgroups=true`))).toEqual([
      'amr-1',
      'amr-2',
      'amr-3',
    ]);
    const unknown = await t.api('POST', `groups/${eu.id}/devices/assign`, {
      body: { device_ids: [robots[3].id, 'dvc_missing'] },
    });
    expect(unknown.status).toBe(404);
    expect((await ok('GET', `devices/${robots[3].id}/membership`)).group_id).toBeNull();
    await ok('POST', `groups/${eu.id}/devices/unassign`, { device_ids: [robots[2].id, robots[0].id] });
    expect((await ok('GET', `devices/${robots[2].id}/membership`)).group_id).toBeNull();
    // robots[0] is in berlin, not eu: left alone.
    expect((await ok('GET', `devices/${robots[0].id}/membership`)).group_id).toBe(berlin.id);
    // Moving a subtree moves its members' selection with it.
    await ok('POST', `groups/${berlin.id}/move`, { parent_id: us.id });
    expect(names(await ok('GET', `devices?group_id=${us.id}&include_subgroups=true`))).toEqual([
      'amr-1',
      'amr-2',
    ]);
  });

  it('tags devices and selects them by tag expression', async () => {
    await ok('PUT', `devices/${robots[0].id}/tags`, { tags: { env: 'prod', site: 'berlin' } });
    await ok('PUT', `devices/${robots[1].id}/tags`, { tags: { env: 'prod', site: 'austin' } });
    const m = await ok('PUT', `devices/${robots[2].id}/tags`, { tags: { env: 'dev', site: 'berlin' } });
    expect(m).toEqual({
      object: 'device_membership',
      device_id: robots[2].id,
      group_id: null,
      tags: { env: 'dev', site: 'berlin' },
    });
    const select = async (s: string) =>
      names(await ok('GET', `devices?tag_selector=${encodeURIComponent(s)}`));
    expect(await select('env=prod')).toEqual(['amr-1', 'amr-2']);
    expect(await select('env=prod,site=berlin')).toEqual(['amr-1']);
    expect(await select('site in (berlin|austin),env!=prod')).toEqual(['amr-3']);
    expect(await select('!env')).toEqual(['amr-4']);
    expect(
      names(await ok('GET', `devices?tag_selector=env%3Dprod&group_id=${us.id}&include_subgroups=true`)),
    ).toEqual(['amr-1', 'amr-2']);
    const bad = await t.api('GET', `devices?tag_selector=${encodeURIComponent('env in (prod')}`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_selector');
    const badTag = await t.api('PUT', `devices/${robots[0].id}/tags`, { body: { tags: { 'Bad Key': 'x' } } });
    expect(badTag.status).toBe(400);
    expect((await ok('GET', `devices/${robots[0].id}/membership`)).tags).toEqual({
      env: 'prod',
      site: 'berlin',
    });
    expect((await t.api('PUT', 'devices/dvc_missing/tags', { body: { tags: {} } })).status).toBe(404);
  });

  it('needs the groups scopes', async () => {
    const reader = await t.keyWith('groups:read');
    expect((await t.api('GET', 'groups', { key: reader })).status).toBe(200);
    const denied = await t.api('POST', 'groups', { key: reader, body: { name: 'nope' } });
    expect(denied.status).toBe(403);
    expect(denied.body.error.code).toBe('missing_scope');
  });
});
