import type { Release } from '@bosun/sdk';
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
} from '../api.ts';
import { printTable } from '../output.ts';

const columns: [string, (r: Release) => unknown][] = [
  ['ID', (r: any) => r.id],
  ['VERSION', (r: any) => r.version],
  ['GIT COMMIT', (r: any) => r.git_commit_id],
  ['CREATED', (r: any) => r.created_at],
];

export function registerReleasesCommands(program: Command): void {
  const releases = program
    .command('releases')
    .description('Releases (versioned sets of schemas; publish with `bosun release create`)');

  addListOptions(releases.command('list').description('List releases'))
    .option('--version <version...>', 'only these versions')
    .action(
      run(async (opts: ListOptions & { version?: string[] }) =>
        printList(opts, await fetchList(connect().releases, opts, { version: opts.version }), columns),
      ),
    );

  releases
    .command('get')
    .description('Show one release with its schemas')
    .argument('<release-id>', 'rls_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) => {
        const release: any = await connect().releases.get(id, { expand: ['config_schemas'] } as any);
        printOne(opts, release, columns);
        if (opts.json) return;
        process.stdout.write('\n');
        printTable(
          ['SCHEMA', 'CONFIG TYPE', 'LANGUAGE', 'INSTANCE PATH'],
          (release.config_schemas ?? []).map((s: any) => [
            s.id,
            s.config_type_name,
            s.language,
            s.instance_filepath,
          ]),
        );
      }),
    );
}
