import { checkName, deviceStatus, notFound, parseTagSelector, type TagRequirement } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { filterValues, listBody, listParams } from '../http/query.ts';
import {
  errorResponses,
  filter,
  IdParam,
  ListQuery,
  NullableTimestamp,
  PaginatedList,
  Timestamp,
} from '../http/schemas.ts';
import type { DeviceRow } from '../storage/devices.ts';
import type { Repositories } from '../storage/index.ts';

export const Device = Type.Object(
  {
    object: Type.Literal('device'),
    id: Type.String({ examples: ['dvc_123'] }),
    name: Type.String(),
    status: Type.Union(['inactive', 'activating', 'online', 'offline'].map((s) => Type.Literal(s))),
    agent_version: Type.Union([Type.String(), Type.Null()]),
    last_connected_at: NullableTimestamp('When the agent last opened a connection.'),
    last_disconnected_at: NullableTimestamp('When the agent connection last dropped.'),
    created_at: Timestamp('When the device was created.'),
    updated_at: Timestamp('When the device was last updated.'),
  },
  { $id: 'Device', title: 'Device' },
);

export function toDevice(row: DeviceRow) {
  return {
    object: 'device' as const,
    id: row.id,
    name: row.name,
    // Online/offline is derived from presence at read time (the 60 s rule lives in core).
    status: deviceStatus(row, Date.now()),
    agent_version: row.agent_version,
    last_connected_at: row.last_connected_at,
    last_disconnected_at: row.last_disconnected_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

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
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const params = listParams(q, 'device');
      const page = await repos.devices.list(
        {
          id: filterValues(q, 'id'),
          name: filterValues(q, 'name'),
          agent_version: filterValues(q, 'agent_version'),
          ...(await deviceSelection(repos, q)),
        },
        params.page,
      );
      return listBody(params, page.rows.map(toDevice), page.hasMore, page.totalCount);
    },
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
    async (request) => {
      const id = request.params.device_id as string;
      const row = await repos.devices.get(id);
      if (!row) throw notFound('device', id);
      return toDevice(row);
    },
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
      const id = request.params.device_id as string;
      const name = request.body.name === undefined ? undefined : checkName('name', request.body.name);
      const row = await repos.devices.rename(id, name);
      if (!row) throw notFound('device', id);
      return toDevice(row);
    },
  );
};

/** The extension filters of the device list: groups (with subgroups when asked) and a tag selector. */
export async function deviceSelection(repos: Repositories, q: Record<string, unknown>) {
  const groups = filterValues(q, 'group_id');
  const out: { group_id?: string[]; tags?: TagRequirement[] } = {};
  if (groups) {
    const all = await Promise.all(
      groups.map((g) => repos.groups.withSubgroups(g, q.include_subgroups === true)),
    );
    out.group_id = [...new Set(all.flat())];
  }
  if (typeof q.tag_selector === 'string') out.tags = parseTagSelector(q.tag_selector);
  return out;
}
