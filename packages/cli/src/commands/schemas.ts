import type { ConfigSchema } from '@bosun/sdk';
import type { Command } from 'commander';
import { type ResourceDef, registerResource } from '../resource.ts';

export const schemas: ResourceDef<ConfigSchema> = {
  command: 'schemas',
  description: 'Config schemas (published by `bosun release create`; immutable)',
  noun: 'config schema',
  idHint: 'cfg_sch_...',
  api: (c) => c.configSchemas,
  columns: [
    ['ID', (s) => s.id],
    ['CONFIG TYPE', (s) => s.config_type_name],
    ['LANGUAGE', (s) => s.language],
    ['FORMAT', (s) => s.format],
    ['INSTANCE PATH', (s) => s.instance_filepath],
    ['CREATED', (s) => s.created_at],
  ],
  details: [
    ['DIGEST', (s) => s.digest],
    ['CONFIG TYPE ID', (s) => s.config_type_id],
  ],
  list: {
    description: 'List config schemas',
    filters: [
      {
        flags: '--config-type <config-type...>',
        description: 'only schemas of these config types (id or slug)',
        query: 'config_type_id',
        ref: 'configType',
      },
      { flags: '--id <id...>', description: 'only these schema ids', query: 'id' },
    ],
  },
  get: {
    description: 'Show one config schema; --documents prints its files',
    options: (cmd) => cmd.option('--documents', 'include the schema documents (their text, byte for byte)'),
    expand: (opts) => (opts.documents ? ['documents'] : undefined),
    after(schema, opts) {
      if (!opts.documents) return;
      for (const doc of schema.documents ?? []) {
        process.stdout.write(`\n--- ${doc.name}\n${doc.data}${doc.data.endsWith('\n') ? '' : '\n'}`);
      }
    },
  },
};

export function registerSchemaCommands(program: Command): void {
  registerResource(program, schemas);
}
