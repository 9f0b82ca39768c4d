import type { ConfigType } from '@bosun/sdk';
import type { Command } from 'commander';
import {
  addListOptions,
  connect,
  fetchList,
  type JsonOption,
  jsonOption,
  type ListOptions,
  printList,
  printOne,
  run,
  UsageError,
} from '../api.ts';

const fields: [string, (t: ConfigType) => unknown][] = [
  ['ID', (t) => t.id],
  ['NAME', (t) => t.name],
  ['SLUG', (t) => t.slug],
  ['CREATED', (t) => t.created_at],
];

export function registerConfigTypeCommands(program: Command): void {
  const types = program.command('config-types').description('Config types (what a config file is for)');

  addListOptions(types.command('list').description('List config types'))
    .option('--slug <slug...>', 'only these slugs')
    .option('--name <name...>', 'only these names')
    .action(
      run(async (opts: ListOptions & { slug?: string[]; name?: string[] }) =>
        printList(
          opts,
          await fetchList(connect().configTypes, opts, { slug: opts.slug, name: opts.name }),
          fields,
        ),
      ),
    );

  types
    .command('get')
    .description('Show one config type')
    .argument('<config-type-id>', 'cfg_typ_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) =>
        printOne(opts, await connect().configTypes.get(id), fields),
      ),
    );

  types
    .command('create')
    .description('Create a config type')
    .requiredOption('--name <name>', 'display name, 1–48 characters, unique')
    .requiredOption('--slug <slug>', 'code-friendly name: lowercase letters, digits and -, unique')
    .addOption(jsonOption())
    .action(
      run(async (opts: JsonOption & { name: string; slug: string }) =>
        printOne(opts, await connect().configTypes.create({ name: opts.name, slug: opts.slug }), fields),
      ),
    );

  types
    .command('update')
    .description('Rename a config type or change its slug (only while it has no schemas)')
    .argument('<config-type-id>', 'cfg_typ_...')
    .option('--name <name>', 'new name')
    .option('--slug <slug>', 'new slug')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption & { name?: string; slug?: string }) => {
        if (opts.name === undefined && opts.slug === undefined)
          throw new UsageError('give --name and/or --slug.');
        const body = {
          ...(opts.name !== undefined && { name: opts.name }),
          ...(opts.slug !== undefined && { slug: opts.slug }),
        };
        printOne(opts, await connect().configTypes.update(id, body), fields);
      }),
    );
}
