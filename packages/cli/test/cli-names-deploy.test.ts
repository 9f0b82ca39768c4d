import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BosunClient } from '@bosun/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliAgent, type CliWorld, startCliAgent, startCliWorld } from './cli-api-support.ts';

/**
 * Names instead of ids, and the one-shot `bosun deploy`, through the real binary against a real
 * server and a real agent writing real files.
 */
let w: CliWorld;
let sdk: BosunClient;
let agent: CliAgent;
let deviceId: string;
let v11: string;
let v12: string;
let sMob1: string;
let sMob2: string;
let sPer: string;
const dir = mkdtempSync(join(tmpdir(), 'bosun-cli-deploy-'));

const mobilitySchema = (max: number) =>
  JSON.stringify({
    type: 'object',
    properties: { max_speed: { type: 'number', maximum: max } },
    required: ['max_speed'],
  });
/** A content file the test passes to --set. */
function file(name: string, data: string): string {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
}
const onRobot = (path: string) => readFileSync(join(agent.fsRoot, path), 'utf8');
const ok = (res: { code: number | null; stderr: string }) =>
  expect(res.code, `${res.stderr}\nagent:\n${agent?.log()}`).toBe(0);
/** `bosun deploy --device amr-017 ...`. */
const deploy = (...args: string[]) => w.bosun(['deploy', '--device', 'amr-017', ...args]);
/** The same with `--wait`, polling fast. */
const deployWait = (...args: string[]) => deploy(...args, '--wait', '--interval', '200ms');
const deploymentsOf = () => sdk.deployments.listAll({ device_id: deviceId });
const current = async () =>
  (
    await sdk.deployments.listAll({
      device_id: deviceId,
      target_status: 'deployed',
      expand: ['config_instances'],
    })
  )[0]!;
const instancesOf = (schema: string) => sdk.configInstances.listAll({ config_schema_id: schema });

beforeAll(async () => {
  w = await startCliWorld();
  sdk = new BosunClient({ baseUrl: w.t.url, apiKey: w.t.adminKey });
  const [mobility, perception] = await Promise.all([
    sdk.configTypes.create({ name: 'Mobility', slug: 'mobility' }),
    sdk.configTypes.create({ name: 'Perception', slug: 'perception' }),
    sdk.configTypes.create({ name: 'Navigation', slug: 'navigation' }),
  ]);
  const schema = (type: string, data: string) =>
    sdk.configSchemas.create({
      config_type_ref: { id: type },
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'schema.json', data }],
    });
  sMob1 = (await schema(mobility.id, mobilitySchema(2))).id;
  sMob2 = (await schema(mobility.id, mobilitySchema(3))).id;
  sPer = (await schema(perception.id, '{"type":"object"}')).id;
  v11 = (await sdk.releases.create({ version: 'v1.1.0', config_schema_ids: [sMob1, sPer] })).id;
  v12 = (await sdk.releases.create({ version: '1.2.0', config_schema_ids: [sMob2, sPer] })).id;
  deviceId = (await sdk.devices.create({ name: 'amr-017' })).id;
  agent = await startCliAgent(w, deviceId);
}, 300_000);

afterAll(async () => {
  await agent?.stop();
  await w?.close();
});

