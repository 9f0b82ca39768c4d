import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { GitCommitRow } from '../storage/git-commits.ts';
import { plainView } from './view.ts';

export const GitCommit = Type.Object(
  {
    object: Type.Literal('git_commit'),
    id: Type.String({ examples: ['git_cmt_123'] }),
    sha: Type.String(),
    message: Type.String(),
    repository_owner: Type.String(),
    repository_name: Type.String(),
    repository_type: Type.Union(['github', 'gitlab', 'bitbucket'].map((s) => Type.Literal(s))),
    repository_url: Type.String(),
    commit_url: Type.String(),
    created_at: Timestamp('When the commit was registered.'),
  },
  { $id: 'GitCommit', title: 'Git Commit' },
);

export function toGitCommit(row: GitCommitRow) {
  return {
    object: 'git_commit' as const,
    id: row.id,
    sha: row.sha,
    message: row.message,
    repository_owner: row.repository_owner,
    repository_name: row.repository_name,
    repository_type: row.repository_type,
    repository_url: row.repository_url,
    commit_url: row.commit_url,
    created_at: row.created_at,
  };
}

export const gitCommitView = plainView('git_commit', 'git commit', toGitCommit);
