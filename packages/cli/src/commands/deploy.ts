import { deployPlanIsNoop, type PlanSchema, planDeploy } from '@bosun/core';
import { BosunApiError, type BosunClient, type Deployment } from '@bosun/sdk';
import type { Command } from 'commander';
import { connect, jsonOption, run, UsageError } from '../api.ts';
import { createProgress, type Progress } from '../progress.ts';
import { resolveRef } from '../refs.ts';
import { showOrWait, type WaitOptions, waitOptions } from './deployments.ts';
import { readContent } from './instances.ts';

type DeployOptions = WaitOptions & {
  device: string;
  release: string;
  set: string[];
  stage?: boolean;
  description?: string;
};

export const collectSets = (value: string, previous: string[]) => [...previous, value];

/**
 * `bosun deploy`: one command for "put this file on that robot" (docs/decisions.md #53). The
 * plan is core's `planDeploy`; underneath are the ordinary tetons calls (list, create instance,
 * create deployment, deploy), so official clients see an ordinary deployment.
 */
export function registerDeployCommand(program: Command): void {
  waitOptions(
    program
      .command('deploy')
      .description(
        "Deploy a release to one device in one step: new content for the config types given with --set, every other type carried over from the device's current deployment",
      )
      .requiredOption('--device <device>', 'device id (dvc_...) or name')
      .requiredOption('--release <release>', 'release id (rls_...) or version (v1.2.0 or 1.2.0)')
      .option(
        '--set <type=file>',
        'new content for a config type: its slug (or id) = a JSON file, - for stdin; repeatable',
        collectSets,
        [],
      )
      .option('--stage', 'only stage it (deploy later with `bosun deployments deploy`)')
      .option('-d, --description <text>', 'why this deployment exists (default: what was set)'),
  )
    .addOption(jsonOption())
    .addHelpText(
      'after',
      `
An instance whose content is byte for byte an existing instance of the same schema is reused, not
created again. A type not given with --set keeps the current deployment's instance when the release
has the same schema for it. An upgrade to another release is staged, then deployed; a change to the
current release is deployed directly.

Examples:
  bosun deploy --device amr-017 --release v1.2.0 --set mobility=./mobility.json --wait
  bosun deploy --device amr-017 --release 1.2.0 --stage`,
    )
    .action(
      run(async (opts: DeployOptions) => {
        if (opts.wait && opts.stage)
          throw new UsageError('--wait needs a deployment that is deployed, not --stage.');
        const sets = opts.set.map(parseSet);
        const progress = createProgress({ quiet: opts.json });
        try {
          await deploy(connect(), progress, opts, sets);
        } finally {
          progress.stop();
        }
      }),
    );
}

/** `--set TYPE=FILE` (of `bosun deploy` and `bosun rollouts create`). */
export function parseSet(value: string): { type: string; file: string } {
  const at = value.indexOf('=');
  if (at <= 0 || at === value.length - 1) {
    throw new UsageError(`--set '${value}' is not TYPE=FILE (e.g. --set mobility=./mobility.json).`);
  }
  return { type: value.slice(0, at), file: value.slice(at + 1) };
}

