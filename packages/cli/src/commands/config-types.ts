import type { ConfigType } from '@bosun/sdk';
import type { Command } from 'commander';
import { type JsonOption, UsageError } from '../api.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';

export const configTypes: ResourceDef<ConfigType> = {
  command: 'config-types',
  description: 'Config types (what a config file is for)',
  noun: 'config type',
  idHint: 'cfg_typ_...',
  ref: 'configType',
  api: (c) => c.configTypes,
  columns: [
    ['ID', (t) => t.id],
    ['NAME', (t) => t.name],
    ['SLUG', (t) => t.slug],
    ['CREATED', (t) => t.created_at],
  ],
  list: {
    description: 'List config types',
    filters: [
      { flags: '--slug <slug...>', description: 'only these slugs', query: 'slug' },
      { flags: '--name <name...>', description: 'only these names', query: 'name' },
    ],
  },
  get: { description: 'Show one config type' },
  actions: [
    {
      name: 'create',
      description: 'Create a config type',
      target: false,
      options: (cmd) =>
        cmd
          .requiredOption('--name <name>', 'display name, 1–48 characters, unique')
          .requiredOption('--slug <slug>', 'code-friendly name: lowercase letters, digits and -, unique'),
      run: ({ client, opts }: ActionContext<JsonOption & { name: string; slug: string }>) =>
        client.configTypes.create({ name: opts.name, slug: opts.slug }),
    },
    {
      name: 'update',
      description: 'Rename a config type or change its slug (only while it has no schemas)',
      options: (cmd) => cmd.option('--name <name>', 'new name').option('--slug <slug>', 'new slug'),
      run({ client, id, opts }: ActionContext<JsonOption & { name?: string; slug?: string }>) {
        if (opts.name === undefined && opts.slug === undefined)
          throw new UsageError('give --name and/or --slug.');
        return client.configTypes.update(id, {
          ...(opts.name !== undefined && { name: opts.name }),
          ...(opts.slug !== undefined && { slug: opts.slug }),
        });
      },
    },
  ],
};

export function registerConfigTypeCommands(program: Command): void {
  registerResource(program, configTypes);
}
