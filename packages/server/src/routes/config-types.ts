import { checkName, checkSlug, notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { getResource, listResource } from '../http/resource.ts';
import { errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { configTypeView, toConfigType } from '../views/config-types.ts';

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
    async (request) =>
      listResource(repos, configTypeView, request.query, (page) =>
        repos.configTypes.list(request.query, page),
      ),
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
    async (request) =>
      getResource(repos, configTypeView, {}, request.params.config_type_id, (id) =>
        repos.configTypes.get(id),
      ),
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
      const id = request.params.config_type_id;
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
