import { type BosunClient, collect, type Deployment } from '@bosun/sdk';
import { type Command, Option } from 'commander';
import { type JsonOption, parseDuration, printList, printOne, UsageError } from '../api.ts';
import { printJson, printTable } from '../output.ts';
import { createProgress } from '../progress.ts';
import { resolveRef } from '../refs.ts';
import { type ActionContext, type Column, type ResourceDef, registerResource } from '../resource.ts';

/** The device and release of a deployment are fetched with it, so tables show their names. */
const NAMES = ['device', 'release'];

export const deployments: ResourceDef<Deployment> = {
  command: 'deployments',
  description: 'Deployments (a release and one instance per schema, for one device)',
  noun: 'deployment',
  idHint: 'dpl_...',
  api: (c) => c.deployments,
  columns: [
    ['ID', (d) => d.id],
    ['DEVICE', (d) => d.device?.name ?? d.device_id],
    ['RELEASE', (d) => d.release?.version ?? d.release_id],
    ['STATUS', (d) => d.status],
    ['TARGET', (d) => d.target_status],
    ['DESCRIPTION', (d) => d.description],
    ['CREATED', (d) => d.created_at],
  ],
  details: [
    ['DEVICE ID', (d) => d.device_id],
    ['RELEASE ID', (d) => d.release_id],
    ['ACTIVITY', (d) => d.activity_status],
    ['ERROR', (d) => d.error_status],
    ['UPDATED', (d) => d.updated_at],
  ],
  list: {
    description: 'List deployments',
    tableExpand: NAMES,
    filters: [
      {
        flags: '--device <device...>',
        description: 'only deployments of these devices (id or name)',
        query: 'device_id',
        ref: 'device',
      },
      {
        flags: '--release <release...>',
        description: 'only deployments of these releases (id or version)',
        query: 'release_id',
        ref: 'release',
      },
      { flags: '--id <id...>', description: 'only these deployment ids', query: 'id' },
      {
        flags: '--target-status <status...>',
        description: 'only these target statuses',
        query: 'target_status',
        choices: ['staged', 'deployed', 'archived'],
      },
      {
        flags: '--activity-status <status...>',
        description: 'only these activity statuses',
        query: 'activity_status',
        choices: ['drifted', 'staged', 'queued', 'deployed', 'archived'],
      },
      {
        flags: '--error-status <status...>',
        description: 'only these error statuses',
        query: 'error_status',
        choices: ['none', 'failed', 'retrying'],
      },
    ],
  },
  get: {
    description: 'Show one deployment with its config instances',
    expand: () => [...NAMES, 'config_instances'],
    after(d) {
      process.stdout.write('\n');
      printTable(
        ['INSTANCE', 'CONFIG TYPE', 'FILEPATH'],
        (d.config_instances ?? []).map((i) => [i.id, i.config_type_name, i.filepath]),
      );
    },
  },
  actions: [
    {
      name: 'create',
      description: 'Create a deployment: deployed (queued for the device) or staged (to deploy later)',
      target: false,
      options: (cmd) =>
        waitOptions(
          cmd
            .requiredOption('--device <device>', 'device id (dvc_...) or name')
            .requiredOption('--release <release>', 'release id (rls_...) or version (v1.2.0 or 1.2.0)')
            .requiredOption(
              '--instance <config-instance-id...>',
              'exactly one config instance per schema of the release (repeat or list)',
            )
            .requiredOption('-d, --description <text>', 'why this deployment exists')
            .addOption(
              new Option('--target <status>', 'target status')
                .choices(['deployed', 'staged'])
                .default('deployed'),
            )
            .option('--parent <deployment-id>', 'the deployment this one was patched from'),
        ),
      async run({ client, opts }: ActionContext<WaitOptions & CreateOptions>) {
        if (opts.wait && opts.target !== 'deployed') throw new UsageError('--wait needs --target deployed.');
        const [deviceId, releaseId] = await Promise.all([
          resolveRef(client, 'device', opts.device),
          resolveRef(client, 'release', opts.release),
        ]);
        const d = await client.deployments.create(
          {
            device_id: deviceId,
            release_id: releaseId,
            config_instance_ids: opts.instance.flatMap((i) => i.split(',')).filter(Boolean),
            description: opts.description,
            target_status: opts.target,
            ...(opts.parent ? { parent_id: opts.parent } : {}),
          },
          { expand: NAMES },
        );
        await showOrWait(client, d, opts);
        return undefined;
      },
    },
    {
      name: 'deploy',
      description: 'Deploy a staged deployment (it becomes the device current deployment)',
      options: waitOptions,
      async run({ client, id, opts }: ActionContext<WaitOptions>) {
        await showOrWait(client, await client.deployments.deploy(id, { expand: NAMES }), opts);
        return undefined;
      },
    },
    {
      name: 'archive',
      description: 'Archive a staged or drifted deployment (irreversible)',
      run: ({ client, id }) => client.deployments.archive(id, { expand: NAMES }),
    },
    {
      name: 'restage',
      description: 'Accept a drifted deployment as is, making it deployable again',
      run: ({ client, id }) => client.deployments.restage(id, { expand: NAMES }),
    },
    {
      name: 'drifts',
      description: 'List the deployments that became current on the device since this one was staged',
      async run({ client, id, opts }) {
        printList(opts, await client.deployments.drifts(id, opts.json ? {} : { expand: NAMES }), columns());
        return undefined;
      },
    },
    {
      name: 'events',
      description: 'Show every status change of a deployment (who, when, from, to, why), oldest first',
      async run({ client, id, opts }) {
        const data = await collect(client.deployments.iterateEvents(id));
        printList(opts, { object: 'list', data, has_more: false }, [
          ['AT', (e) => e.timestamp],
          ['ACTOR', (e) => (e.actor.id ? `${e.actor.type}:${e.actor.id}` : e.actor.type)],
          ['FROM', (e) => e.from?.status ?? ''],
          ['TO', (e) => e.to.status],
          ['ATTEMPT', (e) => e.attempt],
          ['MESSAGE', (e) => e.message],
        ]);
        return undefined;
      },
    },
  ],
};

