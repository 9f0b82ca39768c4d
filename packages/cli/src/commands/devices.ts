import type { BosunClient, Device } from '@bosun/sdk';
import type { Command } from 'commander';
import { type JsonOption, parseDuration, printOne, UsageError } from '../api.ts';
import { printJson } from '../output.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';

/**
 * A device as tables show it: with its group's name and its tags (`GET /devices/{id}/membership`;
 * docs/decisions.md #81).
 */
export type ShownDevice = Device & { group_name?: string | null; tags?: Record<string, string> };

export const devices: ResourceDef<ShownDevice> = {
  command: 'devices',
  description: 'Devices (robots) of the fleet',
  noun: 'device',
  idHint: 'dvc_...',
  ref: 'device',
  api: (c) => c.devices,
  columns: [
    ['ID', (d) => d.id],
    ['NAME', (d) => d.name],
    ['STATUS', (d) => d.status],
    ['GROUP', (d) => d.group_name],
    ['TAGS', (d) => formatTags(d.tags)],
    ['AGENT', (d) => d.agent_version],
    ['LAST CONNECTED', (d) => d.last_connected_at],
    ['CREATED', (d) => d.created_at],
  ],
  enrich: withMembership,
  list: {
    description: 'List devices',
    filters: [
      {
        flags: '--group <group...>',
        description: 'only members of these groups (name or grp_...)',
        query: 'group_id',
        ref: 'group',
      },
      {
        flags: '--include-subgroups',
        description: 'with --group: members of their subgroups too',
        query: 'include_subgroups',
      },
      {
        flags: '--tags <selector>',
        description: "only devices whose tags match, e.g. 'env=prod,site in (a|b),!retired'",
        query: 'tag_selector',
      },
      { flags: '--name <name...>', description: 'only these device names', query: 'name' },
      { flags: '--id <id...>', description: 'only these device ids', query: 'id' },
      {
        flags: '--agent-version <version...>',
        description: 'only devices running these agent versions',
        query: 'agent_version',
      },
    ],
  },
  get: { description: 'Show one device' },
  actions: [
    {
      name: 'create',
      description: 'Create a device (status inactive until its agent activates)',
      target: false,
      args: [['<name>', 'unique device name, 1–48 characters']],
      run: ({ client, args: [name] }) => client.devices.create({ name: name! }),
    },
    {
      name: 'rename',
      description: 'Rename a device',
      args: [['<name>', 'new unique name']],
      run: ({ client, id, args: [name] }) => client.devices.update(id, { name: name! }),
    },
    {
      name: 'tag',
      description: 'Set tags on a device (key=value; other tags are kept, a key given again is replaced)',
      args: [['<tags...>', 'key=value, e.g. env=prod site=berlin']],
      async run({ client, id, args, opts }) {
        const add = Object.fromEntries(args.map(parseTag));
        const { tags } = await client.devices.membership(id);
        await printMembership(opts, client, await client.devices.setTags(id, { tags: { ...tags, ...add } }));
        return undefined;
      },
    },
    {
      name: 'untag',
      description: 'Remove tags from a device (a key it does not have is ignored)',
      args: [['<keys...>', 'tag keys, e.g. env site']],
      async run({ client, id, args, opts }) {
        const { tags } = await client.devices.membership(id);
        const kept = Object.fromEntries(Object.entries(tags).filter(([k]) => !args.includes(k)));
        await printMembership(opts, client, await client.devices.setTags(id, { tags: kept }));
        return undefined;
      },
    },
    {
      name: 'activation-token',
      description: 'Issue a single-use activation token for installing the agent on the device (30 minutes)',
      options: (cmd) =>
        cmd.option('--allow-reactivation', 'let the token activate a device that was activated before'),
      async run({ client, id, opts }: ActionContext<JsonOption & { allowReactivation?: boolean }>) {
        const token = await client.devices.createActivationToken(id, {
          allow_reactivation: Boolean(opts.allowReactivation),
        });
        // The one line to run on the robot (the server's /install.sh; README "Put the agent on a robot").
        const server = client.http.baseUrl.replace(/\/beta$/, '');
        printOne(opts, token, [
          ['TOKEN', (t) => t.token],
          ['EXPIRES', (t) => t.expires_at],
          ['INSTALL', (t) => installCommand(server, t.token)],
        ]);
        return undefined;
      },
    },
    {
      name: 'ping',
      description:
        "Ping the device's agent through the push channel; exits 1 when it does not answer in time",
      options: (cmd) =>
        cmd.option(
          '--timeout <duration>',
          'how long to wait, at most 10s (e.g. 500ms, 5s)',
          parseDuration,
          5000,
        ),
      async run({ client, id, opts }: ActionContext<JsonOption & { timeout: number }>) {
        const result = await client.devices.ping(id, { timeout_nanos: opts.timeout * 1_000_000 });
        if (opts.json) printJson(result);
        else if (result.code === 'success') {
          process.stdout.write(
            `success: round trip ${(Number(result.round_trip_nanos) / 1e6).toFixed(1)} ms\n`,
          );
        } else process.stdout.write(`${result.code}: no answer within ${opts.timeout} ms\n`);
        if (result.code !== 'success') process.exitCode = 1;
        return undefined;
      },
    },
  ],
};

/** `key=value` of `devices tag`; the server checks the key and value themselves (400 `invalid_tag`). */
function parseTag(text: string): [string, string] {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`'${text}' is not a tag: give key=value (e.g. env=prod).`);
  return [text.slice(0, at), text.slice(at + 1)];
}

export const formatTags = (tags: Record<string, string> | undefined) =>
  tags ? Object.entries(tags).map(([k, v]) => `${k}=${v}`) : undefined;

/** Names of the groups with these ids (one list request per 100). */
export async function groupNames(client: BosunClient, ids: string[]): Promise<Map<string, string>> {
  const unique = [...new Set(ids)];
  const names = new Map<string, string>();
  for (let i = 0; i < unique.length; i += 100) {
    const page = await client.groups.list({ id: unique.slice(i, i + 100), limit: 100 });
    for (const g of page.data) names.set(g.id, g.name);
  }
  return names;
}

async function withMembership(client: BosunClient, items: ShownDevice[]): Promise<ShownDevice[]> {
  const memberships = await Promise.all(items.map((d) => client.devices.membership(d.id)));
  const names = await groupNames(
    client,
    memberships.flatMap((m) => (m.group_id ? [m.group_id] : [])),
  );
  return items.map((d, i) => {
    const m = memberships[i]!;
    return { ...d, group_name: m.group_id ? (names.get(m.group_id) ?? m.group_id) : null, tags: m.tags };
  });
}

type Membership = Awaited<ReturnType<BosunClient['devices']['membership']>>;

async function printMembership(opts: JsonOption, client: BosunClient, m: Membership): Promise<void> {
  if (opts.json) return printJson(m);
  const names = await groupNames(client, m.group_id ? [m.group_id] : []);
  printOne(opts, m, [
    ['DEVICE', (x) => x.device_id],
    ['GROUP', (x) => (x.group_id ? (names.get(x.group_id) ?? x.group_id) : null)],
    ['TAGS', (x) => formatTags(x.tags)],
  ]);
}

export function registerDeviceCommands(program: Command): void {
  registerResource(program, devices);
}

/** The enrolment one-liner; the token is quoted for the shell it is pasted into. */
export function installCommand(server: string, token: string): string {
  return `curl -fsSL ${server}/install.sh | sudo sh -s -- --token '${token.replaceAll("'", `'\\''`)}'`;
}
