import { checkName, checkSlug, notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { filterValues, listBody, listParams } from '../http/query.ts';
import { errorResponses, filter, IdParam, ListQuery, PaginatedList, Timestamp } from '../http/schemas.ts';
import type { ConfigTypeRow } from '../storage/config-types.ts';
import type { Repositories } from '../storage/index.ts';

export const ConfigType = Type.Object(
  {
    object: Type.Literal('config_type'),
    id: Type.String({ examples: ['cfg_typ_123'] }),
    name: Type.String(),
    slug: Type.String(),
    created_at: Timestamp('When the config type was created.'),
    updated_at: Timestamp('When the config type was last updated.'),
  },
  { $id: 'ConfigType', title: 'Config Type' },
);

export function toConfigType(row: ConfigTypeRow) {
  return {
    object: 'config_type' as const,
    id: row.id,
    name: row.name,
    slug: row.slug,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const CreateConfigTypeRequest = Type.Object({
  name: Type.String({ description: 'Display name, 1–48 characters, unique.' }),
  slug: Type.String({ description: 'Code-friendly name: lowercase letters, digits and -, unique.' }),
});
const UpdateConfigTypeRequest = Type.Object({
  name: Type.Optional(Type.String()),
  slug: Type.Optional(Type.String({ description: 'May change only while the type has no schemas.' })),
});

export const configTypeRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (
  app,
  { repos },
) => {
  const tags = ['Config Types'];

  app.post(
    '/config_types',
    {
      config: { scopes: ['config_types:write'] },
      schema: {
        tags,
        operationId: 'createConfigType',
        summary: 'Create',
        body: CreateConfigTypeRequest,
        response: { 200: Type.Ref('ConfigType'), ...errorResponses },
      },
    },
    async (request) => {
      const row = await repos.configTypes.create({
        name: checkName('name', request.body.name),
        slug: checkSlug('slug', request.body.slug),
      });
      return toConfigType(row);
    },
  );

  app.get(
    '/config_types',
    {
      config: { scopes: ['config_types:read'] },
      schema: {
        tags,
        operationId: 'listConfigTypes',
        summary: 'List',
        querystring: ListQuery(
          { id: filter('Config type ids.'), name: filter('Names.'), slug: filter('Slugs.') },
          [],
        ),
        response: { 200: PaginatedList(Type.Ref('ConfigType'), 'Config Type List'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const params = listParams(q, 'config_type');
      const page = await repos.configTypes.list(
        { id: filterValues(q, 'id'), name: filterValues(q, 'name'), slug: filterValues(q, 'slug') },
        params.page,
      );
      return listBody(params, page.rows.map(toConfigType), page.hasMore, page.totalCount);
    },
  );

  app.get(
    '/config_types/:config_type_id',
    {
      config: { scopes: ['config_types:read'] },
      schema: {
        tags,
        operationId: 'getConfigType',
        summary: 'Get',
        params: IdParam('config_type_id', 'cfg_typ_...'),
        response: { 200: Type.Ref('ConfigType'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.config_type_id as string;
      const row = await repos.configTypes.get(id);
      if (!row) throw notFound('config type', id);
      return toConfigType(row);
    },
  );

  app.patch(
    '/config_types/:config_type_id',
    {
      config: { scopes: ['config_types:write'] },
      schema: {
        tags,
        operationId: 'updateConfigType',
        summary: 'Update',
        params: IdParam('config_type_id', 'cfg_typ_...'),
        body: UpdateConfigTypeRequest,
        response: { 200: Type.Ref('ConfigType'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.config_type_id as string;
      const { name, slug } = request.body;
      const row = await repos.configTypes.update(id, {
        ...(name !== undefined ? { name: checkName('name', name) } : {}),
        ...(slug !== undefined ? { slug: checkSlug('slug', slug) } : {}),
      });
      if (!row) throw notFound('config type', id);
      return toConfigType(row);
    },
  );
};
