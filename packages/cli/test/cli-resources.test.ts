import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BosunClient } from '@bosun/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedIssues } from '../../../test/support/robot-configs.ts';
import { type CliWorld, FIXTURES, startCliWorld } from './cli-api-support.ts';

let w: CliWorld;
let sdk: BosunClient;
let schema1: string;
let schema2: string;
let v1: string;
let v2: string;

const fixture = (p: string) => join(FIXTURES, p);
/** Table rows of a command's stdout (header first), split on runs of 2+ spaces. */
const rows = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));
const ok = (res: { code: number | null; stderr: string }) => expect(res.code, res.stderr).toBe(0);

beforeAll(async () => {
  w = await startCliWorld();
  sdk = new BosunClient({ baseUrl: w.t.url, apiKey: w.t.adminKey });
  const text = readFileSync(fixture('schemas/mobility.schema.json'), 'utf8');
  const type = await sdk.configTypes.create({ name: 'Mobility', slug: 'mobility' });
  const documents = [{ name: 'mobility.schema.json', data: text }];
  schema1 = (
    await sdk.configSchemas.create({
      config_type_ref: { id: type.id },
      language: 'jsonschema',
      format: 'json',
      documents,
    })
  ).id;
  schema2 = (
    await sdk.configSchemas.create({
      config_type_ref: { id: type.id },
      language: 'jsonschema',
      format: 'json',
      instance_filepath: '/srv/bosun/configs/mobility-next.json',
      documents,
    })
  ).id;
  v1 = (await sdk.releases.create({ version: 'v1.0.0', config_schema_ids: [schema1] })).id;
  v2 = (await sdk.releases.create({ version: 'v2.0.0', config_schema_ids: [schema2] })).id;
}, 300_000);
afterAll(async () => {
  await w?.close();
});

