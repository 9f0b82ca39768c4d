import { checkCommitSha } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { getResource, listResource } from '../http/resource.ts';
import { errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { gitCommitView, toGitCommit } from '../views/git-commits.ts';

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
    async (request) =>
      listResource(repos, gitCommitView, request.query, (page) => repos.gitCommits.list(request.query, page)),
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
    async (request) =>
      getResource(repos, gitCommitView, {}, request.params.git_commit_id, (id) => repos.gitCommits.get(id)),
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