const columns = (): Column<Deployment>[] => deployments.columns;
const details = (): Column<Deployment>[] => [...deployments.columns, ...(deployments.details ?? [])];

type CreateOptions = {
  device: string;
  release: string;
  instance: string[];
  description: string;
  target: 'deployed' | 'staged';
  parent?: string;
};

export type WaitOptions = JsonOption & {
  wait?: boolean;
  timeout: number;
  interval: number;
};

export function waitOptions(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait until the deployment is deployed or failed, showing each status change')
    .option('--timeout <duration>', 'give up waiting after this long (exit 1)', parseDuration, 300_000)
    .option('--interval <duration>', 'how often to check the status while waiting', parseDuration, 1000);
}

export function registerDeploymentCommands(program: Command): void {
  registerResource(program, deployments);
}

/** Prints the deployment, or with --wait follows it until it is deployed (exit 0) or failed (exit 1). */
export async function showOrWait(client: BosunClient, d: Deployment, opts: WaitOptions): Promise<void> {
  if (!opts.wait) return printOne(opts, d, details());
  const progress = createProgress({ quiet: opts.json });
  const seen: { status: string; at: string }[] = [{ status: d.status, at: new Date().toISOString() }];
  progress.succeed(`Deployment ${d.id} ${d.status}`);
  progress.start(`Waiting for ${d.id} (${d.status})`);
  const deadline = Date.now() + opts.timeout;
  let current = d;
  try {
    while (!['deployed', 'failed', 'archived'].includes(current.status)) {
      if (Date.now() >= deadline) {
        progress.fail(`Gave up waiting after ${opts.timeout} ms: ${d.id} is ${current.status}`);
        process.exitCode = 1;
        if (opts.json) printJson({ deployment: current, statuses: seen, timed_out: true });
        return;
      }
      await new Promise((r) => setTimeout(r, opts.interval));
      const next = await client.deployments.get(d.id);
      if (next.status !== current.status) {
        seen.push({ status: next.status, at: new Date().toISOString() });
        const line = `Deployment ${d.id} ${current.status} → ${next.status}`;
        if (next.status === 'failed' || next.status === 'archived') progress.fail(line);
        else progress.succeed(line);
        if (next.status !== 'deployed') progress.start(`Waiting for ${d.id} (${next.status})`);
      }
      current = next;
    }
  } finally {
    progress.stop();
  }
  if (current.status !== 'deployed') process.exitCode = 1;
  if (opts.json) printJson({ deployment: current, statuses: seen });
}
