import { createHash, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDeployment,
  createInstance,
  createRelease,
  MOBILITY,
  type TestRelease,
} from '../../../test/support/deployments.ts';
import { provisionDevice, type TestDevice } from '../../../test/support/device-agent.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { AGENT_REPORT_RETENTION } from '../src/storage/deployments.ts';

let t: TestServer;
let release: TestRelease;
let otherRelease: TestRelease;
beforeAll(async () => {
  t = await startTestServer();
  release = await createRelease(t);
  otherRelease = await createRelease(t);
});
afterAll(async () => {
  await t?.close();
});

const digest = (s: string) => `sha256:${createHash('sha256').update(s, 'utf8').digest('hex')}`;
const events = (deploymentId: string) =>
  t.server.store.db
    .selectFrom('deployment_events')
    .selectAll()
    .where('deployment_id', '=', deploymentId)
    .orderBy('occurred_at')
    .execute();

/** A provisioned device with one deployment targeted `deployed` (activity queued). */
async function deviceWithDeployment(data = MOBILITY) {
  const d = await provisionDevice(t);
  const instance = await createInstance(t, release, data);
  const deployment = await createDeployment(t, { deviceId: d.id, release, instanceId: instance.id });
  return { d, instance, deployment };
}

describe('GET /agent/v1/state', () => {
  it("lists the device's deployments to act on, with their config instances and content digests", async () => {
    const { d, instance, deployment } = await deviceWithDeployment();
    // A staged deployment of the same device is not the agent's business.
    const other = await createInstance(t, otherRelease);
    await createDeployment(t, {
      deviceId: d.id,
      release: otherRelease,
      instanceId: other.id,
      target: 'staged',
    });
    const res = await d.api('GET', '/state');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      device: { id: d.id, name: d.name },
      deployments: [
        {
          id: deployment.id,
          description: deployment.description,
          created_at: deployment.created_at,
          release_id: release.releaseId,
          release_version: release.version,
          release: {
            id: release.releaseId,
            version: release.version,
            git_commit_id: null,
            created_at: expect.stringMatching(/^\d{4}-/),
          },
          git_commit: null,
          target_status: 'deployed',
          activity_status: 'queued',
          error_status: 'none',
          attempts: 0,
          config_instances: [
            {
              id: instance.id,
              filepath: release.filepath,
              content_digest: digest(MOBILITY),
              config_type_name: release.typeName,
              config_schema_id: release.schemaId,
            },
          ],
        },
      ],
    });
  });

  it('is cheap to poll: the same state answers 304 to If-None-Match, a change gives a new ETag', async () => {
    const { d, deployment } = await deviceWithDeployment();
    const first = await d.api('GET', '/state');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const again = await d.api('GET', '/state', { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(again.text).toBe('');
    expect(
      (await d.api('GET', '/state', { headers: { 'if-none-match': `W/${etag}, "other"` } })).status,
    ).toBe(304);
    await d.api('POST', `/deployments/${deployment.id}/reports`, { body: { activity_status: 'deployed' } });
    const changed = await d.api('GET', '/state', { headers: { 'if-none-match': etag } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.body.deployments[0].activity_status).toBe('deployed');
  });

  it('a superseded deployment stays listed (target archived) until the agent reports it archived', async () => {
    const { d, deployment } = await deviceWithDeployment();
    await d.api('POST', `/deployments/${deployment.id}/reports`, { body: { activity_status: 'deployed' } });
    const next = await createInstance(t, release, `${MOBILITY}  `);
    const newer = await createDeployment(t, { deviceId: d.id, release, instanceId: next.id });
    const listed = (await d.api('GET', '/state')).body.deployments;
    expect(listed.map((x: any) => [x.id, x.target_status, x.activity_status])).toEqual([
      [deployment.id, 'archived', 'deployed'],
      [newer.id, 'deployed', 'queued'],
    ]);
    const archived = await d.api('POST', `/deployments/${deployment.id}/reports`, {
      body: { activity_status: 'archived' },
    });
    expect(archived.status).toBe(200);
    expect((await d.api('GET', '/state')).body.deployments.map((x: any) => x.id)).toEqual([newer.id]);
  });
});

describe('GET /agent/v1/deployments/{id}', () => {
  it("answers any of the device's own deployments with release and commit metadata, 404 for others", async () => {
    const { d, deployment } = await deviceWithDeployment();
    const sha = 'ab'.repeat(20);
    const commit = await t.api('POST', 'git_commits', {
      body: { sha, message: 'Tune the planner', origin: 'git@github.com:acme/robot-configs.git' },
    });
    const withCommit = await t.api('POST', 'releases', {
      body: {
        version: `v9.${Date.now() % 100000}.0`,
        config_schema_ids: [release.schemaId],
        git_commit_ref: { sha },
      },
    });
    expect(withCommit.status).toBe(200);
    const own = await d.api('GET', `/deployments/${deployment.id}`);
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({
      id: deployment.id,
      description: deployment.description,
      git_commit: null,
    });
    const other = await deviceWithDeployment();
    const foreign = await d.api('GET', `/deployments/${other.deployment.id}`);
    expect(foreign.status).toBe(404);
    // A deployment of a release with a commit carries the commit for the robot's apps.
    const dd = await provisionDevice(t);
    const inst = await createInstance(t, release);
    const dep = await t.api('POST', 'deployments', {
      body: {
        device_id: dd.id,
        release_id: withCommit.body.id,
        config_instance_ids: [inst.id],
        target_status: 'deployed',
        description: 'with commit',
      },
    });
    expect(dep.status).toBe(200);
    const got = await dd.api('GET', `/deployments/${dep.body.id}`);
    expect(got.body.git_commit).toEqual({
      id: commit.body.id,
      sha,
      message: 'Tune the planner',
      commit_url: commit.body.commit_url,
      created_at: commit.body.created_at,
    });
    expect(got.body.release).toMatchObject({ id: withCommit.body.id, git_commit_id: commit.body.id });
  });
});

describe('GET /agent/v1/config_instances/{id}/content', () => {
  it('serves the exact bytes, with their digest', async () => {
    const { d, instance } = await deviceWithDeployment(MOBILITY);
    const res = await d.api('GET', `/config_instances/${instance.id}/content`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(MOBILITY);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('etag')).toBe(`"${digest(MOBILITY)}"`);
    expect(res.headers.get('digest')).toBe(
      `sha-256=${createHash('sha256').update(MOBILITY).digest('base64')}`,
    );
    // An instance no deployment of this device references is not served.
    const unrelated = await createInstance(t, release, `${MOBILITY} \n`);
    const refused = await d.api('GET', `/config_instances/${unrelated.id}/content`);
    expect(refused.status).toBe(404);
    expect(refused.body.error.code).toBe('resource_not_found');
    expect((await d.api('GET', '/config_instances/cfg_inst_missing/content')).status).toBe(404);
  });
});

describe('POST /agent/v1/deployments/{id}/reports', () => {
  let d: TestDevice;
  let deploymentId: string;
  beforeAll(async () => {
    const w = await deviceWithDeployment();
    d = w.d;
    deploymentId = w.deployment.id;
  });
  const report = (body: Record<string, unknown>) =>
    d.api('POST', `/deployments/${deploymentId}/reports`, { body });

  it('retrying with a message and attempt count is recorded as an event by the agent', async () => {
    const res = await report({
      error_status: 'retrying',
      message: 'write /srv/bosun/mobility.json: permission denied',
      attempts: 2,
      occurred_at: new Date().toISOString(),
      report_id: randomUUID(),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      id: deploymentId,
      activity_status: 'queued',
      error_status: 'retrying',
      attempts: 2,
    });
    const row = await t.server.app.repos.deployments.get(deploymentId);
    expect(row?.error_message).toBe('write /srv/bosun/mobility.json: permission denied');
    const last = (await events(deploymentId)).at(-1)!;
    expect(last).toMatchObject({
      actor_type: 'agent',
      actor_id: d.id,
      from_error_status: 'none',
      to_error_status: 'retrying',
      message: 'write /srv/bosun/mobility.json: permission denied',
      attempt: 2,
    });
  });

  it('keeps when the agent observed a change beside when the server recorded it', async () => {
    const w = await deviceWithDeployment();
    const observed = new Date(Date.now() - 3_600_000).toISOString();
    const res = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed', occurred_at: observed, report_id: randomUUID() },
    });
    expect(res.status).toBe(200);
    const last = (await events(w.deployment.id)).at(-1)!;
    expect(last).toMatchObject({ to_activity_status: 'deployed', observed_at: observed });
    expect(last.occurred_at > observed).toBe(true);
    // A clock far in the future is not trusted.
    const future = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed', error_status: 'retrying', occurred_at: '2099-01-01T00:00:00Z' },
    });
    expect(future.status).toBe(200);
    expect((await events(w.deployment.id)).at(-1)!.observed_at).toBeNull();
  });

  it('a drift report (files edited on the robot) becomes an event with the paths, changing no status', async () => {
    const w = await deviceWithDeployment();
    await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed' },
    });
    const res = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: {
        activity_status: 'deployed',
        drift: [{ path: '/srv/bosun/configs/mobility.json', change: 'changed' }],
        report_id: randomUUID(),
      },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ activity_status: 'deployed', error_status: 'none' });
    const last = (await events(w.deployment.id)).at(-1)!;
    expect(last).toMatchObject({
      actor_type: 'agent',
      from_activity_status: 'deployed',
      to_activity_status: 'deployed',
    });
    expect(last.message).toContain('/srv/bosun/configs/mobility.json (changed)');
    const history = await t.api('GET', `deployments/${w.deployment.id}/events`);
    expect(history.status).toBe(200);
    expect(history.body.data.some((e: any) => e.message?.includes('mobility.json'))).toBe(true);
  });

  it('idempotent: the same report twice changes nothing the second time', async () => {
    const body = { activity_status: 'deployed', report_id: randomUUID() };
    const first = await report(body);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ activity_status: 'deployed', error_status: 'none', attempts: 2 });
    const before = await events(deploymentId);
    const updatedAt = (await t.server.app.repos.deployments.get(deploymentId))?.updated_at;
    const second = await report(body);
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    // A restatement under a new report id is a no-op too.
    expect((await report({ activity_status: 'deployed', report_id: randomUUID() })).status).toBe(200);
    expect(await events(deploymentId)).toHaveLength(before.length);
    expect((await t.server.app.repos.deployments.get(deploymentId))?.updated_at).toBe(updatedAt);
  });

  it('an old report resent from the agent queue after a newer one does not roll the state back', async () => {
    const w = await deviceWithDeployment();
    const send = (body: Record<string, unknown>) =>
      w.d.api('POST', `/deployments/${w.deployment.id}/reports`, { body });
    const old = { error_status: 'retrying', message: 'disk full', attempts: 1, report_id: randomUUID() };
    expect((await send(old)).status).toBe(200);
    expect((await send({ activity_status: 'deployed', report_id: randomUUID() })).status).toBe(200);
    const resent = await send(old);
    expect(resent.status).toBe(200);
    expect(resent.body).toMatchObject({ activity_status: 'deployed', error_status: 'none' });
  });

  it('a transition the core rules refuse is 409 invalid_transition and changes nothing', async () => {
    const before = await events(deploymentId);
    const res = await report({ activity_status: 'archived', report_id: randomUUID() });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({
      code: 'invalid_transition',
      params: { rule: 'agent_transition' },
    });
    expect(await events(deploymentId)).toHaveLength(before.length);
    expect((await t.server.app.repos.deployments.get(deploymentId))?.activity_status).toBe('deployed');
  });

  it('malformed reports are 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ activity_status: 'queued' }, 'activity_status'],
      [{ error_status: 'exploded' }, 'error_status'],
      [{ error_status: 'retrying', attempts: -1 }, 'attempts'],
      [{ error_status: 'retrying', attempts: '3' }, 'attempts'],
      [{ activity_status: 'deployed', occurred_at: 'yesterday' }, 'occurred_at'],
    ];
    for (const [body, field] of cases) {
      const res = await report(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.params.field, JSON.stringify(body)).toBe(field);
    }
    const empty = await report({ message: 'nothing to say' });
    expect(empty.status).toBe(400);
    expect(empty.body.error.code).toBe('invalid_report');
  });

  it('failed ends the deployment: it leaves the desired state', async () => {
    const w = await deviceWithDeployment();
    const res = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { error_status: 'failed', message: 'gave up after 5 attempts', attempts: 5 },
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ error_status: 'failed', target_status: 'archived' });
    expect((await w.d.api('GET', '/state')).body.deployments).toEqual([]);
  });
});

