import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BosunClient } from '@bosun/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliAgent, type CliWorld, startCliAgent, startCliWorld } from './cli-api-support.ts';

let w: CliWorld;
let sdk: BosunClient;
let agent: CliAgent | undefined;
let fsRoot: string;
let deviceId: string;

/** A release of one schema whose instances go to `path`, and an instance of it. */
async function releaseFor(version: string, path: string) {
  const slug = `cfg-${version.replace(/\W/g, '-')}`;
  const type = await sdk.configTypes.create({ name: slug, slug });
  const schema = await sdk.configSchemas.create({
    config_type_ref: { id: type.id },
    language: 'jsonschema',
    format: 'json',
    instance_filepath: path,
    documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
  });
  const release = await sdk.releases.create({ version, config_schema_ids: [schema.id] });
  const instance = await sdk.configInstances.create({
    config_schema_id: schema.id,
    content: { format: 'json', data: `{"release": "${version}"}\n` },
  });
  return { release: release.id, instance: instance.id };
}

beforeAll(async () => {
  w = await startCliWorld();
  sdk = new BosunClient({ baseUrl: w.t.url, apiKey: w.t.adminKey });
  deviceId = (await sdk.devices.create({ name: 'amr-wait' })).id;
  agent = await startCliAgent(w, deviceId);
  fsRoot = agent.fsRoot;
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await w?.close();
});

describe('bosun deployments --wait against a real agent', { timeout: 600_000 }, () => {
  it('create --wait follows queued → deployed and the agent wrote the file', async () => {
    const r = await releaseFor('v1.0.0', '/srv/bosun/configs/wait.json');
    const res = await w.bosun([
      'deployments',
      'create',
      '--device',
      deviceId,
      '--release',
      r.release,
      '--instance',
      r.instance,
      '-d',
      'first deployment',
      '--wait',
      '--interval',
      '200ms',
    ]);
    expect(res.code, `${res.stderr}\nagent:\n${agent?.log()}`).toBe(0);
    expect(res.stdout).toMatch(/^✓ Deployment (dpl_\w+) queued\n/);
    expect(res.stdout).toMatch(/^✓ Deployment dpl_\w+ queued → deployed$/m);
    expect(readFileSync(join(fsRoot, 'srv/bosun/configs/wait.json'), 'utf8')).toBe('{"release": "v1.0.0"}\n');
    const [d] = await sdk.deployments.listAll({ device_id: deviceId });
    expect(d?.status).toBe('deployed');
  });

  it('deploy --wait --json exits 1 when the agent cannot apply and marks it failed', async () => {
    // A directory where the file must go: the agent's apply fails until it gives up.
    mkdirSync(join(fsRoot, 'srv/bosun/configs/blocked.json'), { recursive: true });
    const r = await releaseFor('v2.0.0', '/srv/bosun/configs/blocked.json');
    const staged = await sdk.deployments.create({
      device_id: deviceId,
      release_id: r.release,
      config_instance_ids: [r.instance],
      description: 'cannot be written',
      target_status: 'staged',
    } as any);
    const res = await w.bosun([
      'deployments',
      'deploy',
      staged.id,
      '--wait',
      '--interval',
      '200ms',
      '--json',
    ]);
    expect(res.code, `${res.stderr}\nagent:\n${agent?.log()}`).toBe(1);
    const out = JSON.parse(res.stdout);
    expect(out.deployment).toMatchObject({ id: staged.id, status: 'failed' });
    expect(out.statuses[0].status).toBe('queued');
    expect(out.statuses.at(-1).status).toBe('failed');
  });

  it('gives up waiting after --timeout (exit 1) when nothing can deliver', async () => {
    const offline = await sdk.devices.create({ name: 'amr-never-online' });
    const r = await releaseFor('v3.0.0', '/srv/bosun/configs/never.json');
    const res = await w.bosun([
      'deployments',
      'create',
      '--device',
      offline.id,
      '--release',
      r.release,
      '--instance',
      r.instance,
      '-d',
      'nobody home',
      '--wait',
      '--timeout',
      '1s',
      '--interval',
      '200ms',
    ]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/✗ Gave up waiting after 1000 ms: dpl_\w+ is queued/);
  });
});
