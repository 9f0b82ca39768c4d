import { BosunError, type PlanSchema, planDeploy, ROLLOUT_STATUSES, type WaveSpec } from '@bosun/core';
import type { BosunClient, Rollout } from '@bosun/sdk';
import { type Command, InvalidArgumentError } from 'commander';
import { type JsonOption, parseCount, parseDuration, printOne, UsageError } from '../api.ts';
import { printJson, printTable } from '../output.ts';
import { createProgress, type Progress } from '../progress.ts';
import { resolveRef, resolveRefs } from '../refs.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';
import { collectSets, parseSet, planInstances, releaseSchemas, setSlugs } from './deploy.ts';
import { groupNames } from './devices.ts';

/** A rollout as tables show it: its release's version and its groups' names next to the ids. */
export type ShownRollout = Rollout & { release_version?: string; group_names?: string[] };

type Counts = Rollout['counts'];

/** `3 deployed · 1 failed · 2 in progress · 4 pending` (states with no device left out). */
export function describeCounts(c: Counts): string {
  const parts = (
    [
      ['deployed', c.deployed],
      ['failed', c.failed],
      ['in progress', c.in_progress],
      ['pending', c.pending],
      ['superseded', c.superseded],
      ['skipped', c.skipped],
    ] as const
  ).flatMap(([label, n]) => (n ? [`${n} ${label}`] : []));
  return parts.length ? parts.join(' · ') : 'no devices';
}

function describeSelection(r: ShownRollout): string {
  const s = r.selection;
  const parts: string[] = [];
  if (s.group_ids.length)
    parts.push(
      `groups ${(r.group_names ?? s.group_ids).join(', ')}${s.include_subgroups ? ' (with subgroups)' : ''}`,
    );
  if (s.tag_selector) parts.push(`tags ${s.tag_selector}`);
  if (s.device_ids.length) parts.push(`${s.device_ids.length} listed device(s)`);
  return parts.join('; ');
}

function describeStrategy(r: Rollout): string {
  const s = r.strategy;
  const waves = s.waves.map((w) => (w.devices !== undefined ? `${w.devices}` : `${w.percent}%`)).join(', ');
  return `waves ${waves}; soak ${s.soak_seconds}s; max failure ratio ${s.max_failure_ratio}${s.include_new_devices ? '; new devices included' : ''}`;
}

export const rollouts: ResourceDef<ShownRollout> = {
  command: 'rollouts',
  description: 'Rollouts: a release deployed over groups, tags or devices in waves, pausing on failures',
  noun: 'rollout',
  idHint: 'rlt_...',
  api: (c) => c.rollouts,
  columns: [
    ['ID', (r) => r.id],
    ['RELEASE', (r) => r.release_version ?? r.release_id],
    ['STATUS', (r) => r.status],
    ['WAVE', (r) => `${Math.min(r.current_wave, r.waves.length)}/${r.waves.length}`],
    ['DEPLOYED', (r) => r.counts.deployed],
    ['FAILED', (r) => r.counts.failed],
    ['IN PROGRESS', (r) => r.counts.in_progress],
    ['PENDING', (r) => r.counts.pending],
    ['DESCRIPTION', (r) => r.description],
    ['CREATED', (r) => r.created_at],
  ],
  details: [
    ['REASON', (r) => r.status_reason],
    ['RELEASE ID', (r) => r.release_id],
    ['SELECTION', describeSelection],
    ['STRATEGY', describeStrategy],
    ['AUTO ROLLBACK', (r) => (r.auto_rollback === null ? 'server setting' : r.auto_rollback ? 'on' : 'off')],
    ['SOAK UNTIL', (r) => r.soak_until],
    ['UPDATED', (r) => r.updated_at],
  ],
  enrich: withNames,
  list: {
    description: 'List rollouts with their progress',
    filters: [
      {
        flags: '--status <status...>',
        description: 'only these statuses',
        query: 'status',
        choices: ROLLOUT_STATUSES,
      },
      { flags: '--id <id...>', description: 'only these rollout ids', query: 'id' },
    ],
  },
  get: {
    description: 'Show one rollout and its waves',
    after(r) {
      process.stdout.write('\n');
      printWaves(r);
    },
  },
  actions: [
    {
      name: 'create',
      description: 'Roll a release out over groups, a tag selector and/or devices, in waves',
      target: false,
      options: (cmd) => createOptions(cmd),
      async run(ctx: ActionContext<CreateOptions>) {
        await create(ctx.client, ctx.opts);
        return undefined;
      },
    },
    ...(['pause', 'resume', 'abort'] as const).map((verb) => ({
      name: verb,
      description: {
        pause: 'Pause a running rollout (deployments already created go on)',
        resume: 'Resume a paused rollout',
        abort: 'Abort a rollout: staged deployments it created are archived, deployed ones stay',
      }[verb],
      options: (cmd: Command) => {
        cmd.option('--reason <text>', 'why (shown in the rollout and its events)');
        return verb === 'resume' ? waitOptions(cmd) : cmd;
      },
      async run({ client, id, opts }: ActionContext<WaitOptions & { reason?: string }>) {
        const r = await client.rollouts[verb](id, opts.reason ? { reason: opts.reason } : {});
        await showOrFollow(client, r, opts);
        return undefined;
      },
    })),
    {
      name: 'events',
      description: "Show a rollout's history (waves started, pauses and why), oldest first",
      async run({ client, id, opts }) {
        const page = await client.rollouts.events(id, { limit: 1000 });
        if (opts.json) printJson(page);
        else
          printTable(
            ['AT', 'TYPE', 'WAVE', 'MESSAGE'],
            page.data.map((e) => [e.timestamp, e.type, e.wave === null ? '' : String(e.wave), e.message]),
          );
        return undefined;
      },
    },
  ],
};

