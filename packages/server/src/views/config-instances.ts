import type { ExpandTree } from '@bosun/core';
import type { ConfigInstanceRow } from '../storage/config-instances.ts';
import type { Repositories } from '../storage/index.ts';
import { type ConfigSchemaView, renderConfigSchemas } from './config-schemas.ts';
import { configTypesById } from './config-types.ts';

export function toConfigInstance(row: ConfigInstanceRow) {
  return {
    object: 'config_instance' as const,
    id: row.id,
    config_type_name: row.config_type_name,
    filepath: row.filepath,
    created_at: row.created_at,
    config_schema_id: row.config_schema_id,
    config_type_id: row.config_type_id,
  };
}

export type ConfigInstanceView = ReturnType<typeof toConfigInstance> & {
  content?: { format: 'json'; data: string };
  config_schema?: ConfigSchemaView;
  config_type?: ConfigSchemaView['config_type'];
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
    tree.config_schema
      ? schemasById(
          repos,
          rows.map((r) => r.config_schema_id),
          tree.config_schema,
        )
      : undefined,
    tree.config_type
      ? configTypesById(
          repos,
          rows.map((r) => r.config_type_id),
        )
      : undefined,
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

async function schemasById(repos: Repositories, ids: string[], tree: ExpandTree) {
  const rows = await repos.configSchemas.getMany(ids);
  const rendered = await renderConfigSchemas(repos, [...rows.values()], tree);
  return new Map(rendered.map((s) => [s.id, s]));
}
