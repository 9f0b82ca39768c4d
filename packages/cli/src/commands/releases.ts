import type { Release } from '@bosun/sdk';
import type { Command } from 'commander';
import { printTable } from '../output.ts';
import { type ResourceDef, registerResource } from '../resource.ts';

export const releases: ResourceDef<Release> = {
  command: 'releases',
  description: 'Releases (versioned sets of schemas; publish with `bosun release create`)',
  noun: 'release',
  idHint: 'rls_...',
  ref: 'release',
  api: (c) => c.releases,
  columns: [
    ['ID', (r) => r.id],
    ['VERSION', (r) => r.version],
    ['GIT COMMIT', (r) => r.git_commit_id],
    ['CREATED', (r) => r.created_at],
  ],
  list: {
    description: 'List releases',
    filters: [{ flags: '--version <version...>', description: 'only these versions', query: 'version' }],
  },
  get: {
    description: 'Show one release with its schemas',
    expand: () => ['config_schemas'],
    after(release) {
      process.stdout.write('\n');
      printTable(
        ['SCHEMA', 'CONFIG TYPE', 'LANGUAGE', 'INSTANCE PATH'],
        (release.config_schemas ?? []).map((s) => [
          s.id,
          s.config_type_name,
          s.language,
          s.instance_filepath,
        ]),
      );
    },
  },
};

export function registerReleasesCommands(program: Command): void {
  registerResource(program, releases);
}
