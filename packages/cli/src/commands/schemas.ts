import type { ConfigSchema } from '@bosun/sdk';
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

const columns: [string, (s: ConfigSchema) => unknown][] = [
  ['ID', (s: any) => s.id],
  ['CONFIG TYPE', (s: any) => s.config_type_name],
  ['LANGUAGE', (s: any) => s.language],
  ['FORMAT', (s: any) => s.format],
  ['INSTANCE PATH', (s: any) => s.instance_filepath],
  ['CREATED', (s: any) => s.created_at],
];

export function registerSchemaCommands(program: Command): void {
  const schemas = program
    .command('schemas')
    .description('Config schemas (published by `bosun release create`; immutable)');

  addListOptions(schemas.command('list').description('List config schemas'))
    .option('--config-type <id...>', 'only schemas of these config type ids')
    .option('--id <id...>', 'only these schema ids')
    .action(
      run(async (opts: ListOptions & { configType?: string[]; id?: string[] }) =>
        printList(
          opts,
          await fetchList(connect().configSchemas, opts, { config_type_id: opts.configType, id: opts.id }),
          columns,
        ),
      ),
    );

  schemas
    .command('get')
    .description('Show one config schema; --documents prints its files')
    .argument('<config-schema-id>', 'cfg_sch_...')
    .option('--documents', 'include the schema documents (their text, byte for byte)')
    .addOption(jsonOption())
    .action(
      run(async (id: string, opts: JsonOption & { documents?: boolean }) => {
        const schema: any = await connect().configSchemas.get(
          id,
          opts.documents ? ({ expand: ['documents'] } as any) : {},
        );
        printOne(opts, schema, [
          ...columns,
          ['DIGEST', (s: any) => s.digest],
          ['CONFIG TYPE ID', (s: any) => s.config_type_id],
        ]);
        if (!opts.json && opts.documents) {
          for (const doc of schema.documents ?? []) {
            process.stdout.write(`\n--- ${doc.name}\n${doc.data}${doc.data.endsWith('\n') ? '' : '\n'}`);
          }
        }
      }),
    );
}
