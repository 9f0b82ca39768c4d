import type { ExpandTree } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { ConfigSchemaRow } from '../storage/config-schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { type ConfigTypeView, expandConfigTypes } from './config-types.ts';
import type { View } from './view.ts';

export const SchemaLanguage = Type.Union([Type.Literal('jsonschema'), Type.Literal('cue')]);
export const SchemaFormat = Type.Union([Type.Literal('json'), Type.Literal('yaml'), Type.Literal('cue')]);

export const ConfigSchema = Type.Object(
  {
    object: Type.Literal('config_schema'),
    id: Type.String({ examples: ['cfg_sch_123'] }),
    digest: Type.String({
      description: 'sha256:<hex> of the canonical content (formatting and key order ignored).',
    }),
    config_type_name: Type.String({ description: 'Current name of the config type.' }),
    instance_filepath: Type.String({
      description: 'Absolute path on the device where instances are written.',
    }),
    created_at: Timestamp('When the schema was created.'),
    updated_at: Timestamp('When the schema was last updated.'),
    config_type_id: Type.String(),
    language: SchemaLanguage,
    format: SchemaFormat,
    documents: Type.Optional(
      Type.Array(
        Type.Object({
          id: Type.String({ examples: ['doc_123'] }),
          name: Type.String(),
          data: Type.String({ description: 'The document exactly as uploaded.' }),
        }),
        { description: 'Expanded with expand=documents.' },
      ),
    ),
    config_type: Type.Optional(Type.Ref('ConfigType')),
  },
  { $id: 'ConfigSchema', title: 'Config Schema' },
);

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
  config_type?: ConfigTypeView;
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
  const [documents, types] = await Promise.all([
    tree.documents ? repos.configSchemas.documents(rows.map((r) => r.id)) : undefined,
    expandConfigTypes(
      repos,
      tree.config_type,
      rows.map((r) => r.config_type_id),
    ),
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

export const configSchemaView: View<ConfigSchemaRow, ConfigSchemaView> = {
  resource: 'config_schema',
  noun: 'config schema',
  render: renderConfigSchemas,
};