describe('a report is one transaction (docs/decisions.md #64)', () => {
  const ledger = (deviceId: string) =>
    t.server.store.db
      .selectFrom('agent_reports')
      .selectAll()
      .where('device_id', '=', deviceId)
      .orderBy('received_at')
      .execute();

  it('a status change and a drift notice of one report get distinct times, in that order', async () => {
    const w = await deviceWithDeployment();
    const before = (await events(w.deployment.id)).length;
    const res = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: {
        activity_status: 'deployed',
        drift: [{ path: '/srv/bosun/configs/mobility.json', change: 'missing' }],
        report_id: randomUUID(),
      },
    });
    expect(res.status).toBe(200);
    const added = (await events(w.deployment.id)).slice(before);
    expect(added.map((e) => [e.from_activity_status, e.to_activity_status])).toEqual([
      ['queued', 'deployed'],
      ['deployed', 'deployed'],
    ]);
    expect(added[1]!.message).toContain('mobility.json (missing)');
    expect(added[0]!.occurred_at < added[1]!.occurred_at).toBe(true);
    // The platform API lists them in the same order.
    const history = await t.api('GET', `deployments/${w.deployment.id}/events`);
    expect(history.body.data.slice(-2).map((e: any) => e.to.activity_status)).toEqual([
      'deployed',
      'deployed',
    ]);
    expect(history.body.data.at(-1).message).toContain('mobility.json');
  });

  // On PostgreSQL (a pool) a dedupe check outside the report transaction lets copies through (verified);
  // SQLite runs one transaction at a time on its one connection, so there this always holds.
  it('the same report resent concurrently is applied once (dedupe record in the same transaction)', async () => {
    const w = await deviceWithDeployment();
    await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed' },
    });
    const before = (await events(w.deployment.id)).length;
    // A drift notice always adds an event, so every copy that got past the ledger would show.
    const body = {
      activity_status: 'deployed',
      drift: [{ path: '/srv/bosun/configs/mobility.json', change: 'changed' }],
      report_id: randomUUID(),
    };
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => w.d.api('POST', `/deployments/${w.deployment.id}/reports`, { body })),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    expect((await events(w.deployment.id)).length).toBe(before + 1);
    expect((await ledger(w.d.id)).filter((r) => r.report_id === body.report_id)).toHaveLength(1);
  });

  it('a refused report leaves no trace: no event, no dedupe record', async () => {
    const w = await deviceWithDeployment();
    const before = (await events(w.deployment.id)).length;
    const reportId = randomUUID();
    const res = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'archived', report_id: reportId },
    });
    expect(res.status).toBe(409);
    expect(await events(w.deployment.id)).toHaveLength(before);
    expect((await ledger(w.d.id)).map((r) => r.report_id)).not.toContain(reportId);
  });

  it("another device's deployment is a 404 and records nothing", async () => {
    const w = await deviceWithDeployment();
    const stranger = await provisionDevice(t);
    const reportId = randomUUID();
    const res = await stranger.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed', report_id: reportId },
    });
    expect(res.status).toBe(404);
    expect(await ledger(stranger.id)).toEqual([]);
    expect((await t.server.app.repos.deployments.get(w.deployment.id))?.activity_status).toBe('queued');
  });

  it(`keeps the newest ${AGENT_REPORT_RETENTION} report ids per device and prunes the rest`, async () => {
    const w = await deviceWithDeployment();
    const other = await deviceWithDeployment();
    // A full ledger of old ids (timestamps before anything this test sends), plus one of another device.
    const old = (i: number) => new Date(Date.UTC(2020, 0, 1, 0, 0, 0, i)).toISOString();
    const rows = Array.from({ length: AGENT_REPORT_RETENTION }, (_, i) => ({
      device_id: w.d.id,
      report_id: `old-${String(i).padStart(4, '0')}`,
      deployment_id: w.deployment.id,
      received_at: old(i),
    }));
    for (let i = 0; i < rows.length; i += 200) {
      await t.server.store.db
        .insertInto('agent_reports')
        .values(rows.slice(i, i + 200))
        .execute();
    }
    await t.server.store.db
      .insertInto('agent_reports')
      .values({
        device_id: other.d.id,
        report_id: 'other-old',
        deployment_id: other.deployment.id,
        received_at: old(0),
      })
      .execute();
    const reportId = randomUUID();
    const res = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed', report_id: reportId },
    });
    expect(res.status).toBe(200);
    const kept = (await ledger(w.d.id)).map((r) => r.report_id);
    expect(kept).toHaveLength(AGENT_REPORT_RETENTION);
    expect(kept).not.toContain('old-0000');
    expect(kept).toContain('old-0001');
    expect(kept.at(-1)).toBe(reportId);
    // Another device's ledger is its own.
    expect((await ledger(other.d.id)).map((r) => r.report_id)).toEqual(['other-old']);
    // A pruned id is forgotten; a kept one still makes a resend a no-op.
    const resend = await w.d.api('POST', `/deployments/${w.deployment.id}/reports`, {
      body: { activity_status: 'deployed', report_id: reportId },
    });
    expect(resend.status).toBe(200);
    expect((await ledger(w.d.id)).map((r) => r.report_id)).toEqual(kept);
  });
});
