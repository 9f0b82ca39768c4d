import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { type ConfigChange, onConfigChange } from '@bosun/agent/local-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectDeviceSchema } from '../support/device-spec.ts';
import { AgentProcess, freePort, RestartableServer, runCli, waitFor } from './support/fleet.ts';

/**
 * The on-robot Device API of a real `bosun agent run` process, over its real Unix socket, with the
 * agent connected to a real server: every endpoint (checked against the v0.2.1 spec's schemas), the
 * error cases, and the event stream across deployments, reconnects and an agent restart.
 */
const tag = Math.random().toString(36).slice(2, 8);

function call(socketPath: string, method: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = request({ socketPath, path, method, headers }, (res) => {
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

describe('Device API of a running agent', () => {
  let server: RestartableServer;
  const agent = new AgentProcess();
  let device: { id: string; name: string };
  let releaseId: string;
  let gitCommitId: string;
  let instances: string[];
  let first: string;
  let second: string;
  const changes: ConfigChange[] = [];
  let watch: ReturnType<typeof onConfigChange> | undefined;
  const get = (path: string, headers?: Record<string, string>) =>
    call(agent.socketPath, 'GET', path, headers);
  const deploymentIs = (id: string, status: string) => async () =>
    (await server.api('GET', `deployments/${id}`)).status === status;

  beforeAll(async () => {
    server = new RestartableServer(await freePort(), undefined);
    await server.start();
    const type = await server.api('POST', 'config_types', { name: `Planner ${tag}`, slug: `planner-${tag}` });
    const schema = await server.api('POST', 'config_schemas', {
      config_type_ref: { id: type.id },
      instance_filepath: '/srv/bosun/configs/planner.json',
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'planner.json', data: JSON.stringify({ type: 'object' }) }],
    });
    const sha = `${tag}`.padEnd(40, 'a').replace(/[^0-9a-f]/g, 'b');
    const commit = await server.api('POST', 'git_commits', {
      sha,
      message: 'Tune the planner',
      origin: 'git@github.com:acme/robot-configs.git',
    });
    gitCommitId = commit.id;
    const release = await server.api('POST', 'releases', {
      version: `v3.${Date.now() % 100000}.0`,
      config_schema_ids: [schema.id],
      git_commit_ref: { id: commit.id },
    });
    releaseId = release.id;
    instances = [];
    for (const data of ['{"planner": "teb"}\n', '{"planner": "dwb"}\n']) {
      instances.push(
        (
          await server.api('POST', 'config_instances', {
            config_schema_id: schema.id,
            content: { format: 'json', data },
          })
        ).id,
      );
    }
    device = await server.api('POST', 'devices', { name: `robot-${tag}` });
    const { token } = await server.api('POST', `devices/${device.id}/activation_token`, {});
    const provisioned = await runCli(
      ['agent', 'provision', '--server', server.url, '--state-dir', agent.stateDir],
      { BOSUN_ACTIVATION_TOKEN: token },
    );
    expect(provisioned.code, provisioned.stderr).toBe(0);
    agent.start();
    await waitFor(
      'device API up',
      async () => (await get('/v0.2/health').catch(() => ({ status: 0 }))).status === 200,
    );
    watch = onConfigChange((c) => changes.push(c), { socketPath: agent.socketPath, retryMs: 50 });
  });

  afterAll(async () => {
    watch?.close();
    await agent.stop();
    await server?.stop();
  });

  it('health, version and device answer from the agent, in the spec shapes', async () => {
    const health = await get('/v0.2/health');
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
    expectDeviceSchema('HealthResponse', health.body);
    const version = await get('/v0.2/version');
    expectDeviceSchema('VersionResponse', version.body);
    expectDeviceSchema('APIVersion', version.body.api_version);
    expectDeviceSchema('APIGitCommit', version.body.api_git_commit);
    // The real build: a source checkout answers from git (HEAD and its date), never the epoch.
    expect(version.body.git_commit).toMatch(/^[0-9a-f]{40}$/);
    expect(Date.parse(version.body.build_date)).toBeGreaterThan(Date.parse('2025-01-01T00:00:00Z'));
    expect(version.body.rust_version).not.toMatch(/node/i);
    expect(version.body.arch).toBe(execFileSync('uname', ['-m'], { encoding: 'utf8' }).trim());
    const dev = await get('/v0.2/device');
    expectDeviceSchema('Device', dev.body);
    expect(dev.body).toMatchObject({ id: device.id, name: device.name });
  });

  it('before any deployment: current deployment and release are 404 in the error envelope', async () => {
    for (const path of ['/v0.2/deployments/current', '/v0.2/releases/current']) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expectDeviceSchema('ErrorResponse', res.body);
      expect(res.body.error.code).toBe('resource_not_found');
    }
  });

  it('a deployment reaches the robot: current deployment, release and commit, and a live event', async () => {
    first = (
      await server.api('POST', 'deployments', {
        target_status: 'deployed',
        description: 'first planner',
        release_id: releaseId,
        device_id: device.id,
        config_instance_ids: [instances[0]],
      })
    ).id;
    await waitFor('first deployed', deploymentIs(first, 'deployed'));
    const current = await get('/v0.2/deployments/current');
    expect(current.status).toBe(200);
    expectDeviceSchema('Deployment', current.body);
    expect(current.body).toMatchObject({
      id: first,
      status: 'deployed',
      device_id: device.id,
      release_id: releaseId,
    });
    expectDeviceSchema('Deployment', (await get(`/v0.2/deployments/${first}`)).body);
    const release = await get('/v0.2/releases/current');
    expectDeviceSchema('Release', release.body);
    expect(release.body).toMatchObject({ id: releaseId, git_commit_id: gitCommitId });
    expectDeviceSchema('Release', (await get(`/v0.2/releases/${releaseId}`)).body);
    const commit = await get(`/v0.2/git_commits/${gitCommitId}`);
    expectDeviceSchema('GitCommit', commit.body);
    expect(commit.body.message).toBe('Tune the planner');
    await waitFor('deployed event', async () =>
      changes.some(
        (c) =>
          c.kind === 'event' &&
          c.event.type === 'deployment.deployed' &&
          c.event.data.deployment_id === first,
      ),
    );
    const event = changes.find((c) => c.kind === 'event' && c.event.data.deployment_id === first);
    if (event?.kind !== 'event') throw new Error('no event');
    expectDeviceSchema('Event', event.event);
    expectDeviceSchema('DeploymentDeployedEvent', event.event.data);
  });

  it('unknown ids are 404; a malformed cursor is 400; POST /device/sync syncs with the server', async () => {
    for (const path of [
      '/v0.2/deployments/dpl_unknown',
      '/v0.2/releases/rls_unknown',
      '/v0.2/git_commits/git_cmt_unknown',
    ]) {
      const res = await get(path);
      expect(res.status).toBe(404);
      expectDeviceSchema('ErrorResponse', res.body);
    }
    const bad = await get('/v0.2/events?after=abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('malformed_cursor');
    const sync = await call(agent.socketPath, 'POST', '/v0.2/device/sync');
    expect(sync.status).toBe(200);
    expectDeviceSchema('SyncDeviceResponse', sync.body);
    expect(sync.body.code).toBe('success');
  });

  it('a replacement emits removed and deployed; a reconnect replays exactly the missed events', async () => {
    const seen = changes.filter((c) => c.kind === 'event').length;
    const lastId = watch!.lastEventId!;
    watch!.close();
    second = (
      await server.api('POST', 'deployments', {
        target_status: 'deployed',
        description: 'second planner',
        release_id: releaseId,
        device_id: device.id,
        config_instance_ids: [instances[1]],
        parent_id: first,
      })
    ).id;
    await waitFor('second deployed', deploymentIs(second, 'deployed'));
    await waitFor('first archived', deploymentIs(first, 'archived'));
    const missed: ConfigChange[] = [];
    watch = onConfigChange((c) => missed.push(c), {
      socketPath: agent.socketPath,
      after: lastId,
      retryMs: 50,
    });
    await waitFor('missed events replayed', async () => missed.length >= 2);
    const events = missed.map((c) => (c.kind === 'event' ? c.event : undefined));
    expect(events.map((e) => [e?.type, e?.data.deployment_id])).toEqual([
      ['deployment.removed', first],
      ['deployment.deployed', second],
    ]);
    expect(events[0]!.id).toBe(lastId + 1);
    expectDeviceSchema('DeploymentRemovedEvent', events[0]!.data);
    expect(seen).toBeGreaterThan(0);
    expect((await get('/v0.2/deployments/current')).body.id).toBe(second);
    // Its files are gone, so the replaced deployment reads archived (not the catalog's stale copy).
    const old = await get(`/v0.2/deployments/${first}`);
    expectDeviceSchema('Deployment', old.body);
    expect(old.body).toMatchObject({
      status: 'archived',
      activity_status: 'archived',
      target_status: 'archived',
    });
  });

  it('event ids survive an agent restart, and the current deployment is served from local state', async () => {
    const before = watch!.lastEventId!;
    watch!.close();
    expect(await agent.stop()).toBe(0);
    agent.start();
    await waitFor(
      'device API back',
      async () => (await get('/v0.2/health').catch(() => ({ status: 0 }))).status === 200,
    );
    const all = await new Promise<number[]>((resolve, reject) => {
      const ids: number[] = [];
      const req = request({ socketPath: agent.socketPath, path: '/v0.2/events?after=0' }, (res) => {
        res.setEncoding('utf8');
        let buf = '';
        res.on('data', (c: string) => {
          buf += c;
          for (const m of buf.matchAll(/^id: (\d+)$/gm))
            if (!ids.includes(Number(m[1]))) ids.push(Number(m[1]));
          if (ids.includes(before)) {
            req.destroy();
            resolve(ids);
          }
        });
      });
      req.on('error', (err) => (ids.includes(before) ? resolve(ids) : reject(err)));
      req.end();
    });
    expect(all.at(-1)).toBe(before);
    expect(all).toEqual([...all].sort((x, y) => x - y));
    expect((await get('/v0.2/deployments/current')).body.id).toBe(second);
  });
});