describe('names wherever an id is accepted', { timeout: 600_000 }, () => {
  it('device names, release versions (with or without v) and config type slugs resolve to ids', async () => {
    const [device, release, releaseV, type, schemas, unknownDevice, unknownRelease, unknownJson] =
      await Promise.all([
        w.json(['devices', 'get', 'amr-017']),
        w.json(['releases', 'get', '1.1.0']),
        w.json(['releases', 'get', 'v1.2.0']),
        w.json(['config-types', 'get', 'mobility']),
        w.json(['schemas', 'list', '--config-type', 'mobility']),
        w.bosun(['devices', 'get', 'amr-999']),
        w.bosun(['releases', 'get', 'v9.9.9']),
        w.bosun(['deployments', 'list', '--release', 'nightly', '--json']),
      ]);
    expect(device.id).toBe(deviceId);
    expect(release.id).toBe(v11);
    expect(releaseV.id).toBe(v12);
    expect(type.slug).toBe('mobility');
    expect(schemas.data.map((s: { id: string }) => s.id).sort()).toEqual([sMob1, sMob2].sort());
    expect(unknownDevice.code).toBe(1);
    expect(unknownDevice.stderr).toBe(
      "error: No device has the id or name 'amr-999'. (unknown_reference)\n  kind: device\n  reference: amr-999\n  field: name\n",
    );
    expect(unknownRelease.code).toBe(1);
    expect(unknownRelease.stderr).toContain("No release has the id or version 'v9.9.9'.");
    expect(unknownJson.code).toBe(1);
    expect(JSON.parse(unknownJson.stderr)).toMatchObject({
      error: { code: 'unknown_reference', params: { reference: 'nightly' } },
    });
  });

  it('a device named like another device id is ambiguous, never silently the wrong robot', async () => {
    const other = await sdk.devices.create({ name: 'amr-018' });
    await sdk.devices.create({ name: other.id });
    const res = await w.bosun(['devices', 'rename', other.id, 'amr-018b']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('(ambiguous_reference)');
    expect((await sdk.devices.get(other.id)).name).toBe('amr-018');
  });
});

describe('bosun deploy (one shot) against a real agent', { timeout: 600_000 }, () => {
  it('first deployment: every type set, deployed, the files are on the robot; the table shows names', async () => {
    const res = await deployWait(
      '--release',
      'v1.1.0',
      '--set',
      `mobility=${file('m1.json', '{"max_speed": 1.5}\n')}`,
      '--set',
      `perception=${file('p1.json', '{"lidar": true}\n')}`,
    );
    ok(res);
    expect(res.stdout).toMatch(/^✓ amr-017 \(dvc_\w+\) · no current deployment$/m);
    expect(res.stdout).toMatch(/^✓ mobility: created cfg_inst_\w+ from /m);
    expect(res.stdout).toMatch(/^✓ Deployment dpl_\w+ queued → deployed$/m);
    expect(onRobot('srv/bosun/configs/mobility.json')).toBe('{"max_speed": 1.5}\n');
    expect(onRobot('srv/bosun/configs/perception.json')).toBe('{"lidar": true}\n');

    const list = await w.bosun(['deployments', 'list', '--device', 'amr-017', '--release', '1.1.0']);
    ok(list);
    const [header, row] = list.stdout
      .trimEnd()
      .split('\n')
      .map((l) => l.split(/ {2,}/));
    expect(header!.slice(0, 4)).toEqual(['ID', 'DEVICE', 'RELEASE', 'STATUS']);
    expect(row!.slice(1, 4)).toEqual(['amr-017', 'v1.1.0', 'deployed']);
  });

  it('a patch sets one type and carries the other over (the same instance); re-running it changes nothing', async () => {
    const before = await current();
    const perception = before.config_instances!.find((i) => i.config_schema_id === sPer)!.id;
    const args = ['--release', '1.1.0', '--set', `mobility=${file('m2.json', '{"max_speed": 1.8}\n')}`];
    const res = await deployWait(...args);
    ok(res);
    expect(res.stdout).toContain(`✓ perception: carried over ${perception}\n`);
    const after = await current();
    expect(after.id).not.toBe(before.id);
    expect(after.config_instances!.map((i) => i.id)).toContain(perception);
    expect(onRobot('srv/bosun/configs/mobility.json')).toBe('{"max_speed": 1.8}\n');

    const [deployments, mobilityInstances] = await Promise.all([deploymentsOf(), instancesOf(sMob1)]);
    const again = await deployWait(...args);
    ok(again);
    expect(again.stdout).toMatch(/^✓ mobility: cfg_inst_\w+ \(identical content existed\)$/m);
    expect(again.stdout).toContain(`✓ Nothing to change: amr-017 already has exactly this set (${after.id})`);
    expect(await deploymentsOf()).toHaveLength(deployments.length);
    expect(await instancesOf(sMob1)).toHaveLength(mobilityInstances.length);
  });

  it('refusals are clear and create nothing', async () => {
    const [deployments, mob1, mob2] = await Promise.all([
      deploymentsOf(),
      instancesOf(sMob1),
      instancesOf(sMob2),
    ]);
    const [schemaChanged, unknownType, notInRelease, invalid, invalidJson, stageCurrent, noEquals] =
      await Promise.all([
        deploy('--release', 'v1.2.0'),
        deploy('--release', 'v1.2.0', '--set', `lidar=${file('l.json', '{}')}`),
        deploy('--release', 'v1.2.0', '--set', `navigation=${file('n.json', '{}')}`),
        deploy('--release', 'v1.2.0', '--set', `mobility=${file('bad.json', '{"max_speed": 9}')}`),
        deploy('--release', 'v1.2.0', '--set', `mobility=${file('bad.json', '{"max_speed": 9}')}`, '--json'),
        deploy('--release', 'v1.1.0', '--stage'),
        deploy('--release', 'v1.1.0', '--set', 'mobility'),
      ]);
    expect(schemaChanged.code).toBe(1);
    expect(schemaChanged.stderr).toContain('(invalid_deploy_plan)');
    expect(schemaChanged.stderr).toContain(
      "nothing to carry over for mobility (the current deployment has no instance of the release's schema): give --set mobility=FILE",
    );
    expect(unknownType.code).toBe(1);
    expect(unknownType.stderr).toContain("No config type has the id or slug 'lidar'. (unknown_reference)");
    expect(notInRelease.code).toBe(1);
    expect(notInRelease.stderr).toContain(
      'no schema of the release is for config type navigation (its config types: mobility, perception)',
    );
    // The server's per-path 422, one line per violation, and which --set it was.
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/✗ mobility: \S+bad\.json is not valid for schema cfg_sch_\w+/);
    expect(invalid.stderr).toMatch(/HTTP 422\)\n/);
    expect(invalid.stderr).toMatch(/^ {4}- \/max_speed: /m);
    expect(JSON.parse(invalidJson.stderr).error.params.errors[0].path).toBe('/max_speed');
    expect(stageCurrent.code).toBe(1);
    expect(stageCurrent.stderr).toContain('(release_is_current)');
    expect(noEquals.code).toBe(2);
    expect(noEquals.stderr).toContain("--set 'mobility' is not TYPE=FILE");
    expect(await deploymentsOf()).toHaveLength(deployments.length);
    expect(await instancesOf(sMob1)).toHaveLength(mob1.length);
    expect(await instancesOf(sMob2)).toHaveLength(mob2.length);
  });

  it('an upgrade stages then deploys, carrying over the unchanged schema; --stage only stages', async () => {
    const before = await current();
    const perception = before.config_instances!.find((i) => i.config_schema_id === sPer)!.id;
    const res = await deployWait(
      '--release',
      'v1.2.0',
      '--set',
      `mobility=${file('m3.json', '{"max_speed": 2.5}\n')}`,
    );
    ok(res);
    expect(res.stdout).toMatch(/^✓ Staged dpl_\w+$/m);
    const after = await current();
    expect(after.release_id).toBe(v12);
    expect(after.config_instances!.map((i) => i.id)).toContain(perception);
    expect(after.status).toBe('deployed');
    expect(onRobot('srv/bosun/configs/mobility.json')).toBe('{"max_speed": 2.5}\n');
    expect(onRobot('srv/bosun/configs/perception.json')).toBe('{"lidar": true}\n');
    const events = await sdk.deployments.events(after.id);
    expect(events.data.map((e) => e.to.status).slice(0, 2)).toEqual(['staged', 'queued']);

    // Back to v1.1.0, staged only: the first mobility content is reused, perception carried over.
    const first = (await sdk.configInstances.listAll({ config_schema_id: sMob1, expand: ['content'] })).find(
      (i) => i.content?.data === '{"max_speed": 1.5}\n',
    );
    const staged = await w.json([
      'deploy',
      '--device',
      'amr-017',
      '--release',
      'v1.1.0',
      '--set',
      `mobility=${join(dir, 'm1.json')}`,
      '--stage',
      '-d',
      'roll back later',
    ]);
    expect(staged).toMatchObject({ status: 'staged', release_id: v11, description: 'roll back later' });
    const full = await sdk.deployments.get(staged.id, { expand: ['config_instances'] });
    expect(full.config_instances!.map((i) => i.id).sort()).toEqual([first!.id, perception].sort());
    expect((await current()).id).toBe(after.id);
  });
});
