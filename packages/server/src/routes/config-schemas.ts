import {
  badRequest,
  checkFilepath,
  defaultInstanceFilepath,
  filepathProblem,
  LIMITS,
  schemaIdentityKey,
  unprocessable,
} from '@bosun/core';
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
import { checkSchemaShape, compileSchema, digestOf, validatorCache } from '../schema-languages/index.ts';
import type { Repositories } from '../storage/index.ts';
import { configSchemaView, SchemaFormat, SchemaLanguage } from '../views/config-schemas.ts';

const GitCommitRef = ResourceRef('git commit', 'sha');

const CreateConfigSchemaRequest = Type.Object({
  config_type_ref: ResourceRef('config type', 'slug'),
  instance_filepath: Type.Optional(
    Type.String({ description: 'Absolute, normalised path; default /srv/bosun/configs/<slug>.json.' }),
  ),
  language: SchemaLanguage,
  format: SchemaFormat,
  documents: Type.Array(
    Type.Object({ name: Type.String(), data: Type.String({ maxLength: LIMITS.bodyStringChars }) }),
    {
      maxItems: LIMITS.schemaDocuments,
      description: `JSON Schema: exactly one document. CUE: the files of one package. A JSON or YAML document nests at most ${LIMITS.documentDepth} levels and holds at most ${LIMITS.documentKeys} keys or items per object or array (400 limit_exceeded).`,
    },
  ),
  git_commit: Type.Optional(
    Type.Object({
      commit_ref: GitCommitRef,
      schema_filepaths: Type.Array(Type.String(), {
        description: 'Repository-relative path of each document, in the order of documents.',
      }),
    }),
  ),
});

const EXPAND = ['documents', 'config_type'];

export const configSchemaRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (
  app,
  { repos },
) => {
  const tags = ['Config Schemas'];

  app.post(
    '/config_schemas',
    {
      config: { scopes: ['config_schemas:write'] },
      schema: {
        tags,
        operationId: 'createConfigSchema',
        summary: 'Create',
        description:
          'Compiles the schema (422 with the compiler message if it does not compile or a default violates it). A schema equal in canonical content, config type, language, format and instance path to an existing one returns that schema.',
        querystring: ExpandQuery(EXPAND),
        body: CreateConfigSchemaRequest,
        response: { 200: Type.Ref('ConfigSchema'), ...errorResponses },
      },
    },
    async (request) => {
      const tree = expandParam(request.query, 'config_schema').tree;
      const body = request.body;
      const type = await repos.configTypes.resolve(body.config_type_ref);
      const instanceFilepath =
        body.instance_filepath === undefined
          ? defaultInstanceFilepath(type.slug)
          : checkFilepath('instance_filepath', body.instance_filepath);
      const source = { language: body.language, format: body.format, documents: body.documents };
      checkSchemaShape(source);
      const digest = digestOf(source);
      const gitCommitId = body.git_commit
        ? (await repos.gitCommits.resolve(body.git_commit.commit_ref)).id
        : null;
      const repositoryPaths = body.git_commit
        ? checkRepositoryPaths(body.git_commit.schema_filepaths, body.documents.length)
        : null;
      const identityKey = schemaIdentityKey({
        configTypeId: type.id,
        language: body.language,
        format: body.format,
        instanceFilepath,
        digest,
      });
      let row = await repos.configSchemas.findByIdentity(identityKey);
      if (!row) {
        const validator = await compileSchema(source);
        const created = await repos.configSchemas.create({
          config_type_id: type.id,
          language: body.language,
          format: body.format,
          instance_filepath: instanceFilepath,
          digest,
          identity_key: identityKey,
          git_commit_id: gitCommitId,
          documents: body.documents.map((d, i) => ({
            name: d.name,
            data: d.data,
            repository_path: repositoryPaths?.[i] ?? null,
          })),
        });
        row = created.row;
        if (created.created) validatorCache.set(row.id, validator);
      }
      return renderOne(repos, configSchemaView, row, tree);
    },
  );

  app.get(
    '/config_schemas',
    {
      config: { scopes: ['config_schemas:read'] },
      schema: {
        tags,
        operationId: 'listConfigSchemas',
        summary: 'List',
        querystring: ListQuery(
          { id: filter('Config schema ids.'), config_type_id: filter('Config type ids.') },
          EXPAND,
        ),
        response: { 200: PaginatedList(Type.Ref('ConfigSchema'), 'Config Schema List'), ...errorResponses },
      },
    },
    async (request) =>
      listResource(repos, configSchemaView, request.query, (page) =>
        repos.configSchemas.list(request.query, page),
      ),
  );

  app.get(
    '/config_schemas/:config_schema_id',
    {
      config: { scopes: ['config_schemas:read'] },
      schema: {
        tags,
        operationId: 'getConfigSchema',
        summary: 'Get',
        params: IdParam('config_schema_id', 'cfg_sch_...'),
        querystring: ExpandQuery(EXPAND),
        response: { 200: Type.Ref('ConfigSchema'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, configSchemaView, request.query, request.params.config_schema_id, (id) =>
        repos.configSchemas.get(id),
      ),
  );
};

/** One repository-relative, normalised path per document. */
function checkRepositoryPaths(paths: string[], documents: number): string[] {
  if (paths.length !== documents) {
    throw unprocessable(
      'invalid_schema_filepaths',
      `git_commit.schema_filepaths has ${paths.length} path(s) for ${documents} document(s); give one per document, in order.`,
      { field: 'git_commit.schema_filepaths' },
    );
  }
  for (const p of paths) {
    const problem = p.startsWith('/') ? 'must be relative to the repository root' : filepathProblem(`/${p}`);
    if (problem) {
      throw badRequest('invalid_filepath', `git_commit.schema_filepaths '${p}' ${problem}.`, {
        field: 'git_commit.schema_filepaths',
        value: p,
      });
    }
  }
  return paths;
}
