import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BosunClient } from '@bosun/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliWorld, fixtureRepo, git, startCliWorld } from './cli-api-support.ts';

let w: CliWorld;
let sdk: BosunClient;
let repo: string;

beforeAll(async () => {
  w = await startCliWorld();
  sdk = new BosunClient({ baseUrl: w.t.url, apiKey: w.t.adminKey });
  repo = fixtureRepo();
}, 300_000);
afterAll(async () => {
  await w?.close();
});

/** How many of each object the server holds, to prove a command created nothing. */
async function counts() {
  const [commits, types, schemas, releases] = await Promise.all([
    sdk.gitCommits.listAll(),
    sdk.configTypes.listAll(),
    sdk.configSchemas.listAll(),
    sdk.releases.listAll(),
  ]);
  return { commits: commits.length, types: types.length, schemas: schemas.length, releases: releases.length };
}

const SCHEMA_LINE = /^✓ (\S+) · (cfg_sch_\w+) \((new|existed)\)$/gm;

describe('bosun release create', { timeout: 600_000 }, () => {
  it('publishes JSON Schema (JSON, YAML) and CUE schemas from a git repo, then finds them existing', async () => {
    const first = await w.bosun(['release', 'create', '--version', 'v1.0.0', '--schemas', 'schemas'], {
      cwd: repo,
    });
    expect(first.code, first.stderr).toBe(0);
    const sha = git(repo, 'rev-parse', 'HEAD').trim();
    expect(first.stdout).toContain('✓ Pushed git commit (new)\n');
    expect(first.stdout).toContain(`  ${sha.slice(0, 7)} · acme/robot-configs\n`);
    const created = [...first.stdout.matchAll(SCHEMA_LINE)].map((m) => [m[1], m[3]]);
    expect(created).toEqual([
      ['Mobility', 'new'],
      ['Perception', 'new'],
      ['safety', 'new'],
    ]);
    expect(first.stdout).toMatch(/✓ Created release v1\.0\.0\n$/);

    const [release] = await sdk.releases.listAll({ version: 'v1.0.0' });
    const full = await sdk.releases.get(release!.id, { expand: ['config_schemas'] });
    const commit = await sdk.gitCommits.get(full.git_commit_id!);
    expect(commit).toMatchObject({ sha, repository_owner: 'acme', repository_name: 'robot-configs' });
    expect(commit.message).toBe('Robot configs: mobility, perception, safety');
    const bySlug = new Map<string, any>();
    for (const s of full.config_schemas ?? []) {
      bySlug.set(s.config_type_name, await sdk.configSchemas.get(s.id, { expand: ['documents'] }));
    }
    expect(bySlug.get('Mobility')).toMatchObject({
      language: 'jsonschema',
      format: 'json',
      instance_filepath: '/srv/bosun/configs/mobility.json',
    });
    expect(bySlug.get('Perception')).toMatchObject({ language: 'jsonschema', format: 'yaml' });
    const safety = bySlug.get('safety');
    expect(safety).toMatchObject({
      language: 'cue',
      format: 'cue',
      instance_filepath: '/srv/bosun/configs/safety.json',
    });
    // The CUE package is one schema of two documents, the annotated file first.
    expect(safety.documents.map((d: any) => d.name)).toEqual(['safety.cue', 'estop.cue', 'zones.cue']);
    expect((await sdk.configTypes.listAll()).map((t) => t.slug).sort()).toEqual([
      'mobility',
      'perception',
      'safety',
    ]);

    const before = await counts();
    const again = await w.bosun(['release', 'create', '--version', 'v1.0.0', '--schemas', 'schemas'], {
      cwd: repo,
    });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('✓ Pushed git commit (existed)\n');
    expect([...again.stdout.matchAll(SCHEMA_LINE)].map((m) => [m[1], m[2], m[3]])).toEqual(
      [...first.stdout.matchAll(SCHEMA_LINE)].map((m) => [m[1], m[2], 'existed']),
    );
    expect(again.stdout).toContain('✓ Release v1.0.0 existed (identical)\n');
    expect(again.stdout).not.toContain('Created');
    expect(await counts()).toEqual(before);
  });

  it('--json reports each object and whether it existed; a new version reuses the schemas', async () => {
    const before = await counts();
    const out = await w.json(
      [
        'release',
        'create',
        '--version',
        '1.1.0',
        '--schema',
        'schemas/mobility.schema.json',
        '--schema',
        'schemas/safety/zones.cue',
      ],
      { cwd: repo },
    );
    expect(out.git_commit.existed).toBe(true);
    expect(out.config_types_created).toEqual([]);
    expect(out.config_schemas.map((s: any) => [s.config_type_name, s.existed])).toEqual([
      ['Mobility', true],
      ['safety', true],
    ]);
    expect(out.release).toMatchObject({ object: 'release', version: '1.1.0', existed: false });
    expect(await counts()).toEqual({ ...before, releases: before.releases + 1 });
  });

  it('a changed schema in a new commit is a new schema; the same version with other content is refused', async () => {
    const file = join(repo, 'schemas', 'mobility.schema.json');
    const doc = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
    doc.properties.limits.properties.max_speed_mps.maximum = 2.0;
    writeFileSync(file, JSON.stringify(doc, null, 2));
    git(repo, 'commit', '-qam', 'Slower robots');
    const res = await w.bosun(['release', 'create', '--version', 'v1.2.0', '--schemas', 'schemas'], {
      cwd: repo,
    });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('✓ Pushed git commit (new)\n');
    expect([...res.stdout.matchAll(SCHEMA_LINE)].map((m) => [m[1], m[3]])).toEqual([
      ['Mobility', 'new'],
      ['Perception', 'existed'],
      ['safety', 'existed'],
    ]);

    const before = await counts();
    const clash = await w.bosun(['release', 'create', '--version', '1.0.0', '--schemas', 'schemas'], {
      cwd: repo,
    });
    expect(clash.code).toBe(1);
    expect(clash.stderr).toMatch(/release 1\.0\.0 already exists \(rls_\w+\) and differs/);
    expect((await counts()).releases).toBe(before.releases);
  });

  it('refuses dirty and untracked schema files, naming them, and creates nothing', async () => {
    const before = await counts();
    appendFileSync(join(repo, 'schemas', 'safety', 'zones.cue'), '\n// local edit\n');
    const dirty = await w.bosun(['release', 'create', '--version', 'v9.0.0', '--schemas', 'schemas'], {
      cwd: repo,
    });
    expect(dirty.code).toBe(1);
    expect(dirty.stderr).toContain('uncommitted changes: schemas/safety/zones.cue');
    git(repo, 'checkout', '--', 'schemas/safety/zones.cue');

    writeFileSync(
      join(repo, 'schemas', 'extra.schema.json'),
      JSON.stringify({ 'x-miru-config-type': 'extra', type: 'object' }),
    );
    const untracked = await w.bosun(['release', 'create', '--version', 'v9.0.0', '--schemas', 'schemas'], {
      cwd: repo,
    });
    expect(untracked.code).toBe(1);
    expect(untracked.stderr).toContain('not committed (untracked): schemas/extra.schema.json');
    git(repo, 'clean', '-qfd', 'schemas');
    expect(await counts()).toEqual(before);
  });

  it('refuses a CUE package without exactly one annotated file, an unannotated JSON Schema, and no origin', async () => {
    const pkg = join(repo, 'schemas', 'twice');
    mkdirSync(pkg);
    writeFileSync(join(pkg, 'a.cue'), 'package twice\n\n@miru(config_type="twice")\n\na: int\n');
    writeFileSync(join(pkg, 'b.cue'), 'package twice\n\n@miru(config_type="twice")\n\nb: int\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'Two annotated files');
    const twice = await w.bosun(['release', 'create', '--version', 'v9.0.0', '--schemas', 'schemas/twice'], {
      cwd: repo,
    });
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('CUE package twice');
    expect(twice.stderr).toContain(
      'exactly one file must carry @miru(config_type=...), found 2 (a.cue, b.cue)',
    );

    const bare = join(repo, 'bare.schema.json');
    writeFileSync(bare, '{"type":"object"}');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'Unannotated');
    const unannotated = await w.bosun(
      ['release', 'create', '--version', 'v9.0.0', '--schema', 'bare.schema.json'],
      {
        cwd: repo,
      },
    );
    expect(unannotated.code).toBe(1);
    expect(unannotated.stderr).toContain('missing x-miru-config-type');

    const noOrigin = fixtureRepo();
    git(noOrigin, 'remote', 'remove', 'origin');
    const res = await w.bosun(['release', 'create', '--version', 'v9.0.0', '--schemas', 'schemas'], {
      cwd: noOrigin,
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('no remote named origin');
    expect((await sdk.releases.listAll({ version: 'v9.0.0' })).length).toBe(0);
  });

  it('usage errors exit 2: a bad version, no schema option, a missing --version', async () => {
    const [badVersion, noSchemas, noVersion] = await Promise.all([
      w.bosun(['release', 'create', '--version', '1.02', '--schemas', 'schemas'], { cwd: repo }),
      w.bosun(['release', 'create', '--version', 'v3.0.0'], { cwd: repo }),
      w.bosun(['release', 'create', '--schemas', 'schemas'], { cwd: repo }),
    ]);
    expect(badVersion.code).toBe(2);
    expect(badVersion.stderr).toContain("--version '1.02' is not a release version");
    expect(noSchemas.code).toBe(2);
    expect(noSchemas.stderr).toContain('give at least one --schemas DIR or --schema FILE');
    expect(noVersion.code).toBe(2);
    expect(noVersion.stderr).toContain("required option '-v, --version <version>' not specified");
  });

  it('with a key that lacks a scope the API error is printed from the envelope (exit 1)', async () => {
    const key = await w.t.keyWith('git_commits:manage', 'config_types:manage', 'config_schemas:manage');
    const res = await w.bosun(['release', 'create', '--version', 'v7.0.0', '--schemas', 'schemas'], {
      cwd: fixtureRepo(),
      env: { BOSUN_API_KEY: key },
    });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('Using the API key from BOSUN_API_KEY.');
    expect(res.stderr).toMatch(/error: .*HTTP 403\)/);
  });
});
