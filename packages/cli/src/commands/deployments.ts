import { type BosunClient, collect, type Deployment } from '@bosun/sdk';
import { type Command, Option } from 'commander';
import {
  addListOptions,
  connect,
  fetchList,
  type JsonOption,
  jsonOption,
  type ListOptions,
  parseDuration,
  printList,
  printOne,
  run,
  UsageError,
} from '../api.ts';
import { printJson, printTable } from '../output.ts';
import { createProgress } from '../progress.ts';

const columns: [string, (d: Deployment) => unknown][] = [
  ['ID', (d: any) => d.id],
  ['DEVICE', (d: any) => d.device_id],
  ['RELEASE', (d: any) => d.release_id],
  ['STATUS', (d: any) => d.status],
  ['TARGET', (d: any) => d.target_status],
  ['DESCRIPTION', (d: any) => d.description],
  ['CREATED', (d: any) => d.created_at],
];
const details: [string, (d: Deployment) => unknown][] = [
  ...columns,
  ['ACTIVITY', (d: any) => d.activity_status],
  ['ERROR', (d: any) => d.error_status],
  ['UPDATED', (d: any) => d.updated_at],
];

const TARGETS = ['staged', 'deployed', 'archived'];
const ACTIVITIES = ['drifted', 'staged', 'queued', 'deployed', 'archived'];
const ERRORS = ['none', 'failed', 'retrying'];

export interface WaitOptions extends JsonOption {
  wait?: boolean;
  timeout: number;
  interval: number;
}

const waitOptions = (cmd: Command) =>
  cmd
    .option('--wait', 'wait until the deployment is deployed or failed, showing each status change')
    .option('--timeout <duration>', 'give up waiting after this long (exit 1)', parseDuration, 300_000)
    .option('--interval <duration>', 'how often to check the status while waiting', parseDuration, 1000);

export function registerDeploymentCommands(program: Command): void {
  const deployments = program
    .command('deployments')
    .description('Deployments (a release and one instance per schema, for one device)');

  addListOptions(deployments.command('list').description('List deployments'))
    .option('--device <id...>', 'only deployments of these device ids')
    .option('--release <id...>', 'only deployments of these release ids')
    .option('--id <id...>', 'only these deployment ids')
    .addOption(new Option('--target-status <status...>', 'only these target statuses').choices(TARGETS))
    .addOption(
      new Option('--activity-status <status...>', 'only these activity statuses').choices(ACTIVITIES),
    )
    .addOption(new Option('--error-status <status...>', 'only these error statuses').choices(ERRORS))
    .action(
      run(async (opts: ListOptions & Record<string, string[] | undefined>) =>
        printList(
          opts,
          await fetchList(connect().deployments, opts, {
            device_id: opts.device,
            release_id: opts.release,
            id: opts.id,
            target_status: opts.targetStatus,
            activity_status: opts.activityStatus,
            error_status: opts.errorStatus,
          }),
          columns,
        ),
      ),
    );

  deployments
    .command('get')
    .description('Show one deployment with its config instances')
    .argument('<deployment-id>', 'dpl_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) => {
        const d: any = await connect().deployments.get(id, { expand: ['config_instances'] } as any);
        printOne(opts, d, details);
        if (opts.json) return;
        process.stdout.write('\n');
        printTable(
          ['INSTANCE', 'CONFIG TYPE', 'FILEPATH'],
          (d.config_instances ?? []).map((i: any) => [i.id, i.config_type_name, i.filepath]),
        );
      }),
    );

  waitOptions(
    deployments
      .command('create')
      .description('Create a deployment: deployed (queued for the device) or staged (to deploy later)')
      .requiredOption('--device <device-id>', 'dvc_...')
      .requiredOption('--release <release-id>', 'rls_...')
      .requiredOption(
        '--instance <config-instance-id...>',
        'exactly one config instance per schema of the release (repeat or list)',
      )
      .requiredOption('-d, --description <text>', 'why this deployment exists')
      .addOption(
        new Option('--target <status>', 'target status').choices(['deployed', 'staged']).default('deployed'),
      )
      .option('--parent <deployment-id>', 'the deployment this one was patched from')
      .addOption(jsonOption()),
  ).action(
    run(async (opts: WaitOptions & Record<string, any>) => {
      if (opts.wait && opts.target !== 'deployed') throw new UsageError('--wait needs --target deployed.');
      const client = connect();
      const d = await client.deployments.create({
        device_id: opts.device,
        release_id: opts.release,
        config_instance_ids: opts.instance.flatMap((i: string) => i.split(',')).filter(Boolean),
        description: opts.description,
        target_status: opts.target,
        ...(opts.parent ? { parent_id: opts.parent } : {}),
      } as any);
      await showOrWait(client, d, opts);
    }),
  );

  waitOptions(
    deployments
      .command('deploy')
      .description('Deploy a staged deployment (it becomes the device current deployment)')
      .argument('<deployment-id>', 'dpl_...')
      .addOption(jsonOption()),
  ).action(
    run(async (id: string, opts: WaitOptions) => {
      const client = connect();
      await showOrWait(client, await client.deployments.deploy(id), opts);
    }),
  );

  for (const [name, description] of [
    ['archive', 'Archive a staged or drifted deployment (irreversible)'],
    ['restage', 'Accept a drifted deployment as is, making it deployable again'],
  ] as const) {
    deployments
      .command(name)
      .description(description)
      .argument('<deployment-id>', 'dpl_...')
      .addOption(jsonOption())
      .action(
        run(async (id: string, opts: JsonOption) =>
          printOne(opts, await connect().deployments[name](id), details),
        ),
      );
  }

  deployments
    .command('drifts')
    .description('List the deployments that became current on the device since this one was staged')
    .argument('<deployment-id>', 'dpl_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) =>
        printList(opts, await connect().deployments.drifts(id), columns),
      ),
    );

  deployments
    .command('events')
    .description('Show every status change of a deployment (who, when, from, to, why), oldest first')
    .argument('<deployment-id>', 'dpl_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) => {
        const data = await collect(connect().deployments.iterateEvents(id));
        printList(opts, { object: 'list', data, has_more: false }, [
          ['AT', (e: any) => e.timestamp],
          ['ACTOR', (e: any) => (e.actor.id ? `${e.actor.type}:${e.actor.id}` : e.actor.type)],
          ['FROM', (e: any) => e.from?.status ?? ''],
          ['TO', (e: any) => e.to.status],
          ['ATTEMPT', (e: any) => e.attempt],
          ['MESSAGE', (e: any) => e.message],
        ]);
      }),
    );
}

/** Prints the deployment, or with --wait follows it until it is deployed (exit 0) or failed (exit 1). */
export async function showOrWait(client: BosunClient, d: any, opts: WaitOptions): Promise<void> {
  if (!opts.wait) return printOne(opts, d, details);
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
      const next: any = await client.deployments.get(d.id);
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