async function deploy(
  client: BosunClient,
  progress: Progress,
  opts: DeployOptions,
  sets: { type: string; file: string }[],
): Promise<void> {
  progress.start('Looking up the device and the release');
  const [deviceId, releaseId] = await Promise.all([
    resolveRef(client, 'device', opts.device),
    resolveRef(client, 'release', opts.release),
  ]);
  const [device, { release, schemas }, currentPage] = await Promise.all([
    client.devices.get(deviceId),
    releaseSchemas(client, releaseId),
    client.deployments.list({
      device_id: deviceId,
      target_status: 'deployed',
      expand: ['config_instances', 'release'],
      limit: 1,
    }),
  ]);
  const [current] = currentPage.data;
  progress.succeed(
    `${device.name} (${device.id}) · ${current ? `current ${current.release?.version ?? current.release_id} (${current.id})` : 'no current deployment'}`,
  );

  const slugs = await setSlugs(client, schemas, sets);
  const planCurrent = current
    ? {
        id: current.id,
        release_id: current.release_id,
        instances: (current.config_instances ?? []).map((i) => ({
          id: i.id,
          config_schema_id: i.config_schema_id,
        })),
      }
    : null;
  const plan = planDeploy({
    release: { id: release.id, schemas },
    sets: slugs,
    current: planCurrent,
    stage: Boolean(opts.stage),
  });
  const instanceIds = await planInstances(client, progress, plan.items, sets, slugs);

  if (current && !opts.stage && deployPlanIsNoop(planCurrent, release.id, instanceIds)) {
    progress.succeed(`Nothing to change: ${device.name} already has exactly this set (${current.id})`);
    await showOrWait(
      client,
      await client.deployments.get(current.id, { expand: ['device', 'release'] }),
      opts,
    );
    return;
  }

  const changed = slugs.length ? `set ${slugs.join(', ')}` : 'carried over';
  const description = opts.description ?? `bosun deploy ${release.version}: ${changed}`;
  const body = {
    device_id: device.id,
    release_id: release.id,
    config_instance_ids: instanceIds,
    description,
    target_status: plan.mode === 'deploy' ? ('deployed' as const) : ('staged' as const),
    ...(plan.parent_id ? { parent_id: plan.parent_id } : {}),
  };
  const expand = { expand: ['device', 'release'] };
  progress.start(`Creating the deployment of ${release.version}`);
  let deployment: Deployment = await client.deployments.create(body, expand);
  if (plan.mode === 'stage_then_deploy') {
    progress.succeed(`Staged ${deployment.id}`);
    progress.start(`Deploying ${deployment.id}`);
    deployment = await client.deployments.deploy(deployment.id, expand);
  }
  await showOrWait(client, deployment, opts);
}

/** The release with its schemas as the plan sees them (config type slugs). */
export async function releaseSchemas(client: BosunClient, releaseId: string) {
  const release = await client.releases.get(releaseId, { expand: ['config_schemas.config_type'] });
  const schemas: PlanSchema[] = (release.config_schemas ?? []).map((s) => ({
    id: s.id,
    config_type_id: s.config_type_id,
    config_type_slug: s.config_type?.slug ?? s.config_type_id,
  }));
  return { release, schemas };
}

/** The config type slug of each `--set` (given by slug or id); an unknown type is its own 404. */
export async function setSlugs(
  client: BosunClient,
  schemas: readonly PlanSchema[],
  sets: readonly { type: string }[],
): Promise<string[]> {
  const slugs: string[] = [];
  for (const { type } of sets) {
    const schema = schemas.find((s) => s.config_type_slug === type || s.config_type_id === type);
    if (!schema) await resolveRef(client, 'configType', type);
    slugs.push(schema?.config_type_slug ?? type);
  }
  return slugs;
}

/**
 * The instance id of every plan item: carried over as planned, or the `--set` file's content as an
 * instance (an identical existing one reused). Every file is read before anything is created, so a
 * typo changes nothing.
 */
export async function planInstances(
  client: BosunClient,
  progress: Progress,
  items: ReturnType<typeof planDeploy>['items'],
  sets: readonly { file: string }[],
  slugs: readonly string[],
): Promise<string[]> {
  const contents = new Map(
    sets.map((s, i) => [slugs[i]!, { file: s.file, data: readContent(s.file, '--set') }]),
  );
  const instanceIds: string[] = [];
  for (const item of items) {
    if ('carry' in item.source) {
      progress.succeed(`${item.config_type_slug}: carried over ${item.source.carry}`);
      instanceIds.push(item.source.carry);
      continue;
    }
    const { file, data } = contents.get(item.source.set)!;
    progress.start(`${item.config_type_slug}: ${file}`);
    const existing = await findIdentical(client, item.config_schema_id, data);
    if (existing) {
      progress.succeed(`${item.config_type_slug}: ${existing} (identical content existed)`);
      instanceIds.push(existing);
      continue;
    }
    try {
      const created = await client.configInstances.create({
        config_schema_id: item.config_schema_id,
        content: { format: 'json', data },
      });
      progress.succeed(`${item.config_type_slug}: created ${created.id} from ${file}`);
      instanceIds.push(created.id);
    } catch (err) {
      if (err instanceof BosunApiError && err.status === 422) {
        progress.fail(`${item.config_type_slug}: ${file} is not valid for schema ${item.config_schema_id}`);
      }
      throw err;
    }
  }
  return instanceIds;
}

/** The newest instance of the schema whose content is byte for byte `data`, if any. */
async function findIdentical(client: BosunClient, schemaId: string, data: string): Promise<string | null> {
  for await (const instance of client.configInstances.iterate({
    config_schema_id: schemaId,
    order_by: ['created_at:desc'],
    expand: ['content'],
  })) {
    if (instance.content?.data === data) return instance.id;
  }
  return null;
}
