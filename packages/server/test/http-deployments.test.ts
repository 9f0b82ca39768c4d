import { isForward } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { type DeploymentWorld, lifecycleViolations, seedDeploymentWorld } from './support-deployments.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const world = (opts: { extraReleases?: number; devices?: number } = {}) =>
  seedDeploymentWorld(t.server.app.store.db, opts);
const body = (w: DeploymentWorld, release: string, ids: string[], target: string, extra: object = {}) => ({
  target_status: target,
  description: `${target} to ${w.device}`,
  release_id: release,
  device_id: w.device,
  config_instance_ids: ids,
  ...extra,
});
const statuses = (d: any) => `${d.target_status}/${d.activity_status}/${d.error_status}=${d.status}`;
const agentReport = (id: string, report: object) =>
  t.server.app.repos.deployments.report(id, report, { type: 'agent', id: 'agent' });

describe('POST /deployments', () => {
  it('creates a staged deployment with the tetons shape, omitting unexpanded fields', async () => {
    const w = await world();
    const res = await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'staged') });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(
      [
        'object',
        'id',
        'description',
        'status',
        'activity_status',
        'error_status',
        'target_status',
        'device_id',
        'release_id',
        'created_at',
        'updated_at',
      ].sort(),
    );
    expect(res.body).toMatchObject({
      object: 'deployment',
      status: 'staged',
      target_status: 'staged',
      activity_status: 'staged',
      error_status: 'none',
      device_id: w.device,
      release_id: w.v1,
    });
    expect(res.body.id).toMatch(/^dpl_/);
  });

  it('needs deployments:write plus deployments:stage or deployments:deploy matching target_status', async () => {
    const w = await world();
    const cases: [string[], string, number][] = [
      [['deployments:write'], 'staged', 403],
      [['deployments:stage'], 'staged', 403],
      [['deployments:write', 'deployments:deploy'], 'staged', 403],
      [['deployments:write', 'deployments:stage'], 'deployed', 403],
      [['deployments:write', 'deployments:stage'], 'staged', 200],
      [['deployments:write', 'deployments:deploy'], 'deployed', 200],
      [['deployments:manage'], 'staged', 200],
    ];
    for (const [scopes, target, status] of cases) {
      const key = await t.keyWith(...scopes);
      const release = target === 'staged' ? w.v2 : w.v1;
      const ids = target === 'staged' ? [w.I3, w.I2] : [w.I1, w.I2];
      const res = await t.api('POST', 'deployments', { key, body: body(w, release, ids, target) });
      expect(res.status, `${scopes.join('+')} ${target}`).toBe(status);
      if (status === 403) {
        expect(res.body.error.code).toBe('missing_scope');
        expect(res.body.error.message).toMatch(/deployments:(write|stage|deploy)/);
      }
    }
  });

  it('refuses staging the current release and deploying another one with 409 naming the rule', async () => {
    const w = await world();
    expect(
      (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') })).status,
    ).toBe(200);
    const stage = await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I4, w.I2], 'staged') });
    expect(stage.status).toBe(409);
    expect(stage.body.error).toMatchObject({
      code: 'release_is_current',
      params: { rule: 'stage_only_other_release', release_id: w.v1, current_release_id: w.v1 },
    });
    expect(stage.body.error.message).toContain("already the device's current release");
    const deploy = await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'deployed') });
    expect(deploy.status).toBe(409);
    expect(deploy.body.error.code).toBe('release_not_current');
    expect(deploy.body.error.message).toContain(`current release is ${w.v1}`);
  });

  it('refuses a wrong instance set with 422 naming what is missing, extra, duplicated or unknown', async () => {
    const w = await world();
    const cases: [string[], RegExp, object][] = [
      [[w.I3], /missing an instance of config schema/, { missing: [w.S_nav] }],
      [
        [w.I3, w.I2, w.I1],
        /which is not in the release/,
        { extra: [{ config_instance_id: w.I1, config_schema_id: w.S_mob }] },
      ],
      [
        [w.I3, w.I3, w.I2],
        /has more than one instance/,
        { duplicated: [{ config_schema_id: w.S_mob2, config_instance_ids: [w.I3, w.I3] }] },
      ],
      [
        [w.I3, w.I2, 'cfg_inst_nope'],
        /no config instance exists with id cfg_inst_nope/,
        { unknown: ['cfg_inst_nope'] },
      ],
      [[], /missing an instance/, { missing: [w.S_mob2, w.S_nav] }],
    ];
    for (const [ids, message, params] of cases) {
      const res = await t.api('POST', 'deployments', { body: body(w, w.v2, ids, 'staged') });
      expect(res.status, ids.join(',')).toBe(422);
      expect(res.body.error.code).toBe('invalid_config_instances');
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.params).toMatchObject({ field: 'config_instance_ids', ...params });
    }
    const list = await t.api('GET', `deployments?device_id=${w.device}`);
    expect(list.body.data).toEqual([]);
  });

  it('refuses malformed bodies and unknown references with a 4xx naming the field', async () => {
    const w = await world();
    const cases: [object, number, string][] = [
      [{ ...body(w, w.v1, [w.I1, w.I2], 'archived') }, 400, 'target_status'],
      [{ ...body(w, w.v1, [w.I1, w.I2], 'staged'), description: '  ' }, 400, 'description'],
      [{ ...body(w, w.v1, [w.I1, w.I2], 'staged'), config_instance_ids: 'I1' }, 400, 'config_instance_ids'],
      [{ ...body(w, w.v1, [w.I1, w.I2], 'staged'), device_id: undefined }, 400, 'device_id'],
      [{ ...body(w, 'rls_nope', [w.I1, w.I2], 'staged') }, 404, 'rls_nope'],
      [{ ...body(w, w.v1, [w.I1, w.I2], 'staged'), device_id: 'dvc_nope' }, 404, 'dvc_nope'],
    ];
    for (const [b, status, needle] of cases) {
      const res = await t.api('POST', 'deployments', { body: b });
      expect(res.status, JSON.stringify(b)).toBe(status);
      expect(JSON.stringify(res.body.error)).toContain(needle);
    }
  });

  it('accepts the lineage under both names, parent_id and its older name patch_source_id', async () => {
    const w = await world({ devices: 2 });
    const A = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'staged') })).body;
    const B = await t.api('POST', 'deployments', {
      body: body(w, w.v2, [w.I3, w.I2], 'staged', { parent_id: A.id }),
    });
    expect(B.status).toBe(200);
    const C = await t.api('POST', 'deployments', {
      body: body(w, w.v2, [w.I3, w.I2], 'staged', { patch_source_id: B.body.id }),
    });
    expect(C.status).toBe(200);
    const rows = await t.server.app.store.db
      .selectFrom('deployments')
      .select(['id', 'parent_id'])
      .where('id', 'in', [B.body.id, C.body.id])
      .execute();
    expect(Object.fromEntries(rows.map((r) => [r.id, r.parent_id]))).toEqual({
      [B.body.id]: A.id,
      [C.body.id]: B.body.id,
    });
    const both = await t.api('POST', 'deployments', {
      body: body(w, w.v2, [w.I3, w.I2], 'staged', { parent_id: A.id, patch_source_id: B.body.id }),
    });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain('patch_source_id');
    const same = await t.api('POST', 'deployments', {
      body: body(w, w.v2, [w.I3, w.I2], 'staged', { parent_id: C.body.id, patch_source_id: C.body.id }),
    });
    expect(same.status).toBe(200);
    const foreign = await t.api('POST', 'deployments', {
      body: { ...body(w, w.v2, [w.I3, w.I2], 'staged'), device_id: w.devices[1], parent_id: A.id },
    });
    expect(foreign.status).toBe(422);
    expect(foreign.body.error).toMatchObject({ code: 'invalid_parent', params: { field: 'parent_id' } });
    const ghost = await t.api('POST', 'deployments', {
      body: body(w, w.v2, [w.I3, w.I2], 'staged', { patch_source_id: 'dpl_nope' }),
    });
    expect(ghost.status).toBe(422);
    expect(ghost.body.error.message).toContain('dpl_nope');
  });
});

