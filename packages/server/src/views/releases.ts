import type { ExpandTree } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import type { ReleaseRow } from '../storage/releases.ts';
import { toRelease } from '../wire/releases.ts';
import { type ConfigSchemaView, configSchemaView } from './config-schemas.ts';
import { renderById, type View } from './view.ts';

export const Release = Type.Object(
  {
    object: Type.Literal('release'),
    id: Type.String({ examples: ['rls_123'] }),
    version: Type.String({ examples: ['v1.0.0'] }),
    git_commit_id: Type.Union([Type.String(), Type.Null()]),
    created_at: Timestamp('When the release was created.'),
    updated_at: Timestamp('When the release was last updated.'),
    config_schemas: Type.Optional(
      Type.Array(Type.Ref('ConfigSchema'), { description: 'Expanded with expand=config_schemas.' }),
    ),
  },
  { $id: 'Release', title: 'Release' },
);

export { toRelease };

export type ReleaseView = ReturnType<typeof toRelease> & { config_schemas?: ConfigSchemaView[] };

/**
 * Renders releases with `config_schemas[.documents|.config_type]` expanded when asked: two queries
 * (memberships, then the schemas with their own expansions) for the whole batch.
 */
export async function renderReleases(
  repos: Repositories,
  rows: readonly ReleaseRow[],
  tree: ExpandTree = {},
): Promise<ReleaseView[]> {
  if (!tree.config_schemas) return rows.map(toRelease);
  const members = await repos.releases.schemaIds(rows.map((r) => r.id));
  const schemaRows = await repos.configSchemas.getMany([...members.values()].flat());
  const rendered = await renderById(configSchemaView, repos, schemaRows.values(), tree.config_schemas);
  return rows.map((row) => ({
    ...toRelease(row),
    config_schemas: (members.get(row.id) ?? []).flatMap((id) => rendered.get(id) ?? []),
  }));
}

export const releaseView: View<ReleaseRow, ReleaseView> = {
  resource: 'release',
  noun: 'release',
  render: renderReleases,
};