export function registerRolloutCommands(program: Command): void {
  const group = registerResource(program, rollouts);
  group.commands
    .find((c) => c.name() === 'create')!
    .addHelpText(
      'after',
      `
The plan is what \`bosun deploy\` does for one device: --set gives new content for a config type,
--keep-current keeps each device's current instance of every other schema the release still has.
Waves are given in order (--wave-size and --wave-percent may be mixed); the last wave takes the rest.

Examples:
  bosun rollouts create --release v1.2.0 --keep-current --set mobility=./mobility.json \\
    --group berlin --include-subgroups --wave-size 1 --wave-percent 10 --wave-percent 100 \\
    --soak 10m --max-failure-ratio 0.1 --wait
  bosun rollouts create --release v1.2.0 --keep-current --tags 'env=prod,site in (berlin|paris)'`,
    );
}

async function withNames(client: BosunClient, items: ShownRollout[]): Promise<ShownRollout[]> {
  const releaseIds = [...new Set(items.map((r) => r.release_id))];
  const [releases, groups] = await Promise.all([
    client.releases.list({ id: releaseIds, limit: 100 }),
    groupNames(
      client,
      items.flatMap((r) => r.selection.group_ids),
    ),
  ]);
  const versions = new Map(releases.data.map((r) => [r.id, r.version]));
  return items.map((r) => ({
    ...r,
    release_version: versions.get(r.release_id) ?? r.release_id,
    group_names: r.selection.group_ids.map((g) => groups.get(g) ?? g),
  }));
}

function printWaves(r: Rollout): void {
  printTable(
    ['WAVE', 'SIZE', 'DEPLOYED', 'FAILED', 'IN PROGRESS', 'PENDING', 'SKIPPED'],
    r.waves.map((w) => [
      `${w.wave}${w.wave === r.current_wave && r.status !== 'completed' ? '*' : ''}`,
      String(w.devices),
      String(w.counts.deployed),
      String(w.counts.failed),
      String(w.counts.in_progress),
      String(w.counts.pending),
      String(w.counts.skipped + w.counts.superseded),
    ]),
  );
}

type WaitOptions = JsonOption & { wait?: boolean; timeout: number; interval: number };

function waitOptions(cmd: Command): Command {
  return cmd
    .option(
      '--wait',
      'follow the rollout until it completes (exit 0), pauses or is aborted (exit 1), showing each change',
    )
    .option('--timeout <duration>', 'give up waiting after this long (exit 1)', parseDuration, 3_600_000)
    .option('--interval <duration>', 'how often to check while waiting', parseDuration, 1000);
}

type CreateOptions = WaitOptions & {
  release: string;
  set: string[];
  keepCurrent?: boolean;
  group?: string[];
  includeSubgroups?: boolean;
  tags?: string;
  device?: string[];
  waveSize?: WaveSpec[];
  wavePercent?: WaveSpec[];
  soak?: number;
  maxFailureRatio?: number;
  includeNewDevices?: boolean;
  autoRollback: boolean;
  description?: string;
  idempotencyKey?: string;
};

