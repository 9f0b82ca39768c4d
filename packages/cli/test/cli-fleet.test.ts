import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BosunClient } from '@bosun/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliAgent, type CliWorld, startCliAgent, startCliWorld } from './cli-api-support.ts';

/**
 * `bosun groups`, `bosun devices tag|untag|list --group --tags` and `bosun rollouts` against a real
 * server (and, for `rollouts … --wait`, a real agent): names resolved, tables showing names, `--json`
 * the API objects, bad input a clear error with exit 2 (usage) or 1 (API).
 */
let w: CliWorld;
let sdk: BosunClient;
let agent: CliAgent | undefined;
let agentDevice: string;
let dir: string;

const rows = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.split(/ {2,}/));
const ok = (res: { code: number | null; stderr: string }) => expect(res.code, res.stderr).toBe(0);

/** A release of one schema whose instance goes to `path`; its config type's slug is `slug`. */
async function releaseFor(version: string, slug: string, path: string) {
  const type = await sdk.configTypes.create({ name: slug, slug });
  const schema = await sdk.configSchemas.create({
    config_type_ref: { id: type.id },
    language: 'jsonschema',
    format: 'json',
    instance_filepath: path,
    documents: [{ name: 'schema.json', data: '{"type":"object"}' }],
  });
  return sdk.releases.create({ version, config_schema_ids: [schema.id] });
}

beforeAll(async () => {
  w = await startCliWorld();
  sdk = new BosunClient({ baseUrl: w.t.url, apiKey: w.t.adminKey });
  dir = mkdtempSync(join(tmpdir(), 'bosun-cli-fleet-'));
  for (const name of ['amr-b1', 'amr-b2', 'amr-b3', 'amr-p1']) await sdk.devices.create({ name });
  agentDevice = (await sdk.devices.create({ name: 'amr-live' })).id;
  agent = await startCliAgent(w, agentDevice);
}, 300_000);
afterAll(async () => {
  await agent?.stop();
  await w?.close();
});

