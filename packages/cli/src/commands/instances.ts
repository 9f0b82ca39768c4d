import { readFileSync } from 'node:fs';
import type { ConfigInstance } from '@bosun/sdk';
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

const columns: [string, (i: ConfigInstance) => unknown][] = [
  ['ID', (i: any) => i.id],
  ['CONFIG TYPE', (i: any) => i.config_type_name],
  ['SCHEMA', (i: any) => i.config_schema_id],
  ['FILEPATH', (i: any) => i.filepath],
  ['CREATED', (i: any) => i.created_at],
];

export function registerInstanceCommands(program: Command): void {
  const instances = program
    .command('instances')
    .description('Config instances (config files validated against a schema; immutable)');

  instances
    .command('create')
    .description('Create a config instance from a JSON file; the server validates it against the schema')
    .requiredOption('--schema <config-schema-id>', 'the schema the content must satisfy (cfg_sch_...)')
    .requiredOption('--file <path>', 'JSON file with the content (stored byte for byte), or - for stdin')
    .addOption(jsonOption())
    .action(
      run(async (opts: JsonOption & { schema: string; file: string }) => {
        let data: string;
        try {
          data = opts.file === '-' ? readFileSync(0, 'utf8') : readFileSync(opts.file, 'utf8');
        } catch (err) {
          throw new UsageError(`cannot read --file ${opts.file}: ${(err as Error).message}`);
        }
        const instance = await connect().configInstances.create({
          config_schema_id: opts.schema,
          content: { format: 'json', data },
        } as any);
        printOne(opts, instance, columns);
      }),
    );

  addListOptions(instances.command('list').description('List config instances'))
    .option('--schema <id...>', 'only instances of these schema ids')
    .option('--config-type <id...>', 'only instances of these config type ids')
    .option('--id <id...>', 'only these instance ids')
    .action(
      run(async (opts: ListOptions & { schema?: string[]; configType?: string[]; id?: string[] }) =>
        printList(
          opts,
          await fetchList(connect().configInstances, opts, {
            config_schema_id: opts.schema,
            config_type_id: opts.configType,
            id: opts.id,
          }),
          columns,
        ),
      ),
    );

  instances
    .command('get')
    .description('Show one config instance')
    .argument('<config-instance-id>', 'cfg_inst_...')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption) =>
        printOne(opts, await connect().configInstances.get(id), columns),
      ),
    );

  instances
    .command('content')
    .description("Print the instance's file exactly as stored")
    .argument('<config-instance-id>', 'cfg_inst_...')
    .action(
      run(async (id: string) => {
        process.stdout.write(await connect().configInstances.content(id));
      }),
    );
}
