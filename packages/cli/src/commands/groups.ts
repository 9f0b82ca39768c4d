import { ancestors } from '@bosun/core';
import type { BosunClient, Group } from '@bosun/sdk';
import type { Command } from 'commander';
import { type JsonOption, UsageError } from '../api.ts';
import { printTable } from '../output.ts';
import { resolveRef, resolveRefs } from '../refs.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';
import { formatTags } from './devices.ts';

/** A group as tables show it: its place in the tree and how many devices it holds directly. */
export type ShownGroup = Group & { parent_name?: string | null; path?: string; device_count?: number };

export const groups: ResourceDef<ShownGroup> = {
  command: 'groups',
  description: 'Device groups (a tree; a device belongs to at most one group)',
  noun: 'group',
  idHint: 'grp_...',
  ref: 'group',
  api: (c) => c.groups,
  columns: [
    ['ID', (g) => g.id],
    ['NAME', (g) => g.name],
    ['PARENT', (g) => g.parent_name ?? g.parent_id],
    ['PATH', (g) => g.path],
    ['DEVICES', (g) => g.device_count],
    ['CREATED', (g) => g.created_at],
  ],
  details: [
    ['PARENT ID', (g) => g.parent_id],
    ['UPDATED', (g) => g.updated_at],
  ],
  enrich: inTree,
  list: {
    description: 'List groups with their parent, their path from the root and their number of devices',
    filters: [
      { flags: '--name <name...>', description: 'only these group names', query: 'name' },
      {
        flags: '--parent <group...>',
        description: 'only children of these groups (name or grp_...)',
        query: 'parent_id',
        ref: 'group',
      },
      { flags: '--id <id...>', description: 'only these group ids', query: 'id' },
    ],
  },
  get: {
    description: 'Show one group, its subgroups and its devices',
    async after(g, _opts, client) {
      const [children, members] = await Promise.all([
        client.groups.listAll({ parent_id: [g.id] }),
        client.devices.listAll({ group_id: [g.id] }),
      ]);
      const tags = await Promise.all(members.map((d) => client.devices.membership(d.id)));
      process.stdout.write('\n');
      printTable(
        ['SUBGROUP', 'ID'],
        children.map((c) => [c.name, c.id]),
      );
      process.stdout.write('\n');
      printTable(
        ['DEVICE', 'ID', 'STATUS', 'TAGS'],
        members.map((d, i) => [d.name, d.id, d.status, (formatTags(tags[i]!.tags) ?? []).join(',')]),
      );
    },
  },
  actions: [
    {
      name: 'create',
      description: 'Create a group, at the root or under --parent',
      target: false,
      args: [['<name>', 'unique group name, 1–48 characters']],
      options: (cmd) => cmd.option('--parent <group>', 'the parent group (name or grp_...)'),
      async run({ client, args: [name], opts }: ActionContext<JsonOption & { parent?: string }>) {
        const parentId = opts.parent === undefined ? null : await resolveRef(client, 'group', opts.parent);
        return client.groups.create({ name: name!, parent_id: parentId });
      },
    },
    {
      name: 'rename',
      description: 'Rename a group',
      args: [['<name>', 'new unique name']],
      run: ({ client, id, args: [name] }) => client.groups.update(id, { name: name! }),
    },
    {
      name: 'move',
      description: 'Move a group (with its subgroups and devices) under another group, or to the root',
      options: (cmd) =>
        cmd
          .option('--parent <group>', 'the new parent group (name or grp_...)')
          .option('--root', 'make it a root group'),
      async run({ client, id, opts }: ActionContext<JsonOption & { parent?: string; root?: boolean }>) {
        if ((opts.parent === undefined) === !opts.root)
          throw new UsageError('give exactly one of --parent GROUP and --root.');
        const parentId = opts.root ? null : await resolveRef(client, 'group', opts.parent!);
        return client.groups.move(id, { parent_id: parentId });
      },
    },
    {
      name: 'assign',
      description: 'Put devices into the group (a device leaves the group it was in)',
      args: [['<devices...>', 'device names or ids (dvc_...)']],
      async run({ client, id, args }) {
        await client.groups.assign(id, { device_ids: await resolveRefs(client, 'device', args) });
        return client.groups.get(id);
      },
    },
    {
      name: 'unassign',
      description: 'Take devices out of the group (they belong to no group then)',
      args: [['<devices...>', 'device names or ids (dvc_...)']],
      async run({ client, id, args }) {
        await client.groups.unassign(id, { device_ids: await resolveRefs(client, 'device', args) });
        return client.groups.get(id);
      },
    },
  ],
};

export function registerGroupCommands(program: Command): void {
  registerResource(program, groups);
}

/**
 * Each group's parent name, path from the root (`site / hall / line`) and direct device count. The
 * whole tree is read once (groups are few next to devices); a count is one `total_count` request.
 */
async function inTree(client: BosunClient, items: ShownGroup[]): Promise<ShownGroup[]> {
  const [all, counts] = await Promise.all([
    client.groups.listAll({}),
    Promise.all(
      items.map(
        async (g) =>
          (await client.devices.list({ group_id: [g.id], expand: ['total_count'], limit: 1 })).total_count,
      ),
    ),
  ]);
  const byId = new Map([...all, ...items].map((g) => [g.id, g]));
  const parentOf = new Map([...byId.values()].map((g) => [g.id, g.parent_id]));
  const name = (id: string) => byId.get(id)?.name ?? id;
  return items.map((g, i) => ({
    ...g,
    parent_name: g.parent_id === null ? null : name(g.parent_id),
    path: [...ancestors(g.id, parentOf).reverse(), g.id].map(name).join(' / '),
    ...(counts[i] !== undefined ? { device_count: counts[i] } : {}),
  }));
}
