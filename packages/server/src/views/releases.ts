import type { ExpandTree } from '@bosun/core';
import type { Repositories } from '../storage/index.ts';
import type { ReleaseRow } from '../storage/releases.ts';
import { type ConfigSchemaView, renderConfigSchemas } from './config-schemas.ts';

export function toRelease(row: ReleaseRow) {
  return {
    object: 'release' as const,
    id: row.id,
    version: row.version,
    git_commit_id: row.git_commit_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

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
  const rendered = new Map(
    (await renderConfigSchemas(repos, [...schemaRows.values()], tree.config_schemas)).map((s) => [s.id, s]),
  );
  return rows.map((row) => ({
    ...toRelease(row),
    config_schemas: (members.get(row.id) ?? []).map((id) => rendered.get(id)!).filter(Boolean),
  }));
}