describe('bosun groups and tags', { timeout: 600_000 }, () => {
  it('create with --parent NAME, list as a tree, get, rename, move, assign and unassign by name', async () => {
    ok(await w.bosun(['groups', 'create', 'berlin']));
    const hall = await w.json(['groups', 'create', 'hall-1', '--parent', 'berlin']);
    expect(hall).toMatchObject({ object: 'group', name: 'hall-1' });
    const line = await w.json(['groups', 'create', 'line-a', '--parent', 'hall-1']);
    expect(line.parent_id).toBe(hall.id);
    ok(await w.bosun(['groups', 'create', 'paris']));

    const assigned = await w.bosun(['groups', 'assign', 'hall-1', 'amr-b1', 'amr-b2']);
    ok(assigned);
    expect(assigned.stdout).toMatch(/^DEVICES +2$/m);
    ok(await w.bosun(['groups', 'assign', 'line-a', 'amr-b3']));
    ok(await w.bosun(['groups', 'assign', 'paris', 'amr-p1']));

    const [list, listJson, get] = await Promise.all([
      w.bosun(['groups', 'list']),
      w.json(['groups', 'list', '--parent', 'berlin']),
      w.bosun(['groups', 'get', 'hall-1']),
    ]);
    ok(list);
    const table = rows(list.stdout);
    expect(table[0]).toEqual(['ID', 'NAME', 'PARENT', 'PATH', 'DEVICES', 'CREATED']);
    const byName = Object.fromEntries(table.slice(1).map((r) => [r[1], r]));
    expect(byName['line-a']!.slice(2, 5)).toEqual(['hall-1', 'berlin / hall-1 / line-a', '1']);
    expect(byName['hall-1']!.slice(2, 5)).toEqual(['berlin', 'berlin / hall-1', '2']);
    expect(listJson).toMatchObject({
      object: 'list',
      data: [{ id: hall.id, parent_id: expect.any(String) }],
    });
    expect(listJson.data[0]).not.toHaveProperty('path');
    expect(get.stdout).toMatch(/^PARENT +berlin$/m);
    expect(get.stdout).toMatch(/^SUBGROUP +ID\nline-a +grp_\w+$/m);
    expect(get.stdout).toMatch(/^amr-b1 +dvc_\w+ +inactive/m);

    const renamed = await w.json(['groups', 'rename', 'line-a', 'line-b']);
    expect(renamed.name).toBe('line-b');
    const moved = await w.bosun(['groups', 'move', 'line-b', '--parent', 'paris']);
    ok(moved);
    expect(moved.stdout).toMatch(/^PATH +paris \/ line-b$/m);
    const root = await w.json(['groups', 'move', 'line-b', '--root']);
    expect(root.parent_id).toBeNull();
    ok(await w.bosun(['groups', 'move', 'line-b', '--parent', 'hall-1']));

    const unassigned = await w.bosun(['groups', 'unassign', 'hall-1', 'amr-b2']);
    ok(unassigned);
    expect(unassigned.stdout).toMatch(/^DEVICES +1$/m);
    ok(await w.bosun(['groups', 'assign', 'hall-1', 'amr-b2']));
  });

  it('devices tag/untag, and devices list --group NAME --include-subgroups --tags with names in the table', async () => {
    const tagged = await w.bosun(['devices', 'tag', 'amr-b1', 'env=prod', 'site=berlin']);
    ok(tagged);
    expect(tagged.stdout).toMatch(/^GROUP +hall-1\nTAGS +env=prod,site=berlin\n$/m);
    const json = await w.json(['devices', 'tag', 'amr-b2', 'env=prod', 'tier=canary']);
    expect(json).toMatchObject({ object: 'device_membership', tags: { env: 'prod', tier: 'canary' } });
    ok(await w.bosun(['devices', 'tag', 'amr-b3', 'env=dev']));
    ok(await w.bosun(['devices', 'tag', 'amr-p1', 'env=prod', 'site=paris']));
    const untagged = await w.json(['devices', 'untag', 'amr-b2', 'tier', 'absent']);
    expect(untagged.tags).toEqual({ env: 'prod' });

    const [direct, subtree, prod, json2] = await Promise.all([
      w.bosun(['devices', 'list', '--group', 'berlin']),
      w.bosun(['devices', 'list', '--group', 'berlin', '--include-subgroups']),
      w.bosun(['devices', 'list', '--tags', 'env=prod,site in (berlin|paris)']),
      w.json(['devices', 'list', '--group', 'hall-1', 'paris', '--include-subgroups', '--tags', 'env=dev']),
    ]);
    ok(direct);
    expect(rows(direct.stdout)).toEqual([
      ['ID', 'NAME', 'STATUS', 'GROUP', 'TAGS', 'AGENT', 'LAST CONNECTED', 'CREATED'],
    ]);
    const names = (stdout: string) =>
      rows(stdout)
        .slice(1)
        .map((r) => r[1])
        .sort();
    expect(names(subtree.stdout)).toEqual(['amr-b1', 'amr-b2', 'amr-b3']);
    expect(subtree.stdout).toMatch(/amr-b3 +inactive +line-b +env=dev/);
    expect(names(prod.stdout)).toEqual(['amr-b1', 'amr-p1']);
    expect(prod.stdout).toMatch(/amr-p1 +inactive +paris +env=prod,site=paris/);
    expect(json2.data.map((d: any) => d.name)).toEqual(['amr-b3']);
    expect(json2.data[0]).not.toHaveProperty('group_name');
  });

  it('bad input: exit 2 for usage mistakes, exit 1 with the envelope for what the API refuses', async () => {
    const [noEquals, badKey, badSelector, unknownGroup, unknownDevice, moveBoth, moveNone, cycle] =
      await Promise.all([
        w.bosun(['devices', 'tag', 'amr-b1', 'prod']),
        w.bosun(['devices', 'tag', 'amr-b1', 'Bad Key=x', '--json']),
        w.bosun(['devices', 'list', '--tags', 'env in (prod']),
        w.bosun(['devices', 'list', '--group', 'atlantis']),
        w.bosun(['groups', 'assign', 'berlin', 'amr-nobody']),
        w.bosun(['groups', 'move', 'hall-1', '--root', '--parent', 'paris']),
        w.bosun(['groups', 'move', 'hall-1']),
        w.bosun(['groups', 'move', 'berlin', '--parent', 'line-b']),
      ]);
    expect(noEquals.code).toBe(2);
    expect(noEquals.stderr).toContain("'prod' is not a tag: give key=value");
    expect(badKey.code).toBe(1);
    expect(JSON.parse(badKey.stderr)).toMatchObject({ error: { code: 'invalid_tag' } });
    expect(badSelector.code).toBe(1);
    expect(badSelector.stderr).toMatch(/unbalanced parentheses\. \(invalid_selector, HTTP 400\)/);
    expect(unknownGroup.code).toBe(1);
    expect(unknownGroup.stderr).toContain("No group has the id or name 'atlantis'. (unknown_reference)");
    expect(unknownDevice.code).toBe(1);
    expect(unknownDevice.stderr).toContain("'amr-nobody'");
    for (const res of [moveBoth, moveNone]) {
      expect(res.code).toBe(2);
      expect(res.stderr).toContain('give exactly one of --parent GROUP and --root');
    }
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toMatch(/\(group_cycle, HTTP 409\)/);
    // Nothing changed: hall-1 is still under berlin with its two devices.
    const hall = await w.bosun(['groups', 'get', 'hall-1']);
    expect(hall.stdout).toMatch(/^PATH +berlin \/ hall-1$/m);
    expect(hall.stdout).toMatch(/^DEVICES +2$/m);
  });
});

