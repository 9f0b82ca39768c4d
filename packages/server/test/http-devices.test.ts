import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function createDevice(name: string) {
  const res = await t.api('POST', 'devices', { body: { name } });
  expect(res.status, res.text).toBe(200);
  return res.body;
}

describe('POST /devices (createDevice)', () => {
  it('creates an inactive device in the reference shape', async () => {
    const res = await t.api('POST', 'devices', { body: { name: 'robot-1' } });
    expect(res.status).toBe(200);
    expectReferenceResponse('createDevice', res.body);
    expect(res.body).toMatchObject({
      object: 'device',
      name: 'robot-1',
      status: 'inactive',
      agent_version: null,
      last_connected_at: null,
      last_disconnected_at: null,
    });
    expect(res.body.id).toMatch(/^dvc_[A-Za-z0-9]{8,}$/);
    expect(res.body.updated_at).toBe(res.body.created_at);
  });
  it('a taken name → 409 naming the name; nothing created', async () => {
    const first = await createDevice('dup-robot');
    const res = await t.api('POST', 'devices', { body: { name: 'dup-robot' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'already_exists',
      params: { field: 'name', existing_id: first.id },
    });
    const list = await t.api('GET', 'devices?name=dup-robot&expand=total_count');
    expect(list.body.total_count).toBe(1);
  });
  it('concurrent creates of one name: exactly one wins, the rest are 409 (never a 500)', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => t.api('POST', 'devices', { body: { name: 'racing-robot' } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 409, 409, 409, 409, 409, 409, 409]);
    for (const r of results.filter((x) => x.status === 409)) expect(r.body.error.code).toBe('already_exists');
    const list = await t.api('GET', 'devices?name=racing-robot&expand=total_count');
    expect(list.body.total_count).toBe(1);
  });
  it('names are trimmed and limited to 48 characters', async () => {
    expect((await createDevice('  spaced-robot  ')).name).toBe('spaced-robot');
    expect((await createDevice('n'.repeat(48))).name).toHaveLength(48);
    const long = await t.api('POST', 'devices', { body: { name: 'n'.repeat(49) } });
    expect(long.status).toBe(400);
    expect(long.body.error.params.field).toBe('name');
  });
});

describe('GET /devices/{id} (getDevice)', () => {
  it('returns the device in the reference shape', async () => {
    const created = await createDevice('fetch-me');
    const res = await t.api('GET', `devices/${created.id}`);
    expect(res.status).toBe(200);
    expectReferenceResponse('getDevice', res.body);
    expect(res.body).toEqual(created);
  });
  it('an unknown id → 404', async () => {
    const res = await t.api('GET', 'devices/dvc_nope');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'resource_not_found', params: { id: 'dvc_nope' } });
  });
});

describe('GET /devices (listDevices)', () => {
  it('lists in the reference shape and filters by id, name and agent_version', async () => {
    const a = await createDevice('list-dev-a');
    const b = await createDevice('list-dev-b');
    await t.server.store.db
      .updateTable('devices')
      .set({ agent_version: 'v1.2.0' })
      .where('id', '=', a.id)
      .execute();
    const all = await t.api('GET', 'devices?name=list-dev-a|list-dev-b');
    expect(all.status).toBe(200);
    expectReferenceResponse('listDevices', all.body);
    expect(all.body.data.map((d: any) => d.id)).toEqual([b.id, a.id]);
    const byVersion = await t.api('GET', 'devices?agent_version=v1.2.0');
    expectReferenceResponse('listDevices', byVersion.body);
    expect(byVersion.body.data.map((d: any) => [d.id, d.agent_version])).toEqual([[a.id, 'v1.2.0']]);
    const byId = await t.api('GET', `devices?id=${b.id}`);
    expect(byId.body.data.map((d: any) => d.id)).toEqual([b.id]);
    const none = await t.api('GET', 'devices?agent_version=v9.9.9');
    expectReferenceResponse('listDevices', none.body);
    expect(none.body).toMatchObject({ data: [], has_more: false });
  });
});