function createOptions(cmd: Command): Command {
  // --wave-size and --wave-percent fill one list, so the waves keep the order they were given in.
  const waves: WaveSpec[] = [];
  const wave = (kind: 'devices' | 'percent') => (value: string) => {
    const n = kind === 'devices' ? parseCount(value) : Number(value);
    if (kind === 'percent' && !/^\d+(\.\d+)?$/.test(value))
      throw new InvalidArgumentError(`'${value}' is not a percentage (e.g. 10 or 12.5).`);
    waves.push(kind === 'devices' ? { devices: n } : { percent: n });
    return waves;
  };
  return waitOptions(
    cmd
      .requiredOption('--release <release>', 'release id (rls_...) or version (v1.2.0 or 1.2.0)')
      .option(
        '--set <type=file>',
        'new content for a config type: its slug (or id) = a JSON file, - for stdin; repeatable',
        collectSets,
        [],
      )
      .option('--keep-current', "keep each device's current instance of every config type not --set")
      .option('--group <group...>', 'devices of these groups (name or grp_...)')
      .option('--include-subgroups', 'with --group: devices of their subgroups too')
      .option('--tags <selector>', "devices whose tags match, e.g. 'env=prod,site in (a|b)'")
      .option('--device <device...>', 'these devices (name or dvc_...)')
      .option('--wave-size <n>', 'a wave of n devices; repeatable, in order', wave('devices'))
      .option('--wave-percent <p>', 'a wave of p % of the selected devices; repeatable', wave('percent'))
      .option('--soak <duration>', 'wait this long after a wave settled (e.g. 60s, 10m)', parseDuration)
      .option(
        '--max-failure-ratio <ratio>',
        'pause when a wave fails more than this share (0..1, default 0: any failure)',
        parseRatio,
      )
      .option('--include-new-devices', 'include devices that join the selection during the rollout')
      .option('--no-auto-rollback', 'do not roll failed devices back to their previous deployment')
      .option('-d, --description <text>', 'why this rollout exists (default: the release and what was set)')
      .option('--idempotency-key <key>', 'reuse a key to retry a create safely from another process'),
  );
}

function parseRatio(value: string): number {
  const n = Number(value);
  if (!/^\d*\.?\d+$/.test(value) || n > 1)
    throw new InvalidArgumentError(`'${value}' is not a ratio from 0 to 1.`);
  return n;
}

async function create(client: BosunClient, opts: CreateOptions): Promise<void> {
  const sets = opts.set.map(parseSet);
  if (!opts.group?.length && !opts.tags && !opts.device?.length)
    throw new UsageError('select devices: give --group, --tags and/or --device.');
  if (opts.includeSubgroups && !opts.group?.length)
    throw new UsageError('--include-subgroups goes with --group.');
  if (!sets.length && !opts.keepCurrent)
    throw new UsageError('give the content: --set TYPE=FILE for each config type, and/or --keep-current.');
  const progress = createProgress({ quiet: opts.json });
  try {
    progress.start('Looking up the release and the selection');
    const [releaseId, groupIds, deviceIds] = await Promise.all([
      resolveRef(client, 'release', opts.release),
      resolveRefs(client, 'group', opts.group ?? []),
      resolveRefs(client, 'device', opts.device ?? []),
    ]);
    const { release, schemas } = await releaseSchemas(client, releaseId);
    const slugs = await setSlugs(client, schemas, sets);
    const plan = rolloutPlan(release.id, schemas, slugs, Boolean(opts.keepCurrent));
    progress.succeed(`Release ${release.version} (${release.id})`);
    const setItems = plan.items.filter((i) => 'set' in i.source);
    const ids = await planInstances(client, progress, setItems, sets, slugs);
    if (setItems.length < plan.items.length)
      progress.succeed(
        `${plan.items
          .filter((i) => 'carry' in i.source)
          .map((i) => i.config_type_slug)
          .join(', ')}: each device keeps its current instance`,
      );
    const waves = opts.waveSize ?? opts.wavePercent;
    const description =
      opts.description ??
      `bosun rollouts create ${release.version}: ${slugs.length ? `set ${slugs.join(', ')}` : 'keep current'}`;
    progress.start('Creating the rollout');
    const rollout = await client.rollouts.create(
      {
        description,
        release_id: release.id,
        plan: { config_instance_ids: ids, keep_current: Boolean(opts.keepCurrent) },
        selection: {
          group_ids: groupIds,
          include_subgroups: Boolean(opts.includeSubgroups),
          ...(opts.tags !== undefined ? { tag_selector: opts.tags } : {}),
          device_ids: deviceIds,
        },
        strategy: {
          ...(waves ? { waves } : {}),
          ...(opts.soak !== undefined ? { soak_seconds: Math.ceil(opts.soak / 1000) } : {}),
          ...(opts.maxFailureRatio !== undefined ? { max_failure_ratio: opts.maxFailureRatio } : {}),
          include_new_devices: Boolean(opts.includeNewDevices),
        },
        ...(opts.autoRollback === false ? { auto_rollback: false } : {}),
      },
      {},
      opts.idempotencyKey ? { idempotencyKey: opts.idempotencyKey } : {},
    );
    progress.succeed(
      `Created ${rollout.id} over ${rollout.waves.reduce((n, w) => n + w.devices, 0)} device(s)`,
    );
    progress.stop();
    await showOrFollow(client, rollout, opts);
  } finally {
    progress.stop();
  }
}

