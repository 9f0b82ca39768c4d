import { checkReleaseSchemaSet, checkReleaseVersion, notFound, unprocessable } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { expandParam } from '../http/query.ts';
import { getResource, listResource, renderOne } from '../http/resource.ts';
import {
  ExpandQuery,
  errorResponses,
  filter,
  IdParam,
  ListQuery,
  PaginatedList,
  ResourceRef,
} from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { releaseView } from '../views/releases.ts';

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
          git_commit_ref: Type.Optional(ResourceRef('git commit', 'sha')),
        }),
        response: { 200: Type.Ref('Release'), ...errorResponses },
      },
    },
    async (request) => {
      const tree = expandParam(request.query, 'release').tree;
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
      const gitCommitId = body.git_commit_ref
        ? (await repos.gitCommits.resolve(body.git_commit_ref)).id
        : null;
      const row = await repos.releases.create({
        version,
        git_commit_id: gitCommitId,
        schemas: schemas.map((s) => ({
          id: s.id,
          config_type_id: s.config_type_id,
          instance_filepath: s.instance_filepath,
        })),
      });
      return renderOne(repos, releaseView, row, tree);
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
    async (request) =>
      listResource(repos, releaseView, request.query, (page) => repos.releases.list(request.query, page)),
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
    async (request) =>
      getResource(repos, releaseView, request.query, request.params.release_id, (id) =>
        repos.releases.get(id),
      ),
  );
};