describe('PATCH /devices/{id} (updateDevice)', () => {
  it('renames; updated_at moves', async () => {
    const created = await createDevice('old-name');
    const res = await t.api('PATCH', `devices/${created.id}`, { body: { name: 'new-name' } });
    expect(res.status).toBe(200);
    expectReferenceResponse('updateDevice', res.body);
    expect(res.body).toMatchObject({ id: created.id, name: 'new-name', created_at: created.created_at });
    expect(res.body.updated_at > created.updated_at).toBe(true);
    expect((await t.api('GET', `devices/${created.id}`)).body).toEqual(res.body);
  });
  it('an empty patch or the same name changes nothing', async () => {
    const created = await createDevice('steady');
    const empty = await t.api('PATCH', `devices/${created.id}`, { body: {} });
    expect(empty.status).toBe(200);
    expectReferenceResponse('updateDevice', empty.body);
    expect(empty.body).toEqual(created);
    const same = await t.api('PATCH', `devices/${created.id}`, { body: { name: 'steady' } });
    expect(same.body).toEqual(created);
  });
  it("another device's name → 409; unchanged", async () => {
    const a = await createDevice('patch-dev-a');
    const b = await createDevice('patch-dev-b');
    const res = await t.api('PATCH', `devices/${b.id}`, { body: { name: 'patch-dev-a' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'already_exists',
      params: { field: 'name', existing_id: a.id },
    });
    expect((await t.api('GET', `devices/${b.id}`)).body).toEqual(b);
  });
  it('an unknown id → 404, even with an empty body', async () => {
    expect((await t.api('PATCH', 'devices/dvc_missing', { body: { name: 'x' } })).status).toBe(404);
    expect((await t.api('PATCH', 'devices/dvc_missing', { body: {} })).status).toBe(404);
  });
  it('an invalid name → 400 naming it; unchanged', async () => {
    const created = await createDevice('valid-dev');
    for (const name of ['', '   ', 'x'.repeat(49), 'tab\there']) {
      const res = await t.api('PATCH', `devices/${created.id}`, { body: { name } });
      expect(res.status, JSON.stringify(name)).toBe(400);
      expect(res.body.error.params.field).toBe('name');
    }
    expect((await t.api('GET', `devices/${created.id}`)).body).toEqual(created);
  });
});

describe('device scopes', () => {
  it('read allows get and list only', async () => {
    const created = await createDevice('scope-dev');
    const key = await t.keyWith('devices:read');
    expect((await t.api('GET', 'devices', { key })).status).toBe(200);
    expect((await t.api('GET', `devices/${created.id}`, { key })).status).toBe(200);
    const patch = await t.api('PATCH', `devices/${created.id}`, { key, body: { name: 'x-dev' } });
    expect(patch.status).toBe(403);
    expect(patch.body.error).toMatchObject({
      code: 'missing_scope',
      params: { required: ['devices:write'] },
    });
  });
  it('write creates and updates but does not read', async () => {
    const key = await t.keyWith('devices:write');
    const created = await t.api('POST', 'devices', { key, body: { name: 'writer-dev' } });
    expect(created.status).toBe(200);
    expect(
      (await t.api('PATCH', `devices/${created.body.id}`, { key, body: { name: 'writer-dev-2' } })).status,
    ).toBe(200);
    expect((await t.api('GET', `devices/${created.body.id}`, { key })).status).toBe(403);
    expect((await t.api('GET', 'devices', { key })).status).toBe(403);
  });
  it('provision creates but cannot rename or read', async () => {
    const key = await t.keyWith('devices:provision');
    const created = await t.api('POST', 'devices', { key, body: { name: 'prov-dev' } });
    expect(created.status).toBe(200);
    expect((await t.api('PATCH', `devices/${created.body.id}`, { key, body: { name: 'p2' } })).status).toBe(
      403,
    );
    expect((await t.api('GET', `devices/${created.body.id}`, { key })).status).toBe(403);
  });
  it('manage allows every device endpoint', async () => {
    const key = await t.keyWith('devices:manage');
    const created = await t.api('POST', 'devices', { key, body: { name: 'manager-dev' } });
    expect(created.status).toBe(200);
    expect((await t.api('GET', `devices/${created.body.id}`, { key })).status).toBe(200);
    expect(
      (await t.api('PATCH', `devices/${created.body.id}`, { key, body: { name: 'manager-2' } })).status,
    ).toBe(200);
  });
});
