import type { ExpandTree } from '@bosun/core';
import type { ConfigSchemaRow } from '../storage/config-schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { configTypesById } from './config-types.ts';

export function toConfigSchema(row: ConfigSchemaRow) {
  return {
    object: 'config_schema' as const,
    id: row.id,
    digest: row.digest,
    config_type_name: row.config_type_name,
    instance_filepath: row.instance_filepath,
    created_at: row.created_at,
    updated_at: row.updated_at,
    config_type_id: row.config_type_id,
    language: row.language,
    format: row.format,
  };
}

export type ConfigSchemaView = ReturnType<typeof toConfigSchema> & {
  documents?: { id: string; name: string; data: string }[];
  config_type?: Awaited<ReturnType<typeof configTypesById>> extends Map<string, infer T> ? T : never;
};

/**
 * Renders schemas with the expansions of `tree` (`documents`, `config_type`). One query per expanded
 * field for the whole batch, never per row, so lists and nested expansions of releases, instances and
 * deployments stay cheap.
 */
export async function renderConfigSchemas(
  repos: Repositories,
  rows: readonly ConfigSchemaRow[],
  tree: ExpandTree = {},
): Promise<ConfigSchemaView[]> {
  const ids = rows.map((r) => r.id);
  const [documents, types] = await Promise.all([
    tree.documents ? repos.configSchemas.documents(ids) : undefined,
    tree.config_type
      ? configTypesById(
          repos,
          rows.map((r) => r.config_type_id),
        )
      : undefined,
  ]);
  return rows.map((row) => {
    const view: ConfigSchemaView = toConfigSchema(row);
    if (documents)
      view.documents = (documents.get(row.id) ?? []).map((d) => ({ id: d.id, name: d.name, data: d.data }));
    if (types) {
      const type = types.get(row.config_type_id);
      if (type) view.config_type = type;
    }
    return view;
  });
}
