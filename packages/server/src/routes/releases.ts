import { checkReleaseSchemaSet, checkReleaseVersion, notFound, unprocessable } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { expandParam, filterValues, listBody, listParams } from '../http/query.ts';
import {
  ExpandQuery,
  errorResponses,
  filter,
  IdParam,
  ListQuery,
  PaginatedList,
  Timestamp,
} from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { renderReleases } from '../views/releases.ts';
import { GitCommitRef, resolveGitCommit } from './config-schemas.ts';

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

const EXPAND = ['config_schemas'];

export const releaseRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  const tags = ['Releases'];

  app.post(
    '/releases',
    {
      config: { scopes: ['releases:write'] },
      schema: {
        tags,
        operationId: 'createRelease',
        summary: 'Create',
        description:
          'Version: 1–3 numbers with optional v, -prerelease and +build; unique (v1.2.0 = 1.2.0: 409). At least one schema, at most one per config type, distinct instance paths (422). The schema set never changes.',
        querystring: ExpandQuery(EXPAND),
        body: Type.Object({
          version: Type.String(),
          config_schema_ids: Type.Array(Type.String()),
          git_commit_ref: Type.Optional(GitCommitRef),
        }),
        response: { 200: Type.Ref('Release'), ...errorResponses },
      },
    },
    async (request) => {
      const expand = expandParam(request.query as Record<string, unknown>, 'release');
      const body = request.body;
      const version = checkReleaseVersion(body.version);
      const ids = body.config_schema_ids;
      const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
      if (repeated.length) {
        throw unprocessable('invalid_schema_set', `config_schema_ids lists ${repeated[0]} more than once.`, {
          field: 'config_schema_ids',
          value: repeated[0],
        });
      }
      const found = await repos.configSchemas.getMany(ids);
      const missing = ids.find((id) => !found.has(id));
      if (missing !== undefined) throw notFound('config schema', missing);
      const schemas = ids.map((id) => found.get(id)!);
      checkReleaseSchemaSet(schemas);
      const gitCommitId = body.git_commit_ref ? await resolveGitCommit(repos, body.git_commit_ref) : null;
      const row = await repos.releases.create({
        version,
        git_commit_id: gitCommitId,
        schemas: schemas.map((s) => ({
          id: s.id,
          config_type_id: s.config_type_id,
          instance_filepath: s.instance_filepath,
        })),
      });
      return (await renderReleases(repos, [row], expand.tree))[0]!;
    },
  );

  app.get(
    '/releases',
    {
      config: { scopes: ['releases:read'] },
      schema: {
        tags,
        operationId: 'listReleases',
        summary: 'List',
        querystring: ListQuery(
          {
            id: filter('Release ids.'),
            version: filter('Versions (v1.2.0 and 1.2.0 match the same release).'),
          },
          EXPAND,
        ),
        response: { 200: PaginatedList(Type.Ref('Release'), 'Release List'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const params = listParams(q, 'release');
      const page = await repos.releases.list(
        { id: filterValues(q, 'id'), version: filterValues(q, 'version') },
        params.page,
      );
      const data = await renderReleases(repos, page.rows, params.expand.tree);
      return listBody(params, data, page.hasMore, page.totalCount);
    },
  );

  app.get(
    '/releases/:release_id',
    {
      config: { scopes: ['releases:read'] },
      schema: {
        tags,
        operationId: 'getRelease',
        summary: 'Get',
        params: IdParam('release_id', 'rls_...'),
        querystring: ExpandQuery(EXPAND),
        response: { 200: Type.Ref('Release'), ...errorResponses },
      },
    },
    async (request) => {
      const expand = expandParam(request.query as Record<string, unknown>, 'release');
      const id = request.params.release_id as string;
      const row = await repos.releases.get(id);
      if (!row) throw notFound('release', id);
      return (await renderReleases(repos, [row], expand.tree))[0]!;
    },
  );
};
