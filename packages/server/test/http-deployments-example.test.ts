import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

/**
 * docs/decisions.md #30, step by step, entirely through the platform API (config types, schemas,
 * instances, releases, device, deployments). The agent's reports go through the storage operation
 * the agent API calls, with the agent as actor.
 */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

// Every deployment answer is also checked against the reference spec's schema for its operation.
const OPERATIONS: [RegExp, string][] = [
  [/^POST deployments(\?|$)/, 'createDeployment'],
  [/^GET deployments\?/, 'listDeployments'],
  [/^GET deployments\/[^/?]+\/drifts/, 'getDeploymentDrifts'],
  [/^GET deployments\/[^/?]+(\?|$)/, 'getDeployment'],
  [/^POST deployments\/[^/]+\/deploy/, 'deployDeployment'],
  [/^POST deployments\/[^/]+\/archive/, 'archiveDeployment'],
];

async function ok(method: string, path: string, body?: unknown) {
  const res = await t.api(method, path, body === undefined ? {} : { body });
  expect(res.status, `${method} ${path}: ${res.text}`).toBe(200);
  const operation = OPERATIONS.find(([re]) => re.test(`${method} ${path}`))?.[1];
  if (operation) expectReferenceResponse(operation, res.body);
  return res.body;
}
const jsonSchema = (properties: Record<string, unknown>) =>
  JSON.stringify({
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    type: 'object',
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  });
const show = (d: any) => `${d.target_status}/${d.activity_status}/${d.status}`;
const get = async (id: string) => show(await ok('GET', `deployments/${id}`));
const agent = (id: string, report: object) =>
  t.server.app.repos.deployments.report(id, report, { type: 'agent', id: 'agent' });

