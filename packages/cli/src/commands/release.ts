import { isReleaseVersion, releaseVersionKey } from '@bosun/core';
import {
  BosunApiError,
  type BosunClient,
  type ConfigSchema,
  type ConfigType,
  type Release,
} from '@bosun/sdk';
import { type Command, Option } from 'commander';
import { connect, jsonOption, run, UsageError } from '../api.ts';
import { readGitState, repoPath } from '../git-repo.ts';
import { printJson } from '../output.ts';
import { createProgress, type Progress } from '../progress.ts';
import { collectSchemaFiles, loadSchemaUnits, type SchemaUnit } from '../schema-files.ts';

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function registerReleaseCommand(program: Command): void {
  const release = program.command('release').description('Publish releases from a git repository');
  release
    .command('create')
    .description(
      'Publish the schemas of the current git commit as a release: pushes the git commit, creates missing config types and the schemas, then the release. Idempotent: an identical re-run creates nothing and exits 0.',
    )
    .requiredOption(
      '-v, --version <version>',
      'release version, e.g. v1.2.0 (1–3 numbers, optional -pre and +build)',
    )
    .addOption(
      new Option(
        '--schemas <dir>',
        'directory scanned (recursively) for .json/.yaml/.yml/.cue schemas; repeatable',
      ).argParser(collect),
    )
    .addOption(new Option('--schema <file>', 'one schema file; repeatable').argParser(collect))
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
Annotations read from each schema:
  JSON Schema (.json, .yaml, .yml)  "x-miru-config-type": "<slug>", "x-miru-instance-filepath": "/abs/path"
  CUE (.cue)                        @miru(config_type="<slug>", instance_filepath="/abs/path")
CUE files are grouped by directory and package; exactly one file per package carries @miru(...).
The schema files must be committed (no local changes) in a git repository with an origin remote.

API key scopes: git_commits:manage, config_types:manage, config_schemas:manage, releases:manage.

Example:
  bosun release create --version v1.4.0 --schemas ./schemas`,
    )
    .action(
      run(async (opts: { version: string; schemas?: string[]; schema?: string[]; json?: boolean }) => {
        const dirs = opts.schemas ?? [];
        const single = opts.schema ?? [];
        if (!isReleaseVersion(opts.version)) {
          throw new UsageError(
            `--version '${opts.version}' is not a release version (e.g. v1.2.0, 2.1, 4.3.2-rc.1).`,
          );
        }
        if (dirs.length === 0 && single.length === 0) {
          throw new UsageError('give at least one --schemas DIR or --schema FILE.');
        }
        const files = collectSchemaFiles(single, dirs);
        const units = loadSchemaUnits(files);
        if (units.length === 0) throw new Error('no schema files found.');
        const git = readGitState(files);
        const client = connect();
        const progress = createProgress({ quiet: opts.json });
        try {
          const result = await createRelease(client, progress, opts.version, units, git);
          if (opts.json) printJson(result);
        } finally {
          progress.stop();
        }
      }),
    );
}

export interface GitInfo {
  root: string;
  sha: string;
  message: string;
  origin: string;
}

/**
 * The release flow (docs/decisions.md, "Publishing a release"), each step reporting whether it created
 * or found its object. `git` is null only for `bosun demo`, whose examples need not sit in a git
 * repository with an origin: the release then records no git commit.
 */
export async function createRelease(
  client: BosunClient,
  progress: Progress,
  version: string,
  units: SchemaUnit[],
  git: GitInfo | null,
) {
  let commit: Awaited<ReturnType<BosunClient['gitCommits']['create']>> | null = null;
  let commitExisted = false;
  if (git) {
    progress.start(`Pushing git commit ${git.sha.slice(0, 7)}`);
    // The create is idempotent (same sha, same repository); whether it existed is told by looking first.
    const before = new Set((await client.gitCommits.listAll({ sha: git.sha })).map((c) => c.id));
    commit = await client.gitCommits.create({ sha: git.sha, message: git.message, origin: git.origin });
    commitExisted = before.has(commit.id);
    progress.succeed(`Pushed git commit (${commitExisted ? 'existed' : 'new'})`);
    progress.info(`${commit.sha.slice(0, 7)} · ${commit.repository_owner}/${commit.repository_name}`);
  }

  const createdTypes: ConfigType[] = [];
  const schemas: { existed: boolean; schema: ConfigSchema }[] = [];
  for (const unit of units) {
    const slug = unit.annotations.configType;
    progress.start(`Config type ${slug}`);
    let [type] = await client.configTypes.listAll({ slug });
    let knownSchemaIds = new Set<string>();
    if (!type) {
      type = await createConfigType(client, slug, unit.title);
      createdTypes.push(type);
      progress.succeed(`Created config type ${type.name} (${type.slug})`);
    } else {
      knownSchemaIds = new Set(
        (await client.configSchemas.listAll({ config_type_id: type.id })).map((s: { id: string }) => s.id),
      );
    }
    progress.start(`${type.name} · uploading ${unit.documents.map((d) => d.name).join(', ')}`);
    const schema = await client.configSchemas.create({
      config_type_ref: { id: type.id },
      language: unit.language,
      format: unit.format,
      documents: unit.documents,
      ...(unit.annotations.instanceFilepath ? { instance_filepath: unit.annotations.instanceFilepath } : {}),
      ...(commit && git
        ? {
            git_commit: {
              commit_ref: { id: commit.id },
              schema_filepaths: unit.files.map((f) => repoPath(git.root, f)),
            },
          }
        : {}),
    });
    const existed = knownSchemaIds.has(schema.id);
    schemas.push({ existed, schema });
    progress.succeed(`${type.name} · ${schema.id} (${existed ? 'existed' : 'new'})`);
  }

  const schemaIds = schemas.map((s) => s.schema.id);
  progress.start(`Creating release ${version}`);
  let release = await findRelease(client, version);
  let releaseExisted = false;
  if (release) {
    checkIdentical(release, version, schemaIds, commit?.id ?? null);
    releaseExisted = true;
  } else {
    try {
      release = await client.releases.create({
        version,
        config_schema_ids: schemaIds,
        ...(commit ? { git_commit_ref: { id: commit.id } } : {}),
      });
    } catch (err) {
      // Another run created it between our look and our create: identical is still success.
      const raced =
        err instanceof BosunApiError && err.status === 409 ? await findRelease(client, version) : null;
      if (!raced) throw err;
      checkIdentical(raced, version, schemaIds, commit?.id ?? null);
      release = raced;
      releaseExisted = true;
    }
  }
  progress.succeed(releaseExisted ? `Release ${version} existed (identical)` : `Created release ${version}`);
  return {
    git_commit: commit ? { ...commit, existed: commitExisted } : null,
    config_types_created: createdTypes,
    config_schemas: schemas.map((s) => ({ ...s.schema, existed: s.existed })),
    release: { ...release, existed: releaseExisted },
  };
}

async function createConfigType(client: BosunClient, slug: string, title: string | undefined) {
  try {
    return await client.configTypes.create({ name: title ?? slug, slug });
  } catch (err) {
    // The title may already name another type; the slug is unique by itself.
    if (title && err instanceof BosunApiError && err.status === 409) {
      return client.configTypes.create({ name: slug, slug });
    }
    throw err;
  }
}

/** The release with this version (`v1.2.0` and `1.2.0` are the same), with its schemas. */
async function findRelease(client: BosunClient, version: string): Promise<Release | null> {
  const key = releaseVersionKey(version);
  const [found] = await client.releases.listAll({ version: [key, `v${key}`] });
  if (!found) return null;
  return client.releases.get(found.id, { expand: ['config_schemas'] });
}

function checkIdentical(
  release: Release,
  version: string,
  schemaIds: string[],
  commitId: string | null,
): void {
  const theirs = (release.config_schemas ?? []).map((s) => s.id).sort();
  const ours = [...schemaIds].sort();
  const sameSchemas = theirs.length === ours.length && theirs.every((id, i) => id === ours[i]);
  if (sameSchemas && (release.git_commit_id ?? null) === commitId) return;
  const why = !sameSchemas
    ? `its schemas are ${theirs.join(', ') || 'none'}, these are ${ours.join(', ')}`
    : `it was made from git commit ${release.git_commit_id ?? 'none'}, this is ${commitId ?? 'none'}`;
  throw new Error(
    `release ${version} already exists (${release.id}) and differs: ${why}. Use a new version.`,
  );
}