describe('deploy, archive, restage', () => {
  it('each action needs its own scope', async () => {
    const w = await world();
    await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') });
    const B = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'staged') })).body;
    const read = await t.keyWith('deployments:read', 'deployments:write');
    for (const action of ['deploy', 'archive', 'restage']) {
      const res = await t.api('POST', `deployments/${B.id}/${action}`, { key: read });
      expect(res.status, action).toBe(403);
    }
    const readOnly = await t.keyWith('deployments:write');
    expect((await t.api('GET', `deployments/${B.id}`, { key: readOnly })).status).toBe(403);
    expect((await t.api('GET', `deployments/${B.id}/drifts`, { key: readOnly })).status).toBe(403);
    expect((await t.api('GET', `deployments/${B.id}/events`, { key: readOnly })).status).toBe(403);
    expect((await t.api('GET', 'deployments', { key: readOnly })).status).toBe(403);
    // The scope holders succeed.
    await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I4, w.I2], 'deployed') }); // drifts B
    const restage = await t.api('POST', `deployments/${B.id}/restage`, {
      key: await t.keyWith('deployments:stage'),
    });
    expect(restage.status).toBe(200);
    expect(statuses(restage.body)).toBe('staged/staged/none=staged');
    const deploy = await t.api('POST', `deployments/${B.id}/deploy`, {
      key: await t.keyWith('deployments:deploy'),
    });
    expect(statuses(deploy.body)).toBe('deployed/queued/none=queued');
    const E = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'staged') })).body;
    const archive = await t.api('POST', `deployments/${E.id}/archive`, {
      key: await t.keyWith('deployments:archive'),
    });
    expect(statuses(archive.body)).toBe('archived/archived/none=archived');
  });

  it('answers each broken precondition with 409 saying which rule and the current state', async () => {
    const w = await world();
    const A = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') })).body;
    const B = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'staged') })).body;
    const cases: [string, string, string, RegExp][] = [
      [
        A.id,
        'deploy',
        'deployment_not_deployable',
        /only a staged deployment.*target deployed, activity queued, error none/,
      ],
      [
        A.id,
        'archive',
        'deployment_not_archivable',
        /only staged or drifted.*target deployed, activity queued/,
      ],
      [
        B.id,
        'restage',
        'deployment_not_drifted',
        /only a drifted deployment.*target staged, activity staged/,
      ],
    ];
    for (const [id, action, code, message] of cases) {
      const res = await t.api('POST', `deployments/${id}/${action}`);
      expect(res.status, action).toBe(409);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toMatch(message);
      expect(res.body.error.params).toMatchObject({ deployment_id: id, rule: expect.any(String) });
    }
    await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I4, w.I2], 'deployed') });
    const drifted = await t.api('POST', `deployments/${B.id}/deploy`);
    expect(drifted.status).toBe(409);
    expect(drifted.body.error).toMatchObject({
      code: 'deployment_drifted',
      params: { activity_status: 'drifted' },
    });
    expect(drifted.body.error.message).toContain('restage or archive');
    for (const action of ['deploy', 'archive', 'restage']) {
      const res = await t.api('POST', `deployments/dpl_nope/${action}`);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('resource_not_found');
    }
  });

  it('a bad expand on an action is a 400 and changes nothing', async () => {
    const w = await world();
    const B = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'staged') })).body;
    const res = await t.api('POST', `deployments/${B.id}/archive?expand=nonsense`);
    expect(res.status).toBe(400);
    expect((await t.api('GET', `deployments/${B.id}`)).body.status).toBe('staged');
  });
});