describe('bosun resource commands (table and --json)', { timeout: 600_000 }, () => {
  it('config-types create, list, get, update', async () => {
    const [table, json] = await Promise.all([
      w.bosun(['config-types', 'create', '--name', 'Navigation', '--slug', 'navigation']),
      w.json(['config-types', 'create', '--name', 'Lidar', '--slug', 'lidar']),
    ]);
    ok(table);
    expect(table.stdout).toMatch(/^ID +cfg_typ_\w+\nNAME +Navigation\nSLUG +navigation\nCREATED +\S+\n$/);
    expect(json).toMatchObject({ object: 'config_type', name: 'Lidar', slug: 'lidar' });

    const [list, listJson, get, getJson, update, noChange] = await Promise.all([
      w.bosun(['config-types', 'list']),
      w.json(['config-types', 'list', '--slug', 'lidar', 'navigation']),
      w.bosun(['config-types', 'get', json.id]),
      w.json(['config-types', 'get', json.id]),
      w.json(['config-types', 'update', json.id, '--name', 'Lidar 3D']),
      w.bosun(['config-types', 'update', json.id]),
    ]);
    ok(list);
    expect(rows(list.stdout)[0]).toEqual(['ID', 'NAME', 'SLUG', 'CREATED']);
    expect(
      rows(list.stdout)
        .map((r) => r[2])
        .slice(1)
        .sort(),
    ).toEqual(['lidar', 'mobility', 'navigation']);
    expect(listJson.object).toBe('list');
    expect(listJson.data.map((t: any) => t.slug).sort()).toEqual(['lidar', 'navigation']);
    expect(get.stdout).toContain(`ID       ${json.id}\n`);
    expect(getJson).toMatchObject({ id: json.id, slug: 'lidar', created_at: json.created_at });
    expect(update.name).toBe('Lidar 3D');
    expect(noChange.code).toBe(2);
    expect(noChange.stderr).toContain('give --name and/or --slug');
  });

  it('schemas list and get (with documents)', async () => {
    const [list, listJson, get, getJson] = await Promise.all([
      w.bosun(['schemas', 'list']),
      w.json(['schemas', 'list', '--id', schema2]),
      w.bosun(['schemas', 'get', schema1, '--documents']),
      w.json(['schemas', 'get', schema2, '--documents']),
    ]);
    ok(list);
    expect(rows(list.stdout)[0]).toEqual([
      'ID',
      'CONFIG TYPE',
      'LANGUAGE',
      'FORMAT',
      'INSTANCE PATH',
      'CREATED',
    ]);
    expect(
      rows(list.stdout)
        .slice(1)
        .map((r) => r[0])
        .sort(),
    ).toEqual([schema1, schema2].sort());
    expect(listJson.data.map((s: any) => s.id)).toEqual([schema2]);
    ok(get);
    expect(get.stdout).toContain(`DIGEST          sha256:`);
    expect(get.stdout).toContain(
      `--- mobility.schema.json\n${readFileSync(fixture('schemas/mobility.schema.json'), 'utf8')}`,
    );
    expect(getJson).toMatchObject({
      object: 'config_schema',
      id: schema2,
      instance_filepath: '/srv/bosun/configs/mobility-next.json',
    });
    expect(getJson.documents[0].name).toBe('mobility.schema.json');
  });

  it('instances create (valid, invalid), list, get, content', async () => {
    const content = readFileSync(fixture('instances/mobility.valid-tugger.json'), 'utf8');
    const [table, json, invalid, invalidJson] = await Promise.all([
      w.bosun([
        'instances',
        'create',
        '--schema',
        schema1,
        '--file',
        fixture('instances/mobility.valid-tugger.json'),
      ]),
      w.json([
        'instances',
        'create',
        '--schema',
        schema2,
        '--file',
        fixture('instances/mobility.valid-tugger.json'),
      ]),
      w.bosun([
        'instances',
        'create',
        '--schema',
        schema1,
        '--file',
        fixture('instances/mobility.invalid-overspeed.json'),
      ]),
      w.bosun([
        'instances',
        'create',
        '--schema',
        schema1,
        '--file',
        fixture('instances/mobility.invalid-overspeed.json'),
        '--json',
      ]),
    ]);
    ok(table);
    const id = /^ID +(cfg_inst_\w+)$/m.exec(table.stdout)![1]!;
    expect(table.stdout).toMatch(/^FILEPATH +\/srv\/bosun\/configs\/mobility\.json$/m);
    expect(json).toMatchObject({ object: 'config_instance', config_schema_id: schema2 });
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error: .*HTTP 422\)$/m);
    // Each violation on its own line, by path.
    for (const { path } of expectedIssues('mobility.invalid-overspeed.json'))
      expect(invalid.stderr.split('\n')).toContainEqual(
        expect.stringMatching(new RegExp(`^ {4}- ${path}: `)),
      );
    expect(invalid.stdout).toBe('');
    expect(invalidJson.code).toBe(1);
    expect(JSON.parse(invalidJson.stderr).error.code).toBeTruthy();

    const [list, listJson, get, getJson, raw, missingFile] = await Promise.all([
      w.bosun(['instances', 'list', '--schema', schema1]),
      w.json(['instances', 'list', '--all']),
      w.bosun(['instances', 'get', id]),
      w.json(['instances', 'get', json.id]),
      w.bosun(['instances', 'content', id]),
      w.bosun(['instances', 'create', '--schema', schema1, '--file', '/nonexistent/file.json']),
    ]);
    expect(
      rows(list.stdout)
        .slice(1)
        .map((r) => r[0]),
    ).toEqual([id]);
    expect(listJson.data.map((i: any) => i.id).sort()).toEqual([id, json.id].sort());
    expect(get.stdout).toContain(`SCHEMA       ${schema1}`);
    expect(getJson.id).toBe(json.id);
    expect(raw.stdout).toBe(content);
    expect(missingFile.code).toBe(2);
  });

  it('releases list and get', async () => {
    const [list, listJson, get, getJson] = await Promise.all([
      w.bosun(['releases', 'list']),
      w.json(['releases', 'list', '--version', 'v2.0.0']),
      w.bosun(['releases', 'get', v1]),
      w.json(['releases', 'get', v2]),
    ]);
    ok(list);
    expect(rows(list.stdout)[0]).toEqual(['ID', 'VERSION', 'GIT COMMIT', 'CREATED']);
    expect(
      rows(list.stdout)
        .slice(1)
        .map((r) => r[1])
        .sort(),
    ).toEqual(['v1.0.0', 'v2.0.0']);
    expect(listJson.data.map((r: any) => r.id)).toEqual([v2]);
    expect(get.stdout).toMatch(
      new RegExp(`^${schema1} +Mobility +jsonschema +/srv/bosun/configs/mobility.json$`, 'm'),
    );
    expect(getJson.config_schemas.map((s: any) => s.id)).toEqual([schema2]);
  });

  it('devices create, list, get, rename, activation-token, ping', async () => {
    const [table, json] = await Promise.all([
      w.bosun(['devices', 'create', 'amr-001']),
      w.json(['devices', 'create', 'amr-002']),
    ]);
    ok(table);
    const id = /^ID +(dvc_\w+)$/m.exec(table.stdout)![1]!;
    expect(table.stdout).toMatch(/^STATUS +inactive$/m);
    expect(json).toMatchObject({ object: 'device', name: 'amr-002', status: 'inactive' });

    const [list, listJson, get, rename, token, tokenJson, ping, pingJson, duplicate] = await Promise.all([
      w.bosun(['devices', 'list']),
      w.json(['devices', 'list', '--name', 'amr-001', '--limit', '1']),
      w.bosun(['devices', 'get', id]),
      w.json(['devices', 'rename', json.id, 'amr-002b']),
      w.bosun(['devices', 'activation-token', id]),
      w.json(['devices', 'activation-token', json.id, '--allow-reactivation']),
      w.bosun(['devices', 'ping', id, '--timeout', '100ms']),
      w.bosun(['devices', 'ping', id, '--timeout', '100ms', '--json']),
      w.bosun(['devices', 'create', 'amr-001']),
    ]);
    expect(rows(list.stdout)[0]).toEqual([
      'ID',
      'NAME',
      'STATUS',
      'GROUP',
      'TAGS',
      'AGENT',
      'LAST CONNECTED',
      'CREATED',
    ]);
    expect(list.stdout).toContain('amr-001');
    expect(listJson).toMatchObject({ object: 'list', limit: 1, data: [{ name: 'amr-001' }] });
    expect(get.stdout).toMatch(/^NAME +amr-001$/m);
    expect(rename.name).toBe('amr-002b');
    expect(token.stdout).toMatch(
      /^TOKEN +\S+\nEXPIRES +\S+\nINSTALL +curl -fsSL \S+\/install\.sh \| sudo sh -s -- --token '\S+'\n$/,
    );
    const issued = /^TOKEN +(\S+)$/m.exec(token.stdout)![1]!;
    expect(token.stdout).toContain(`${w.t.url}/install.sh | sudo sh -s -- --token '${issued}'`);
    expect(Date.parse(tokenJson.expires_at)).toBeGreaterThan(Date.now());
    // Nobody answers: a timeout is reported and exits 1 so scripts can tell.
    expect(ping.code).toBe(1);
    expect(ping.stdout).toBe('timeout: no answer within 100 ms\n');
    expect(JSON.parse(pingJson.stdout)).toEqual({ code: 'timeout' });
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toMatch(/HTTP 409\)/);
  });

  it('deployments create, list, get, drifts, restage, deploy, archive, events', async () => {
    const device = await sdk.devices.create({ name: 'amr-deploy' });
    const content = readFileSync(fixture('instances/mobility.valid-tugger.json'), 'utf8');
    const i1 = await sdk.configInstances.create({
      config_schema_id: schema1,
      content: { format: 'json', data: content },
    });
    const i2 = await sdk.configInstances.create({
      config_schema_id: schema2,
      content: { format: 'json', data: content },
    });
    const base = ['deployments', 'create', '--device', device.id];

    const first = await w.bosun([...base, '--release', v1, '--instance', i1.id, '-d', 'first']);
    ok(first);
    const a = /^ID +(dpl_\w+)$/m.exec(first.stdout)![1]!;
    expect(first.stdout).toMatch(/^STATUS +queued$/m);
    const staged = await w.json([
      ...base,
      '--release',
      v2,
      '--instance',
      i2.id,
      '-d',
      'upgrade',
      '--target',
      'staged',
    ]);
    expect(staged).toMatchObject({ object: 'deployment', status: 'staged', target_status: 'staged' });
    const patch = await w.json([...base, '--release', v1, '--instance', i1.id, '-d', 'patch', '--parent', a]);
    expect(patch.status).toBe('queued');

    const [list, listJson, get, getJson, drifts, driftsJson] = await Promise.all([
      w.bosun(['deployments', 'list', '--device', device.id]),
      w.json(['deployments', 'list', '--device', device.id, '--activity-status', 'drifted']),
      w.bosun(['deployments', 'get', a]),
      w.json(['deployments', 'get', staged.id]),
      w.bosun(['deployments', 'drifts', staged.id]),
      w.json(['deployments', 'drifts', staged.id]),
    ]);
    expect(rows(list.stdout)[0]).toEqual([
      'ID',
      'DEVICE',
      'RELEASE',
      'STATUS',
      'TARGET',
      'DESCRIPTION',
      'CREATED',
    ]);
    expect(
      rows(list.stdout)
        .slice(1)
        .map((r) => r[0])
        .sort(),
    ).toEqual([a, staged.id, patch.id].sort());
    // Names next to ids: the device's name and the release's version, not their ids.
    expect(
      rows(list.stdout)
        .slice(1)
        .map((r) => `${r[1]} ${r[2]}`)
        .sort(),
    ).toEqual(['amr-deploy v1.0.0', 'amr-deploy v1.0.0', 'amr-deploy v2.0.0']);
    expect(get.stdout).toMatch(/^DEVICE +amr-deploy\n/m);
    expect(get.stdout).toContain(`DEVICE ID    ${device.id}\n`);
    expect(listJson.data.map((d: any) => d.id)).toEqual([staged.id]);
    expect(get.stdout).toMatch(new RegExp(`^${i1.id} +Mobility +/srv/bosun/configs/mobility.json$`, 'm'));
    expect(getJson.status).toBe('drifted');
    expect(
      rows(drifts.stdout)
        .slice(1)
        .map((r) => r[0]),
    ).toEqual([patch.id]);
    expect(driftsJson.data.map((d: any) => d.id)).toEqual([patch.id]);

    const deployDrifted = await w.bosun(['deployments', 'deploy', staged.id]);
    expect(deployDrifted.code).toBe(1);
    expect(deployDrifted.stderr).toMatch(/HTTP 409\)/);
    const restaged = await w.bosun(['deployments', 'restage', staged.id]);
    expect(restaged.stdout).toMatch(/^STATUS +staged$/m);
    const deployed = await w.json(['deployments', 'deploy', staged.id]);
    expect(deployed.status).toBe('queued');
    const other = await sdk.deployments.create({
      device_id: device.id,
      release_id: v1,
      config_instance_ids: [i1.id],
      description: 'to archive',
      target_status: 'staged',
    } as any);
    const [archived, events, eventsJson] = await Promise.all([
      w.json(['deployments', 'archive', other.id]),
      w.bosun(['deployments', 'events', staged.id]),
      w.json(['deployments', 'events', staged.id]),
    ]);
    expect(archived.status).toBe('archived');
    expect(rows(events.stdout)[0]).toEqual(['AT', 'ACTOR', 'FROM', 'TO', 'ATTEMPT', 'MESSAGE']);
    // The creation event has no FROM; the JSON form below pins every status.
    expect(events.stdout.trimEnd().split('\n')).toHaveLength(5);
    expect(events.stdout).toMatch(/ staged +drifted /);
    expect(eventsJson.data.map((e: any) => e.to.status)).toEqual(['staged', 'drifted', 'staged', 'queued']);
  });

  it('exit codes: 404 and 409 are 1 with the envelope, usage mistakes are 2', async () => {
    const [notFound, notFoundJson, unknownCommand, missingArg, badChoice, badLimit, waitStaged] =
      await Promise.all([
        w.bosun(['devices', 'get', 'dvc_missing']),
        w.bosun(['deployments', 'get', 'dpl_missing', '--json']),
        w.bosun(['devices', 'explode']),
        w.bosun(['devices', 'rename', 'dvc_x']),
        w.bosun(['deployments', 'list', '--target-status', 'sideways']),
        w.bosun(['releases', 'list', '--limit', 'many']),
        w.bosun([
          'deployments',
          'create',
          '--device',
          'd',
          '--release',
          'r',
          '--instance',
          'i',
          '-d',
          'x',
          '--target',
          'staged',
          '--wait',
        ]),
      ]);
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toBe(
      "error: No device with id 'dvc_missing' exists. (resource_not_found, HTTP 404)\n  resource: device\n  id: dvc_missing\n",
    );
    expect(notFoundJson.code).toBe(1);
    expect(JSON.parse(notFoundJson.stderr)).toMatchObject({ error: { code: 'resource_not_found' } });
    expect(notFoundJson.stdout).toBe('');
    for (const res of [unknownCommand, missingArg, badChoice, badLimit, waitStaged]) expect(res.code).toBe(2);
    expect(unknownCommand.stderr).toContain("unknown command 'explode'");
    expect(missingArg.stderr).toContain("missing required argument 'name'");
    expect(badChoice.stderr).toContain("argument 'sideways' is invalid");
    expect(waitStaged.stderr).toContain('--wait needs --target deployed');
  });
});
