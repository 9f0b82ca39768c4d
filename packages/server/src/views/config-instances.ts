import { type ExpandTree, LIMITS } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { ConfigInstanceRow } from '../storage/config-instances.ts';
import type { Repositories } from '../storage/index.ts';
import { toConfigInstance } from '../wire/config-instances.ts';
import { type ConfigSchemaView, configSchemaView } from './config-schemas.ts';
import { type ConfigTypeView, expandConfigTypes } from './config-types.ts';
import { related, type View } from './view.ts';

export const InstanceContent = Type.Object({
  format: Type.Literal('json', { description: 'Format of data; tetons knows only json.' }),
  data: Type.String({
    maxLength: LIMITS.bodyStringChars,
    description: `The file text, stored and served byte for byte. JSON nesting at most ${LIMITS.documentDepth} levels, at most ${LIMITS.documentKeys} keys or items per object or array; no NUL character (400).`,
  }),
});

export const ConfigInstance = Type.Object(
  {
    object: Type.Literal('config_instance'),
    id: Type.String({ examples: ['cfg_inst_123'] }),
    config_type_name: Type.String({ description: 'Current name of the config type.' }),
    filepath: Type.String({ description: "Absolute path on the device (the schema's instance_filepath)." }),
    created_at: Timestamp('When the instance was created.'),
    config_schema_id: Type.String(),
    config_type_id: Type.String(),
    config_schema: Type.Optional(Type.Ref('ConfigSchema')),
    config_type: Type.Optional(Type.Ref('ConfigType')),
    content: Type.Optional(InstanceContent),
  },
  { $id: 'ConfigInstance', title: 'Config Instance' },
);

export { toConfigInstance };

export type ConfigInstanceView = ReturnType<typeof toConfigInstance> & {
  content?: { format: 'json'; data: string };
  config_schema?: ConfigSchemaView;
  config_type?: ConfigTypeView;
};

/**
 * Renders instances with the expansions of `tree` (`content`, `config_schema[.documents|.config_type]`,
 * `config_type`), batched: one query per expanded relation for all rows. Content is the stored text,
 * byte for byte.
 */
export async function renderConfigInstances(
  repos: Repositories,
  rows: readonly ConfigInstanceRow[],
  tree: ExpandTree = {},
): Promise<ConfigInstanceView[]> {
  const [schemas, types] = await Promise.all([
    related(
      repos,
      configSchemaView,
      tree.config_schema,
      rows.map((r) => r.config_schema_id),
      (ids) => repos.configSchemas.getMany(ids),
    ),
    expandConfigTypes(
      repos,
      tree.config_type,
      rows.map((r) => r.config_type_id),
    ),
  ]);
  return rows.map((row) => {
    const view: ConfigInstanceView = toConfigInstance(row);
    if (tree.content) view.content = { format: row.format, data: row.data };
    const schema = schemas?.get(row.config_schema_id);
    if (schema) view.config_schema = schema;
    const type = types?.get(row.config_type_id);
    if (type) view.config_type = type;
    return view;
  });
}

export const configInstanceView: View<ConfigInstanceRow, ConfigInstanceView> = {
  resource: 'config_instance',
  noun: 'config instance',
  render: renderConfigInstances,
};
