import type { ReleaseTable } from '../db/schema.ts';

export function toRelease(row: ReleaseTable) {
  return {
    object: 'release' as const,
    id: row.id,
    version: row.version,
    git_commit_id: row.git_commit_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}