describe('GET /deployments', () => {
  it('filters by every field (comma, pipe or repeated), pages, counts and expands the device', async () => {
    const w = await world({ devices: 2 });
    const A = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') })).body;
    const B = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'staged') })).body;
    const C = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I4, w.I2], 'deployed') })).body;
    const D = (
      await t.api('POST', 'deployments', {
        body: { ...body(w, w.v2, [w.I3, w.I2], 'staged'), device_id: w.devices[1] },
      })
    ).body;
    await agentReport(C.id, { error_status: 'retrying', message: 'link down', attempts: 1 });
    const ids = async (query: string) =>
      (await t.api('GET', `deployments?device_id=${w.device},${w.devices[1]}&${query}`)).body.data.map(
        (d: any) => d.id,
      );
    expect(await ids('order_by=created_at:asc')).toEqual([A.id, B.id, C.id, D.id]);
    expect(await ids('')).toEqual([D.id, C.id, B.id, A.id]);
    expect(await ids('target_status=archived')).toEqual([A.id]);
    expect(await ids('target_status=staged|archived&order_by=created_at:asc')).toEqual([A.id, B.id, D.id]);
    expect(await ids('activity_status=drifted')).toEqual([B.id]);
    expect(await ids('activity_status=queued&activity_status=drifted&order_by=created_at:asc')).toEqual([
      A.id,
      B.id,
      C.id,
    ]);
    expect(await ids('error_status=retrying')).toEqual([C.id]);
    expect(await ids(`release_id=${w.v2}&order_by=created_at:asc`)).toEqual([B.id, D.id]);
    expect(await ids(`id=${A.id}|${D.id}&order_by=created_at:asc`)).toEqual([A.id, D.id]);
    expect(
      (await t.api('GET', `deployments?device_id=${w.devices[1]}`)).body.data.map((d: any) => d.id),
    ).toEqual([D.id]);

    const page = await t.api(
      'GET',
      `deployments?device_id=${w.device}&limit=2&expand=total_count&expand=device`,
    );
    expect(page.body).toMatchObject({ object: 'list', total_count: 3, limit: 2, offset: 0, has_more: true });
    expect(page.body.data[0].device).toMatchObject({ object: 'device', id: w.device });
    expect(page.body.data[0].status).toBe('retrying');
    const rest = await t.api('GET', `deployments?device_id=${w.device}&limit=2&offset=2`);
    expect(rest.body).toMatchObject({ has_more: false, data: [{ id: A.id }] });
    expect(rest.body.total_count).toBeUndefined();
    expect(rest.body.data[0].device).toBeUndefined();

    const bad = await t.api('GET', 'deployments?activity_status=removing');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('activity_status');
    expect((await t.api('GET', 'deployments?status=staged')).status).toBe(200); // no status filter in tetons: ignored
    expect((await t.api('GET', 'deployments?expand=parent')).status).toBe(400);
  });

  it('expands release and config instances on every item, nested expansions included, in release order', async () => {
    const w = await world();
    const A = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I2, w.I1], 'deployed') })).body;
    const B = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I2, w.I3], 'staged') })).body;
    const res = await t.api(
      'GET',
      `deployments?device_id=${w.device}&order_by=created_at:asc&expand=release.config_schemas,config_instances.content&expand[]=device`,
    );
    expect(res.status).toBe(200);
    const [a, b] = res.body.data;
    expect([a.id, b.id]).toEqual([A.id, B.id]);
    expect(a.release).toMatchObject({ object: 'release', id: w.v1 });
    expect(a.release.config_schemas.map((s: any) => s.id)).toEqual([w.S_mob, w.S_nav]);
    expect(b.release.config_schemas.map((s: any) => s.id)).toEqual([w.S_mob2, w.S_nav]);
    expect(a.config_instances.map((i: any) => i.id)).toEqual([w.I1, w.I2]);
    expect(a.config_instances[0].content).toEqual({ format: 'json', data: '{"max_speed": 1.0}' });
    expect(b.config_instances.map((i: any) => i.id)).toEqual([w.I3, w.I2]);
    expect(a.device.id).toBe(w.device);
    const plain = (await t.api('GET', `deployments/${A.id}?expand=config_instances`)).body;
    expect(plain.config_instances[0].content).toBeUndefined();
    expect(plain.release).toBeUndefined();
  });

  it('GET /deployments/{id} expands the device and 404s an unknown id', async () => {
    const w = await world();
    const A = (
      await t.api('POST', 'deployments?expand=device', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') })
    ).body;
    expect(A.device).toMatchObject({ object: 'device', id: w.device, status: 'online' });
    const got = await t.api('GET', `deployments/${A.id}?expand=device`);
    expect(got.body).toEqual(A);
    const missing = await t.api('GET', 'deployments/dpl_nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({
      code: 'resource_not_found',
      params: { resource: 'deployment' },
    });
    expect((await t.api('GET', `deployments/${A.id}?expand=total_count`)).status).toBe(400);
  });
});