describe('bosun rollouts', { timeout: 600_000 }, () => {
  it('create over a group by name in waves, list, get with waves, pause, resume, abort, events', async () => {
    const release = await releaseFor('v1.0.0', 'mobility', '/srv/bosun/configs/mobility.json');
    const file = join(dir, 'mobility.json');
    writeFileSync(file, '{"max_speed": 1.2}\n');
    const created = await w.bosun([
      'rollouts',
      'create',
      '--release',
      '1.0.0',
      '--set',
      `mobility=${file}`,
      '--group',
      'berlin',
      '--include-subgroups',
      '--wave-size',
      '1',
      '--wave-percent',
      '100',
      '--soak',
      '1m',
      '--max-failure-ratio',
      '0.25',
      '--no-auto-rollback',
    ]);
    ok(created);
    expect(created.stdout).toMatch(/^✓ Release v1\.0\.0 \(rls_\w+\)$/m);
    expect(created.stdout).toMatch(/^✓ mobility: created cfg_inst_\w+ from /m);
    const id = /^ID +(rlt_\w+)$/m.exec(created.stdout)![1]!;
    expect(created.stdout).toMatch(/^RELEASE +v1\.0\.0$/m);
    expect(created.stdout).toMatch(/^SELECTION +groups berlin \(with subgroups\)$/m);
    expect(created.stdout).toMatch(/^STRATEGY +waves 1, 100%; soak 60s; max failure ratio 0\.25$/m);
    expect(created.stdout).toMatch(/^AUTO ROLLBACK +off$/m);

    const json = await w.json(['rollouts', 'get', id]);
    expect(json).toMatchObject({
      object: 'rollout',
      release_id: release.id,
      status: 'running',
      selection: { include_subgroups: true, device_ids: [] },
      strategy: { waves: [{ devices: 1 }, { percent: 100 }], soak_seconds: 60, max_failure_ratio: 0.25 },
      auto_rollback: false,
      waves: [
        { wave: 1, devices: 1 },
        { wave: 2, devices: 2 },
      ],
    });
    // The same content again is the same instance (content-digest idempotent, like `bosun deploy`).
    expect(json.plan.config_instance_ids).toHaveLength(1);

    const [list, get] = await Promise.all([w.bosun(['rollouts', 'list']), w.bosun(['rollouts', 'get', id])]);
    expect(rows(list.stdout)[0]).toEqual([
      'ID',
      'RELEASE',
      'STATUS',
      'WAVE',
      'DEPLOYED',
      'FAILED',
      'IN PROGRESS',
      'PENDING',
      'DESCRIPTION',
      'CREATED',
    ]);
    // No agents on these devices: wave 1's deployment stays in progress, wave 2 waits.
    expect(rows(list.stdout)[1]!.slice(0, 8)).toEqual([id, 'v1.0.0', 'running', '1/2', '0', '0', '1', '2']);
    expect(get.stdout).toMatch(
      /^WAVE +SIZE +DEPLOYED +FAILED +IN PROGRESS +PENDING +SKIPPED\n1\* +1 +0 +0 +1 +0 +0\n2 +2 +0 +0 +0 +2 +0\n$/m,
    );

    const paused = await w.bosun(['rollouts', 'pause', id, '--reason', 'lunch']);
    ok(paused);
    expect(paused.stdout).toMatch(/^STATUS +paused$/m);
    expect(paused.stdout).toMatch(/^REASON +lunch$/m);
    const [listPaused, pauseAgain] = await Promise.all([
      w.json(['rollouts', 'list', '--status', 'paused']),
      w.bosun(['rollouts', 'pause', id]),
    ]);
    expect(listPaused.data.map((r: any) => r.id)).toEqual([id]);
    expect(pauseAgain.code).toBe(1);
    expect(pauseAgain.stderr).toMatch(/HTTP 409\)/);

    // --wait on resume follows until the rollout stops running: nothing delivers, so it gives up.
    const resumed = await w.bosun([
      'rollouts',
      'resume',
      id,
      '--wait',
      '--timeout',
      '1s',
      '--interval',
      '200ms',
    ]);
    expect(resumed.code).toBe(1);
    expect(resumed.stdout).toMatch(/^✓ Rollout rlt_\w+ running, wave 1\/2: 1 in progress · 2 pending$/m);
    expect(resumed.stderr).toMatch(/✗ Gave up waiting after 1000 ms: Rollout rlt_\w+ running/);

    const aborted = await w.json(['rollouts', 'abort', id, '--reason', 'wrong release']);
    expect(aborted).toMatchObject({ id, status: 'aborted', status_reason: 'wrong release' });
    const events = await w.bosun(['rollouts', 'events', id]);
    ok(events);
    expect(rows(events.stdout)[0]).toEqual(['AT', 'TYPE', 'WAVE', 'MESSAGE']);
    expect(rows(events.stdout).map((r) => r[1])).toEqual(
      expect.arrayContaining(['created', 'paused', 'resumed', 'aborted']),
    );
    const eventsJson = await w.json(['rollouts', 'events', id]);
    expect(eventsJson.data.at(-1)).toMatchObject({ object: 'rollout_event', type: 'aborted' });
  });

  it('create --wait follows a real agent to completed (exit 0) and stops at a pause for failures (exit 1)', async () => {
    await sdk.devices.setTags(agentDevice, { tags: { role: 'live' } });
    const good = await releaseFor('v2.0.0', 'live', '/srv/bosun/configs/live.json');
    const content = join(dir, 'live.json');
    writeFileSync(content, '{"live": true}\n');
    const done = await w.bosun([
      'rollouts',
      'create',
      '--release',
      good.id,
      '--set',
      `live=${content}`,
      '--tags',
      'role=live',
      '--wait',
      '--interval',
      '200ms',
    ]);
    expect(done.code, `${done.stderr}\nagent:\n${agent?.log()}`).toBe(0);
    expect(done.stdout).toMatch(/^✓ Rollout rlt_\w+ completed, wave 1\/1: 1 deployed$/m);
    expect(readFileSync(join(agent!.fsRoot, 'srv/bosun/configs/live.json'), 'utf8')).toBe('{"live": true}\n');

    // A directory where the file must go: the agent's apply fails, the wave's failure budget is spent.
    mkdirSync(join(agent!.fsRoot, 'srv/bosun/configs/blocked.json'), { recursive: true });
    const bad = await releaseFor('v3.0.0', 'blocked', '/srv/bosun/configs/blocked.json');
    const failed = await w.bosun([
      'rollouts',
      'create',
      '--release',
      'v3.0.0',
      '--set',
      `blocked=${content}`,
      '--device',
      'amr-live',
      '--wait',
      '--interval',
      '200ms',
      '--json',
    ]);
    expect(failed.code, `${failed.stderr}\nagent:\n${agent?.log()}`).toBe(1);
    const out = JSON.parse(failed.stdout);
    expect(out.rollout).toMatchObject({ release_id: bad.id, status: 'paused', counts: { failed: 1 } });
    expect(out.rollout.status_reason).toEqual(expect.any(String));
    expect(out.statuses.at(-1).status).toBe('paused');
    await w.json(['rollouts', 'abort', out.rollout.id]);
  });

  it('bad input: usage mistakes exit 2, plans and names the API or core refuses exit 1, nothing created', async () => {
    const release = await releaseFor('v4.0.0', 'nav', '/srv/bosun/configs/nav.json');
    await sdk.configTypes.create({ name: 'lidar', slug: 'lidar' });
    const file = join(dir, 'nav.json');
    writeFileSync(file, '{}');
    const base = ['rollouts', 'create', '--release', 'v4.0.0'];
    const [noSelection, noContent, badPercent, badRatio, noRelease, notInRelease, unknownGroup, missingFile] =
      await Promise.all([
        w.bosun([...base, '--set', `nav=${file}`]),
        w.bosun([...base, '--group', 'berlin']),
        w.bosun([...base, '--keep-current', '--group', 'berlin', '--wave-percent', 'ten']),
        w.bosun([...base, '--keep-current', '--group', 'berlin', '--max-failure-ratio', '2']),
        w.bosun(['rollouts', 'create', '--release', 'v9.9.9', '--keep-current', '--group', 'berlin']),
        w.bosun([...base, '--set', `lidar=${file}`, '--group', 'berlin', '--json']),
        w.bosun([...base, '--keep-current', '--group', 'atlantis']),
        w.bosun([...base, '--set', 'nav=/nonexistent/nav.json', '--group', 'berlin']),
      ]);
    expect(noSelection.code).toBe(2);
    expect(noSelection.stderr).toContain('select devices: give --group, --tags and/or --device');
    expect(noContent.code).toBe(2);
    expect(noContent.stderr).toContain('--set TYPE=FILE');
    expect(badPercent.code).toBe(2);
    expect(badPercent.stderr).toContain("'ten' is not a percentage");
    expect(badRatio.code).toBe(2);
    expect(badRatio.stderr).toContain("'2' is not a ratio from 0 to 1");
    expect(noRelease.code).toBe(1);
    expect(noRelease.stderr).toContain("No release has the id or version 'v9.9.9'");
    expect(notInRelease.code).toBe(1);
    expect(JSON.parse(notInRelease.stderr)).toMatchObject({
      error: { code: 'invalid_deploy_plan', params: { not_in_release: ['lidar'] } },
    });
    expect(unknownGroup.code).toBe(1);
    expect(unknownGroup.stderr).toContain("'atlantis'");
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain('cannot read --set /nonexistent/nav.json');
    const zeroWave = await w.bosun([...base, '--keep-current', '--group', 'berlin', '--wave-size', '0']);
    expect(zeroWave.code).toBe(1);
    expect(zeroWave.stderr).toMatch(/\(invalid_strategy, HTTP 400\)/);
    const none = await sdk.rollouts.list({});
    expect(none.data.filter((r) => r.release_id === release.id)).toEqual([]);
  });
});
