import { checkCommitSha, notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { filterValues, listBody, listParams } from '../http/query.ts';
import { errorResponses, filter, IdParam, ListQuery, PaginatedList, Timestamp } from '../http/schemas.ts';
import type { GitCommitRow } from '../storage/git-commits.ts';
import type { Repositories } from '../storage/index.ts';

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

/** Longer messages are kept up to this size and truncated, rather than rejecting the commit. */
const MAX_MESSAGE_BYTES = 16 * 1024;

export const gitCommitRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  const tags = ['Git Commits'];

  app.post(
    '/git_commits',
    {
      config: { scopes: ['git_commits:write'] },
      schema: {
        tags,
        operationId: 'createGitCommit',
        summary: 'Create',
        description: 'Registers a commit. The same sha in the same repository returns the existing commit.',
        body: Type.Object({
          sha: Type.String({ description: 'Full commit hash.' }),
          message: Type.String(),
          origin: Type.String({
            description:
              'Remote URL (https, ssh or scp-like form) on GitHub, GitLab or Bitbucket, or on a self-hosted GitLab, GitHub Enterprise, Bitbucket Data Center or Gitea/Forgejo server (named after its software, or mapped by the operator with BOSUN_GIT_HOSTS).',
          }),
        }),
        response: { 200: Type.Ref('GitCommit'), ...errorResponses },
      },
    },
    async (request) => {
      const { row } = await repos.gitCommits.create({
        sha: checkCommitSha(request.body.sha),
        message: truncate(request.body.message),
        origin: request.body.origin,
      });
      return toGitCommit(row);
    },
  );

  app.get(
    '/git_commits',
    {
      config: { scopes: ['git_commits:read'] },
      schema: {
        tags,
        operationId: 'listGitCommits',
        summary: 'List',
        querystring: ListQuery({ id: filter('Git commit ids.'), sha: filter('Commit hashes.') }, []),
        response: { 200: PaginatedList(Type.Ref('GitCommit'), 'Git Commit List'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const params = listParams(q, 'git_commit');
      const page = await repos.gitCommits.list(
        { id: filterValues(q, 'id'), sha: filterValues(q, 'sha') },
        params.page,
      );
      return listBody(params, page.rows.map(toGitCommit), page.hasMore, page.totalCount);
    },
  );

  app.get(
    '/git_commits/:git_commit_id',
    {
      config: { scopes: ['git_commits:read'] },
      schema: {
        tags,
        operationId: 'getGitCommit',
        summary: 'Get',
        params: IdParam('git_commit_id', 'git_cmt_...'),
        response: { 200: Type.Ref('GitCommit'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.git_commit_id as string;
      const row = await repos.gitCommits.get(id);
      if (!row) throw notFound('git commit', id);
      return toGitCommit(row);
    },
  );
};

function truncate(message: string): string {
  const bytes = Buffer.from(message, 'utf8');
  if (bytes.length <= MAX_MESSAGE_BYTES) return message;
  // Cut before a character, never inside one (continuation bytes are 0b10xxxxxx).
  let end = MAX_MESSAGE_BYTES;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
