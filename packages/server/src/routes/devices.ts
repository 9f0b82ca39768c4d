import { checkName, notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { getResource, listResource } from '../http/resource.ts';
import { errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import { deviceSelection } from '../storage/device-selection.ts';
import type { Repositories } from '../storage/index.ts';
import { deviceView, toDevice } from '../views/devices.ts';

export const deviceRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  const tags = ['Devices'];

  app.post(
    '/devices',
    {
      // docs/decisions.md #14: the endpoint table says write, the authz page says provision; accept either.
      config: { scopes: ['devices:write', 'devices:provision'] },
      schema: {
        tags,
        operationId: 'createDevice',
        summary: 'Create',
        body: Type.Object({ name: Type.String({ description: 'Unique device name, 1–48 characters.' }) }),
        response: { 200: Type.Ref('Device'), ...errorResponses },
      },
    },
    async (request) => toDevice(await repos.devices.create({ name: checkName('name', request.body.name) })),
  );

  app.get(
    '/devices',
    {
      config: { scopes: ['devices:read'] },
      schema: {
        tags,
        operationId: 'listDevices',
        summary: 'List',
        querystring: ListQuery(
          {
            id: filter('Device ids.'),
            name: filter('Device names.'),
            agent_version: filter('Agent versions.'),
            group_id: filter('Members of these groups.'),
            include_subgroups: Type.Optional(
              Type.Boolean({ description: 'Extension: with group_id, members of their subgroups too.' }),
            ),
            tag_selector: Type.Optional(
              Type.String({
                description: "Extension: a tag selector such as 'env=prod,site in (berlin|munich),!retired'.",
              }),
            ),
          },
          [],
        ),
        response: { 200: PaginatedList(Type.Ref('Device'), 'Device List'), ...errorResponses },
      },
    },
    async (request) =>
      listResource(repos, deviceView, request.query, async (page) =>
        repos.devices.list(
          { ...request.query, ...(await deviceSelection(repos.groups, request.query)) },
          page,
        ),
      ),
  );

  app.get(
    '/devices/:device_id',
    {
      config: { scopes: ['devices:read'] },
      schema: {
        tags,
        operationId: 'getDevice',
        summary: 'Get',
        params: IdParam('device_id', 'dvc_...'),
        response: { 200: Type.Ref('Device'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, deviceView, {}, request.params.device_id, (id) => repos.devices.get(id)),
  );

  app.patch(
    '/devices/:device_id',
    {
      config: { scopes: ['devices:write'] },
      schema: {
        tags,
        operationId: 'updateDevice',
        summary: 'Update',
        params: IdParam('device_id', 'dvc_...'),
        body: Type.Object({ name: Type.Optional(Type.String({ description: 'Omitted: unchanged.' })) }),
        response: { 200: Type.Ref('Device'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.device_id;
      const name = request.body.name === undefined ? undefined : checkName('name', request.body.name);
      const row = await repos.devices.rename(id, name);
      if (!row) throw notFound('device', id);
      return toDevice(row);
    },
  );
};
