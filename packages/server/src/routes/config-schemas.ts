import {
  BosunError,
  badRequest,
  checkFilepath,
  defaultInstanceFilepath,
  filepathProblem,
  LIMITS,
  notFound,
  schemaIdentityKey,
  unprocessable,
} from '@bosun/core';
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
import { checkSchemaShape, compileSchema, digestOf, validatorCache } from '../schema-languages/index.ts';
import type { Repositories } from '../storage/index.ts';
import { renderConfigSchemas } from '../views/config-schemas.ts';

const Language = Type.Union([Type.Literal('jsonschema'), Type.Literal('cue')]);
const Format = Type.Union([Type.Literal('json'), Type.Literal('yaml'), Type.Literal('cue')]);

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
    language: Language,
    format: Format,
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

const Ref = (name: string, key: string) =>
  Type.Object(
    { id: Type.Optional(Type.String()), [key]: Type.Optional(Type.String()) },
    { description: `A reference to a ${name}: id, or ${key} when no id is given (id wins).` },
  );
export const GitCommitRef = Ref('git commit', 'sha');

const CreateConfigSchemaRequest = Type.Object({
  config_type_ref: Ref('config type', 'slug'),
  instance_filepath: Type.Optional(
    Type.String({ description: 'Absolute, normalised path; default /srv/bosun/configs/<slug>.json.' }),
  ),
  language: Language,
  format: Format,
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
      const expand = expandParam(request.query as Record<string, unknown>, 'config_schema');
      const body = request.body;
      const type = await resolveConfigType(repos, body.config_type_ref);
      const instanceFilepath =
        body.instance_filepath === undefined
          ? defaultInstanceFilepath(type.slug)
          : checkFilepath('instance_filepath', body.instance_filepath);
      const source = { language: body.language, format: body.format, documents: body.documents };
      checkSchemaShape(source);
      const digest = digestOf(source);
      const gitCommitId = body.git_commit ? await resolveGitCommit(repos, body.git_commit.commit_ref) : null;
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
      return (await renderConfigSchemas(repos, [row], expand.tree))[0]!;
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
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const params = listParams(q, 'config_schema');
      const page = await repos.configSchemas.list(
        { id: filterValues(q, 'id'), config_type_id: filterValues(q, 'config_type_id') },
        params.page,
      );
      const data = await renderConfigSchemas(repos, page.rows, params.expand.tree);
      return listBody(params, data, page.hasMore, page.totalCount);
    },
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
    async (request) => {
      const expand = expandParam(request.query as Record<string, unknown>, 'config_schema');
      const id = request.params.config_schema_id as string;
      const row = await repos.configSchemas.get(id);
      if (!row) throw notFound('config schema', id);
      return (await renderConfigSchemas(repos, [row], expand.tree))[0]!;
    },
  );
};

/** `{id?, slug?}`: the id wins when both are given; an unknown type is a 404. */
async function resolveConfigType(repos: Repositories, ref: { id?: string; slug?: string }) {
  if (ref.id !== undefined) {
    const row = await repos.configTypes.get(ref.id);
    if (!row) throw notFound('config type', ref.id);
    return row;
  }
  if (ref.slug !== undefined) {
    const row = await repos.configTypes.getBySlug(ref.slug);
    if (!row)
      throw new BosunError(404, 'resource_not_found', `No config type with slug '${ref.slug}' exists.`, {
        resource: 'config type',
        slug: ref.slug,
      });
    return row;
  }
  throw badRequest('invalid_request', 'config_type_ref needs an id or a slug.', { field: 'config_type_ref' });
}

/** `{id?, sha?}`: the id wins when both are given; an unknown commit is a 404. */
export async function resolveGitCommit(
  repos: Repositories,
  ref: { id?: string; sha?: string },
): Promise<string> {
  if (ref.id !== undefined) {
    const row = await repos.gitCommits.get(ref.id);
    if (!row) throw notFound('git commit', ref.id);
    return row.id;
  }
  if (ref.sha !== undefined) {
    const row = await repos.gitCommits.getBySha(ref.sha);
    if (!row)
      throw new BosunError(404, 'resource_not_found', `No git commit with sha '${ref.sha}' exists.`, {
        resource: 'git commit',
        sha: ref.sha,
      });
    return row.id;
  }
  throw badRequest('invalid_request', 'A git commit reference needs an id or a sha.', {
    field: 'commit_ref',
  });
}

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
