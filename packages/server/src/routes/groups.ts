import { checkName, checkTags, notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { expandParam } from '../http/query.ts';
import { getResource, listResource, renderOne } from '../http/resource.ts';
import { ExpandQuery, errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import type { GroupRow } from '../storage/groups.ts';
import type { Repositories } from '../storage/index.ts';
import { groupView, toDeviceMembership, toGroup } from '../views/groups.ts';

/**
 * Groups with the shape of the Miru `2026-08-17` API (`/groups`: list, create, get, rename, move;
 * `expand=parent`), and Bosun extensions for membership (assign/unassign, bulk) and device tags.
 */

const EXTENSION = { 'x-bosun-extension': true } as const;

const DeviceIds = Type.Object({
  device_ids: Type.Array(Type.String(), {
    minItems: 1,
    maxItems: 1000,
    description: 'Device ids (dvc_...).',
  }),
});

export const groupRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  const tags = ['Groups'];
  const groupId = IdParam('group_id', 'grp_...');
  const one = (row: GroupRow, query: Parameters<typeof expandParam>[0]) =>
    renderOne(repos, groupView, row, expandParam(query, 'group').tree);

  app.get(
    '/groups',
    {
      config: { scopes: ['groups:read'] },
      schema: {
        tags,
        operationId: 'listGroups',
        summary: 'List',
        querystring: ListQuery(
          { id: filter('Group ids.'), name: filter('Group names.'), parent_id: filter('Parent group ids.') },
          ['parent'],
        ),
        response: { 200: PaginatedList(Type.Ref('Group'), 'Group List'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return listResource(repos, groupView, q, (page) =>
        repos.groups.list({ id: q.id, name: q.name, parent_id: q.parent_id }, page),
      );
    },
  );

  app.post(
    '/groups',
    {
      config: { scopes: ['groups:write'] },
      schema: {
        tags,
        operationId: 'createGroup',
        summary: 'Create',
        querystring: ExpandQuery(['parent']),
        body: Type.Object({
          name: Type.String({ description: 'Unique group name, 1–48 characters.' }),
          parent_id: Type.Optional(
            Type.Union([Type.String(), Type.Null()], {
              description: 'Parent group; omitted or null: a root group.',
            }),
          ),
        }),
        response: { 200: Type.Ref('Group'), ...errorResponses },
      },
    },
    async (request) => {
      expandParam(request.query, 'group');
      const row = await repos.groups.create({
        name: checkName('name', request.body.name),
        parent_id: request.body.parent_id ?? null,
      });
      return one(row, request.query);
    },
  );

  app.get(
    '/groups/:group_id',
    {
      config: { scopes: ['groups:read'] },
      schema: {
        tags,
        operationId: 'getGroup',
        summary: 'Get',
        params: groupId,
        querystring: ExpandQuery(['parent']),
        response: { 200: Type.Ref('Group'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, groupView, request.query, request.params.group_id, (id) => repos.groups.get(id)),
  );

  app.patch(
    '/groups/:group_id',
    {
      config: { scopes: ['groups:write'] },
      schema: {
        tags,
        operationId: 'updateGroup',
        summary: 'Update',
        params: groupId,
        querystring: ExpandQuery(['parent']),
        body: Type.Object({ name: Type.Optional(Type.String({ description: 'Omitted: unchanged.' })) }),
        response: { 200: Type.Ref('Group'), ...errorResponses },
      },
    },
    async (request) => {
      expandParam(request.query, 'group');
      const name = request.body.name === undefined ? undefined : checkName('name', request.body.name);
      return one(await repos.groups.rename(request.params.group_id, name), request.query);
    },
  );

  app.post(
    '/groups/:group_id/move',
    {
      config: { scopes: ['groups:write'] },
      schema: {
        tags,
        operationId: 'moveGroup',
        summary: 'Move',
        description:
          'Move the group (with its subgroups) under another group, or to the root with parent_id null.',
        params: groupId,
        querystring: ExpandQuery(['parent']),
        body: Type.Object({ parent_id: Type.Union([Type.String(), Type.Null()]) }),
        response: { 200: Type.Ref('Group'), ...errorResponses },
      },
    },
    async (request) => {
      expandParam(request.query, 'group');
      const parentId = request.body.parent_id;
      if (parentId !== null && !(await repos.groups.get(parentId))) throw notFound('group', parentId);
      return one(await repos.groups.move(request.params.group_id, parentId), request.query);
    },
  );

  const membership = (
    path: string,
    operationId: string,
    summary: string,
    run: (groupId: string, deviceIds: string[]) => Promise<void>,
  ) =>
    app.post(
      path,
      {
        config: { scopes: ['groups:write'] },
        schema: {
          ...EXTENSION,
          tags,
          operationId,
          summary,
          params: groupId,
          body: DeviceIds,
          response: { 200: Type.Ref('Group'), ...errorResponses },
        },
      },
      async (request) => {
        const id = request.params.group_id;
        await run(id, request.body.device_ids);
        return toGroup((await repos.groups.get(id))!);
      },
    );
  membership('/groups/:group_id/devices/assign', 'assignGroupDevices', 'Assign devices', (g, d) =>
    repos.groups.assign(g, d),
  );
  membership('/groups/:group_id/devices/unassign', 'unassignGroupDevices', 'Unassign devices', (g, d) =>
    repos.groups.unassign(g, d),
  );

  const deviceId = IdParam('device_id', 'dvc_...');
  const membershipOf = async (id: string) =>
    toDeviceMembership(id, (await repos.groups.membership([id])).get(id)!);

  app.get(
    '/devices/:device_id/membership',
    {
      config: { scopes: ['devices:read'] },
      schema: {
        ...EXTENSION,
        tags: ['Devices'],
        operationId: 'getDeviceMembership',
        summary: 'Group and tags',
        description: "Extension: the device's group (group_id, null when none) and its tags.",
        params: deviceId,
        response: { 200: Type.Ref('DeviceMembership'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.device_id;
      if (!(await repos.devices.get(id))) throw notFound('device', id);
      return membershipOf(id);
    },
  );

  app.put(
    '/devices/:device_id/tags',
    {
      config: { scopes: ['devices:write'] },
      schema: {
        ...EXTENSION,
        tags: ['Devices'],
        operationId: 'setDeviceTags',
        summary: 'Set tags',
        description: "Extension: replace the device's tags (key/value labels such as env=prod).",
        params: deviceId,
        body: Type.Object({ tags: Type.Record(Type.String(), Type.String()) }),
        response: { 200: Type.Ref('DeviceMembership'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.device_id;
      await repos.groups.setTags(id, checkTags(request.body.tags));
      return membershipOf(id);
    },
  );
};