describe('the reference scenario of docs/decisions.md #30', () => {
  it('replays every step with the observable statuses', async () => {
    // Device D (online), releases v1 {S_mob, S_nav} and v2 {S_mob2, S_nav}; instances I1(S_mob), I2(S_nav), I3(S_mob2), I4(S_mob).
    await ok('POST', 'config_types', { name: 'Mobility', slug: 'mobility' });
    await ok('POST', 'config_types', { name: 'Navigation', slug: 'navigation' });
    const schema = async (slug: string, path: string, properties: Record<string, unknown>) =>
      (
        await ok('POST', 'config_schemas', {
          config_type_ref: { slug },
          language: 'jsonschema',
          format: 'json',
          instance_filepath: path,
          documents: [{ name: 'schema.json', data: jsonSchema(properties) }],
        })
      ).id as string;
    const S_mob = await schema('mobility', '/srv/bosun/mobility.json', { max_speed: { type: 'number' } });
    const S_nav = await schema('navigation', '/srv/bosun/navigation.json', { planner: { type: 'string' } });
    const S_mob2 = await schema('mobility', '/srv/bosun/mobility.json', {
      max_speed: { type: 'number' },
      accel: { type: 'number' },
    });
    const instance = async (config_schema_id: string, data: string) =>
      (await ok('POST', 'config_instances', { config_schema_id, content: { format: 'json', data } }))
        .id as string;
    const I1 = await instance(S_mob, '{"max_speed": 1.0}');
    const I2 = await instance(S_nav, '{"planner": "teb"}');
    const I3 = await instance(S_mob2, '{"max_speed": 1.5, "accel": 0.5}');
    const I4 = await instance(S_mob, '{"max_speed": 1.2}');
    const v1 = (await ok('POST', 'releases', { version: 'v1.0.0', config_schema_ids: [S_mob, S_nav] })).id;
    const v2 = (await ok('POST', 'releases', { version: 'v2.0.0', config_schema_ids: [S_mob2, S_nav] })).id;
    const D = (await ok('POST', 'devices', { name: 'amr-017' })).id;
    const request = (release_id: string, ids: string[], target_status: string, extra: object = {}) => ({
      target_status,
      description: 'example',
      release_id,
      device_id: D,
      config_instance_ids: ids,
      ...extra,
    });
    const create = (release_id: string, ids: string[], target_status: string, extra: object = {}) =>
      t.api('POST', 'deployments', { body: request(release_id, ids, target_status, extra) });
    const created = (release_id: string, ids: string[], target_status: string, extra: object = {}) =>
      ok(
        'POST',
        'deployments?expand=device&expand=release&expand=config_instances',
        request(release_id, ids, target_status, extra),
      );

    // 1. Initial deployment of v1 (D has no current release) → A queued; the agent writes files → deployed.
    const A = await created(v1, [I1, I2], 'deployed');
    expect(show(A)).toBe('deployed/queued/queued');
    await agent(A.id, { activity_status: 'deployed' });
    expect(await get(A.id)).toBe('deployed/deployed/deployed');

    // 2. Stage v2 → B staged. Deploying v2 directly, or a wrong instance set, is refused.
    const B = await created(v2, [I3, I2], 'staged');
    expect(show(B)).toBe('staged/staged/staged');
    const direct = await create(v2, [I3, I2], 'deployed');
    expect([direct.status, direct.body.error.code]).toEqual([409, 'release_not_current']);
    const missing = await create(v2, [I3], 'staged');
    expect([missing.status, missing.body.error.params.missing]).toEqual([422, [S_nav]]);
    const extra = await create(v2, [I3, I2, I1], 'staged');
    expect([extra.status, extra.body.error.params.extra[0].config_instance_id]).toEqual([422, I1]);
    expect(await get(B.id)).toBe('staged/staged/staged');

    // 3. Patch v1 (parent A) → C queued; A target archived; B drifted; B's drifts list C.
    const C = await created(v1, [I4, I2], 'deployed', { parent_id: A.id });
    expect(show(C)).toBe('deployed/queued/queued');
    expect(await get(A.id)).toBe('archived/deployed/deployed');
    await agent(A.id, { activity_status: 'archived' });
    expect(await get(A.id)).toBe('archived/archived/archived');
    expect(await get(B.id)).toBe('staged/drifted/drifted');
    const drifts = await ok('GET', `deployments/${B.id}/drifts`);
    expect(drifts.object).toBe('list');
    expect(drifts.data.map((d: any) => d.id)).toEqual([C.id]);

    // 4. B cannot be deployed while drifted; archiving it works.
    const deployB = await t.api('POST', `deployments/${B.id}/deploy`);
    expect([deployB.status, deployB.body.error.code]).toEqual([409, 'deployment_drifted']);
    expect(show(await ok('POST', `deployments/${B.id}/archive`))).toBe('archived/archived/archived');

    // 5. Stage v2 again → E; deploy it → queued then deployed; C archived; current release is v2.
    const E = await created(v2, [I3, I2], 'staged');
    expect(show(E)).toBe('staged/staged/staged');
    const deployed = await ok('POST', `deployments/${E.id}/deploy?expand=release&expand=config_instances`);
    expect(show(deployed)).toBe('deployed/queued/queued');
    expect(deployed.release).toMatchObject({ object: 'release', id: v2, version: 'v2.0.0' });
    expect(deployed.config_instances.map((i: any) => i.id)).toEqual([I3, I2]);
    expect(deployed.config_instances[0]).toMatchObject({
      object: 'config_instance',
      config_schema_id: S_mob2,
    });
    expect(await get(C.id)).toBe('archived/queued/queued');
    await agent(C.id, { activity_status: 'archived' });
    await agent(E.id, { activity_status: 'deployed' });
    expect(await get(C.id)).toBe('archived/archived/archived');
    expect(await get(E.id)).toBe('deployed/deployed/deployed');
    // Current release = v2: staging v2 is refused, deploying a v2 patch is allowed.
    expect((await create(v2, [I3, I2], 'staged')).body.error.code).toBe('release_is_current');
    const current = await ok('GET', `deployments?device_id=${D}&target_status=deployed`);
    expect(current.data.map((d: any) => [d.id, d.release_id])).toEqual([[E.id, v2]]);

    // 6. A fatal error on E: error failed, activity archived, status failed; D has no current release any more.
    await agent(E.id, { error_status: 'failed', message: 'disk full', attempts: 3 });
    const failed = await ok('GET', `deployments/${E.id}`);
    expect(failed).toMatchObject({ error_status: 'failed', activity_status: 'archived', status: 'failed' });
    expect((await ok('GET', `deployments?device_id=${D}&target_status=deployed`)).data).toEqual([]);
    const events = await ok('GET', `deployments/${E.id}/events`);
    expect(events.data.at(-1)).toMatchObject({ to: { status: 'failed' }, message: 'disk full', attempt: 3 });

    // Whole-device history, oldest first, as the dashboard would show it.
    const all = await ok('GET', `deployments?device_id=${D}&order_by=created_at:asc&expand=total_count`);
    expect(all.total_count).toBe(4);
    expect(all.data.map((d: any) => [d.id, d.status])).toEqual([
      [A.id, 'archived'],
      [B.id, 'archived'],
      [C.id, 'archived'],
      [E.id, 'failed'],
    ]);
  });
});