describe('drifts and events', () => {
  it('drifts lists, oldest first, what became current after staging or the last restage', async () => {
    const w = await world();
    await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') });
    const B = (await t.api('POST', 'deployments', { body: body(w, w.v2, [w.I3, w.I2], 'staged') })).body;
    const C = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I4, w.I2], 'deployed') })).body;
    const D = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') })).body;
    const drifts = await t.api('GET', `deployments/${B.id}/drifts?expand=device`);
    expect(drifts.status).toBe(200);
    expect(drifts.body).toMatchObject({ object: 'list', has_more: false, offset: 0 });
    expect(drifts.body.data.map((d: any) => d.id)).toEqual([C.id, D.id]);
    expect(drifts.body.data[0].device.id).toBe(w.device);
    await t.api('POST', `deployments/${B.id}/restage`);
    expect((await t.api('GET', `deployments/${B.id}/drifts`)).body.data).toEqual([]);
    expect((await t.api('GET', 'deployments/dpl_nope/drifts')).status).toBe(404);
  });

  it('events record every status change with actor, message and time', async () => {
    const w = await world();
    const key = await t.keyWith('deployments:manage');
    const keyId = (await t.api('GET', 'principal', { key })).body.id;
    const A = (await t.api('POST', 'deployments', { key, body: body(w, w.v1, [w.I1, w.I2], 'deployed') }))
      .body;
    await agentReport(A.id, { error_status: 'retrying', message: 'link down', attempts: 2 });
    await agentReport(A.id, { activity_status: 'deployed' });
    const C = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I4, w.I2], 'deployed') })).body;
    const events = await t.api('GET', `deployments/${A.id}/events`);
    expect(events.status).toBe(200);
    expect(events.body.data).toHaveLength(4);
    const [created, retrying, deployed, superseded] = events.body.data;
    expect(created).toMatchObject({
      object: 'event',
      deployment_id: A.id,
      device_id: w.device,
      from: null,
      to: { target_status: 'deployed', activity_status: 'queued', error_status: 'none', status: 'queued' },
      actor: { type: 'api_key', id: keyId },
    });
    expect(retrying).toMatchObject({
      to: { status: 'retrying' },
      actor: { type: 'agent' },
      message: 'link down',
      attempt: 2,
    });
    expect(deployed).toMatchObject({ from: { status: 'retrying' }, to: { status: 'deployed' } });
    expect(superseded).toMatchObject({
      from: { target_status: 'deployed' },
      to: { target_status: 'archived', activity_status: 'deployed' },
      actor: { type: 'system', id: null },
    });
    expect(superseded.message).toContain(C.id);
    const stamps = events.body.data.map((e: any) => e.timestamp);
    expect([...stamps].sort()).toEqual(stamps);
    const paged = await t.api('GET', `deployments/${A.id}/events?limit=1&offset=1`);
    expect(paged.body).toMatchObject({ limit: 1, offset: 1, has_more: true, data: [{ id: retrying.id }] });
  });
});