/**
 * The deploy plan (core `planDeploy`) of a rollout: what `--set` fills, and, with --keep-current,
 * every other schema kept from each device's current deployment (the server resolves those per
 * device; here they are placeholders that only mark the schema as covered).
 */
function rolloutPlan(
  releaseId: string,
  schemas: readonly PlanSchema[],
  slugs: string[],
  keepCurrent: boolean,
) {
  const current = keepCurrent
    ? { id: '', release_id: '', instances: schemas.map((s) => ({ id: '', config_schema_id: s.id })) }
    : null;
  try {
    return planDeploy({ release: { id: releaseId, schemas }, sets: slugs, current, stage: false });
  } catch (err) {
    const missing = err instanceof BosunError ? (err.params.missing as { config_type_slug: string }[]) : [];
    if (!(err instanceof BosunError) || !missing?.length) throw err;
    throw new BosunError(
      422,
      'invalid_deploy_plan',
      `Cannot roll out: no content for ${missing.map((m) => m.config_type_slug).join(', ')}: give --set ${missing[0]!.config_type_slug}=FILE, or --keep-current to keep each device's current instance.`,
      err.params,
    );
  }
}

/**
 * Prints the rollout, or with --wait follows it until it completes (exit 0), pauses or is aborted
 * (exit 1; docs/decisions.md #81).
 */
async function showOrFollow(client: BosunClient, r: Rollout, opts: WaitOptions): Promise<void> {
  const [shown] = opts.json ? [r] : await withNames(client, [r]);
  if (!opts.wait) {
    printOne(opts, shown!, [...rollouts.columns, ...(rollouts.details ?? [])]);
    return;
  }
  const progress = createProgress({ quiet: opts.json });
  try {
    const final = await follow(client, r, opts, progress);
    if (opts.json) printJson(final);
    else {
      process.stdout.write('\n');
      printWaves(final.rollout);
    }
  } finally {
    progress.stop();
  }
}

const line = (r: Rollout) =>
  `Rollout ${r.id} ${r.status}, wave ${Math.min(r.current_wave, r.waves.length)}/${r.waves.length}: ${describeCounts(r.counts)}`;

/** Polls the rollout, printing a line whenever its status, wave or counts change. */
async function follow(client: BosunClient, first: Rollout, opts: WaitOptions, progress: Progress) {
  const seen: { status: string; wave: number; at: string }[] = [];
  const note = (r: Rollout) =>
    seen.push({ status: r.status, wave: r.current_wave, at: new Date().toISOString() });
  const deadline = Date.now() + opts.timeout;
  let current = first;
  note(current);
  progress.succeed(line(current));
  while (current.status === 'running') {
    if (Date.now() >= deadline) {
      progress.fail(`Gave up waiting after ${opts.timeout} ms: ${line(current)}`);
      process.exitCode = 1;
      return { rollout: current, statuses: seen, timed_out: true };
    }
    progress.start(`Waiting: ${line(current)}`);
    await new Promise((done) => setTimeout(done, opts.interval));
    const next = await client.rollouts.get(current.id);
    if (line(next) !== line(current)) {
      if (next.status !== current.status || next.current_wave !== current.current_wave) note(next);
      if (next.status === 'running' || next.status === 'completed') progress.succeed(line(next));
    }
    current = next;
  }
  if (current.status !== 'completed') {
    progress.fail(`${line(current)}${current.status_reason ? ` (${current.status_reason})` : ''}`);
    process.exitCode = 1;
  }
  return { rollout: current, statuses: seen };
}
