import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import type { Report } from '../src/client.ts';
import { provision } from '../src/provision.ts';
import { deploy, FlakyLink, newAgent, newDevice, ok, releaseWithFile } from './support/world.ts';

/** The Agent library in this process against a real server (HTTP, SQLite or PostgreSQL). */
let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const status = async (id: string) => (await ok(t, 'GET', `deployments/${id}`)).status as string;
const events = async (id: string) => (await ok(t, 'GET', `deployments/${id}/events?limit=100`)).data as any[];
const outboxOnDisk = (stateDir: string) =>
  JSON.parse(readFileSync(join(stateDir, 'agent-state.json'), 'utf8')).outbox as { report: Report }[];

describe('Agent', () => {
  it('keeps reports on disk while the server is unreachable and sends them after a restart', async () => {
    const link = new FlakyLink(t.url);
    await link.start();
    const device = await newDevice(t, link.url);
    const r = await releaseWithFile(t, '/etc/robot/offline.json', '{"offline": true}');
    const d = await deploy(t, device.id, r);
    // State and content arrive; every report is lost on the way.
    link.cut = (req) => req.url!.includes('/reports');
    const first = newAgent(device);
    await first.start();
    await first.sync();
    expect(readFileSync(join(device.fsRoot, 'etc/robot/offline.json'), 'utf8')).toBe('{"offline": true}');
    expect(await status(d)).toBe('queued');
    expect(outboxOnDisk(device.stateDir).map((p) => p.report.activity_status)).toEqual(['deployed']);
    await first.stop();

    link.cut = () => false;
    const second = newAgent(device);
    const sent: string[] = [];
    second.on('reported', (p) => sent.push(`${p.deployment_id}:${p.report.activity_status}`));
    await second.start();
    await second.sync();
    expect(await status(d)).toBe('deployed');
    expect(sent[0]).toBe(`${d}:deployed`);
    expect(outboxOnDisk(device.stateDir)).toEqual([]);
    await second.stop();
    await link.stop();
  });

  it('does not count network errors as attempts', async () => {
    const link = new FlakyLink(t.url);
    await link.start();
    const device = await newDevice(t, link.url);
    const d = await deploy(t, device.id, await releaseWithFile(t, '/etc/robot/net.json', '{}'));
    link.cut = (req) => req.url!.includes('/content');
    const agent = newAgent(device, { retry: { baseMs: 3_600_000, capMs: 3_600_000, maxAttempts: 2 } });
    await agent.start();
    await agent.sync();
    await agent.sync();
    expect(agent.snapshot().retries[d]).toMatchObject({ attempts: 0, error: 'retrying' });
    expect(await status(d)).toBe('queued');
    expect((await events(d)).filter((e) => e.to.status === 'retrying')).toEqual([]);
    await agent.stop();
    await link.stop();
  });

  it('retries with the reason and attempt count, and recovers once the cause is gone', async () => {
    const device = await newDevice(t);
    mkdirSync(join(device.fsRoot, 'opt'), { recursive: true });
    writeFileSync(join(device.fsRoot, 'opt/fleet'), 'a file where a directory is needed');
    const d = await deploy(t, device.id, await releaseWithFile(t, '/opt/fleet/arm.json', '{"arm": 1}'));
    const agent = newAgent(device, { retry: { baseMs: 20, capMs: 40, maxAttempts: 50 } });
    await agent.start();
    await agent.sync();
    expect(await status(d)).toBe('retrying');
    const [retrying] = (await events(d)).filter((e) => e.to.status === 'retrying');
    expect(retrying).toMatchObject({ attempt: 1, actor: { type: 'agent', id: device.id } });
    expect(retrying.message).toMatch(
      /^cannot create the directory for \/opt\/fleet\/arm\.json: (EEXIST|ENOTDIR)/,
    );
    rmSync(join(device.fsRoot, 'opt/fleet'));
    await new Promise((r) => setTimeout(r, 50)); // past the 20 ms backoff, so the next pass retries
    await agent.sync();
    expect(await status(d)).toBe('deployed');
    expect(readFileSync(join(device.fsRoot, 'opt/fleet/arm.json'), 'utf8')).toBe('{"arm": 1}');
    expect((await ok(t, 'GET', `deployments/${d}`)).error_status).toBe('none');
    await agent.stop();
  });

  it('keeps the old files while the replacement retries, then swaps them in one transaction', async () => {
    const device = await newDevice(t);
    const d1 = await deploy(t, device.id, await releaseWithFile(t, '/etc/robot/old.json', '{"v": 1}'));
    const agent = newAgent(device, { retry: { baseMs: 20, capMs: 40, maxAttempts: 50 } });
    await agent.start();
    await agent.sync();
    expect(await status(d1)).toBe('deployed');
    writeFileSync(join(device.fsRoot, 'etc/robot/new'), 'a file where a directory is needed');
    const r2 = await releaseWithFile(t, '/etc/robot/new/cfg.json', '{"v": 2}');
    const d2 = (
      await ok(t, 'POST', 'deployments', {
        target_status: 'staged',
        description: 'replacement',
        release_id: r2.release,
        device_id: device.id,
        config_instance_ids: [r2.instance],
      })
    ).id;
    await ok(t, 'POST', `deployments/${d2}/deploy`);
    await agent.sync();
    expect(await status(d2)).toBe('retrying');
    // The robot keeps running on the superseded deployment's files; it is not reported archived yet.
    expect(await status(d1)).toBe('deployed');
    expect(readFileSync(join(device.fsRoot, 'etc/robot/old.json'), 'utf8')).toBe('{"v": 1}');
    rmSync(join(device.fsRoot, 'etc/robot/new'));
    await new Promise((r) => setTimeout(r, 50)); // past the 20 ms backoff
    await agent.sync();
    expect(await status(d2)).toBe('deployed');
    expect(await status(d1)).toBe('archived');
    expect(existsSync(join(device.fsRoot, 'etc/robot/old.json'))).toBe(false);
    expect(readFileSync(join(device.fsRoot, 'etc/robot/new/cfg.json'), 'utf8')).toBe('{"v": 2}');
    await agent.stop();
  });

  it('in report-only mode reports drift once and leaves the file as it is', async () => {
    const device = await newDevice(t);
    const d = await deploy(
      t,
      device.id,
      await releaseWithFile(t, '/srv/bosun/configs/cam.json', '{"fps": 30}'),
    );
    const agent = newAgent(device, { driftMode: 'report' });
    const drift: Report[] = [];
    agent.on('reported', (p) => p.report.drift && drift.push(p.report));
    await agent.start();
    await agent.sync();
    expect(await status(d)).toBe('deployed');
    rmSync(join(device.fsRoot, 'srv/bosun/configs/cam.json'));
    await agent.checkDriftNow();
    await agent.checkDriftNow();
    expect(drift).toHaveLength(1);
    expect(drift[0]).toMatchObject({
      activity_status: 'deployed',
      drift: [{ path: '/srv/bosun/configs/cam.json', change: 'missing' }],
    });
    expect(drift[0]!.message).toContain('/srv/bosun/configs/cam.json is missing; left as is');
    expect(existsSync(join(device.fsRoot, 'srv/bosun/configs/cam.json'))).toBe(false);
    await agent.stop();
  });

  it('provision is a no-op on an activated state dir; --reprovision rebinds with the same key', async () => {
    const device = await newDevice(t);
    const key = readFileSync(join(device.stateDir, 'identity/private_key.pem'), 'utf8');
    // No network call: the server URL does not even resolve.
    const again = await provision({
      server: 'http://invalid.invalid',
      token: 'x',
      stateDir: device.stateDir,
    });
    expect(again.outcome).toBe('already_activated');
    const { token } = await ok(t, 'POST', `devices/${device.id}/activation_token`, {
      allow_reactivation: true,
    });
    const re = await provision({ server: t.url, token, stateDir: device.stateDir, reprovision: true });
    expect(re).toMatchObject({ outcome: 'activated', device: { device_id: device.id } });
    expect(readFileSync(join(device.stateDir, 'identity/private_key.pem'), 'utf8')).toBe(key);
    const agent = newAgent(device);
    await agent.start();
    // sync() never rejects (a failed pass is logged and retried), so check what it achieved: the
    // rebound identity obtained a token and fetched its desired state.
    await agent.sync();
    const { lastSyncedAt, desired } = agent.snapshot();
    await agent.stop();
    expect(lastSyncedAt).not.toBeNull();
    expect(desired?.device.id).toBe(device.id);
  });
});