describe('concurrency over HTTP', () => {
  it('50 parallel mixed calls for one device never break an invariant', async () => {
    const w = await world({ extraReleases: 5 });
    const A = (await t.api('POST', 'deployments', { body: body(w, w.v1, [w.I1, w.I2], 'deployed') })).body;
    const releases = [w.v2, ...w.extraReleases];
    const known: string[] = [A.id];
    const results = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const kind = i % 5;
        let res: { status: number; body: any };
        if (kind === 0 || kind === 1) {
          res = await t.api('POST', 'deployments', {
            body: body(w, releases[i % releases.length]!, [w.I3, w.I2], 'staged'),
          });
        } else if (kind === 2) {
          res = await t.api('POST', 'deployments', {
            body: body(w, w.v1, [i % 2 ? w.I1 : w.I4, w.I2], 'deployed'),
          });
        } else {
          const id = known[(i * 7) % known.length]!;
          res = await t.api('POST', `deployments/${id}/${kind === 3 ? 'deploy' : 'archive'}`);
        }
        if (res.status === 200 && res.body.id && !known.includes(res.body.id)) known.push(res.body.id);
        return res.status;
      }),
    );
    expect(results.every((s) => s === 200 || s === 409)).toBe(true);
    expect(await lifecycleViolations(t.server.app.store.db, isForward)).toEqual([]);
  });
});
