import { readFileSync } from 'node:fs';
import type { ConfigInstance } from '@bosun/sdk';
import type { Command } from 'commander';
import { type JsonOption, UsageError } from '../api.ts';
import { type ActionContext, type ResourceDef, registerResource } from '../resource.ts';

export const instances: ResourceDef<ConfigInstance> = {
  command: 'instances',
  description: 'Config instances (config files validated against a schema; immutable)',
  noun: 'config instance',
  idHint: 'cfg_inst_...',
  api: (c) => c.configInstances,
  columns: [
    ['ID', (i) => i.id],
    ['CONFIG TYPE', (i) => i.config_type_name],
    ['SCHEMA', (i) => i.config_schema_id],
    ['FILEPATH', (i) => i.filepath],
    ['CREATED', (i) => i.created_at],
  ],
  list: {
    description: 'List config instances',
    filters: [
      {
        flags: '--schema <id...>',
        description: 'only instances of these schema ids',
        query: 'config_schema_id',
      },
      {
        flags: '--config-type <config-type...>',
        description: 'only instances of these config types (id or slug)',
        query: 'config_type_id',
        ref: 'configType',
      },
      { flags: '--id <id...>', description: 'only these instance ids', query: 'id' },
    ],
  },
  get: { description: 'Show one config instance' },
  actions: [
    {
      name: 'create',
      description: 'Create a config instance from a JSON file; the server validates it against the schema',
      target: false,
      options: (cmd) =>
        cmd
          .requiredOption('--schema <config-schema-id>', 'the schema the content must satisfy (cfg_sch_...)')
          .requiredOption(
            '--file <path>',
            'JSON file with the content (stored byte for byte), or - for stdin',
          ),
      run: ({ client, opts }: ActionContext<JsonOption & { schema: string; file: string }>) =>
        client.configInstances.create({
          config_schema_id: opts.schema,
          content: { format: 'json', data: readContent(opts.file, '--file') },
        }),
    },
    {
      name: 'content',
      description: "Print the instance's file exactly as stored",
      json: false,
      async run({ client, id }) {
        process.stdout.write(await client.configInstances.content(id));
        return undefined;
      },
    },
  ],
};

export function registerInstanceCommands(program: Command): void {
  registerResource(program, instances);
}

/** A content file (`-` is stdin); an unreadable one is a usage error naming the option. */
export function readContent(file: string, option: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${option} ${file}: ${(err as Error).message}`);
  }
}
