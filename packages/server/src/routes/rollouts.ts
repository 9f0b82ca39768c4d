import {
  badRequest,
  checkRolloutPlan,
  checkStrategy,
  notFound,
  parsePage,
  parseTagSelector,
  ROLLOUT_STATUSES,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { expandParam } from '../http/query.ts';
import { getResource, listResource, renderOne } from '../http/resource.ts';
import {
  ExpandQuery,
  enumFilter,
  errorResponses,
  filter,
  IdParam,
  ListQuery,
  PaginatedList,
} from '../http/schemas.ts';
import type { RolloutDriver } from '../rollouts/driver.ts';
import type { Repositories } from '../storage/index.ts';
import type { RolloutPlan, RolloutRow, RolloutSelection } from '../storage/rollouts.ts';
import { rolloutView, toRolloutEvent, WaveSpec } from '../views/rollouts.ts';

/** `/rollouts` (extension, docs/decisions.md #78): a release over a selection of devices, in waves. */

const EXTENSION = { 'x-bosun-extension': true } as const;

const CreateRolloutRequest = Type.Object({
  description: Type.String({ minLength: 1, maxLength: 500 }),
  release_id: Type.String(),
  plan: Type.Object({
    config_instance_ids: Type.Array(Type.String(), { maxItems: 1000 }),
    keep_current: Type.Optional(Type.Boolean()),
  }),
  selection: Type.Object({
    group_ids: Type.Optional(Type.Array(Type.String(), { maxItems: 100 })),
    include_subgroups: Type.Optional(Type.Boolean()),
    tag_selector: Type.Optional(Type.String({ maxLength: 1000 })),
    device_ids: Type.Optional(Type.Array(Type.String(), { maxItems: 10000 })),
  }),
  strategy: Type.Optional(
    Type.Object({
      waves: Type.Optional(Type.Array(WaveSpec, { maxItems: 50 })),
      soak_seconds: Type.Optional(Type.Integer()),
      max_failure_ratio: Type.Optional(Type.Number()),
      include_new_devices: Type.Optional(Type.Boolean()),
    }),
  ),
  auto_rollback: Type.Optional(
    Type.Boolean({ description: 'false: no automatic rollback of failed devices.' }),
  ),
});

export const rolloutRoutes: FastifyPluginAsyncTypebox<{
  repos: Repositories;
  driver: RolloutDriver;
}> = async (app, { repos, driver }) => {
  const tags = ['Rollouts'];
  const rolloutId = IdParam('rollout_id', 'rlt_...');
  const one = (row: RolloutRow, query: Parameters<typeof expandParam>[0]) =>
    renderOne(repos, rolloutView, row, expandParam(query, 'rollout').tree);

  app.post(
    '/rollouts',
    {
      config: { scopes: ['rollouts:write'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'createRollout',
        summary: 'Create',
        description:
          'Extension: deploy a release to a selection of devices (groups, tag selector, explicit devices) in waves, pausing when a wave fails too much. Send an Idempotency-Key to make a retried create safe.',
        querystring: ExpandQuery(['deployments']),
        body: CreateRolloutRequest,
        response: { 200: Type.Ref('Rollout'), ...errorResponses },
      },
    },
    async (request) => {
      const body = request.body;
      expandParam(request.query, 'rollout');
      const description = body.description.trim();
      if (!description)
        throw badRequest('invalid_request', "Field 'description' must not be blank.", {
          field: 'description',
        });
      const strategy = checkStrategy(body.strategy ?? {});
      const selection: RolloutSelection = {
        group_ids: [...new Set(body.selection.group_ids ?? [])],
        include_subgroups: body.selection.include_subgroups ?? false,
        tag_selector: body.selection.tag_selector?.trim() || null,
        device_ids: [...new Set(body.selection.device_ids ?? [])],
      };
      if (selection.tag_selector) parseTagSelector(selection.tag_selector);
      const groupIds: string[] = [];
      for (const g of selection.group_ids) {
        if (!(await repos.groups.get(g))) throw notFound('group', g);
        groupIds.push(...(await repos.groups.withSubgroups(g, selection.include_subgroups)));
      }
      const release = await repos.releases.getMany([body.release_id]);
      if (!release.size) throw notFound('release', body.release_id);
      const plan: RolloutPlan = {
        config_instance_ids: [...body.plan.config_instance_ids],
        keep_current: body.plan.keep_current ?? false,
      };
      const schemaIds = await repos.rollouts.releaseSchemaIds(body.release_id);
      const found = await repos.configInstances.getMany(plan.config_instance_ids);
      checkRolloutPlan(
        body.release_id,
        schemaIds,
        plan.config_instance_ids,
        [...found.values()].map((i) => ({ id: i.id, config_schema_id: i.config_schema_id })),
        plan.keep_current,
      );
      const devices = await repos.rollouts.selectDevices(selection, groupIds);
      const row = await repos.rollouts.create(
        {
          description,
          release_id: body.release_id,
          plan,
          selection,
          strategy,
          auto_rollback: body.auto_rollback ?? null,
        },
        devices,
      );
      void driver.kick();
      return one(row, request.query);
    },
  );

  app.get(
    '/rollouts',
    {
      config: { scopes: ['rollouts:read'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'listRollouts',
        summary: 'List',
        querystring: ListQuery(
          { id: filter('Rollout ids.'), status: enumFilter('Statuses.', ROLLOUT_STATUSES) },
          ['deployments'],
        ),
        response: { 200: PaginatedList(Type.Ref('Rollout'), 'Rollout List'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return listResource(repos, rolloutView, q, (page) =>
        repos.rollouts.list({ id: q.id, status: q.status }, page),
      );
    },
  );

  app.get(
    '/rollouts/:rollout_id',
    {
      config: { scopes: ['rollouts:read'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'getRollout',
        summary: 'Get',
        params: rolloutId,
        querystring: ExpandQuery(['deployments']),
        response: { 200: Type.Ref('Rollout'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, rolloutView, request.query, request.params.rollout_id, (id) =>
        repos.rollouts.get(id),
      ),
  );

  const action = (name: 'pause' | 'resume' | 'abort', summary: string) =>
    app.post(
      `/rollouts/:rollout_id/${name}`,
      {
        config: { scopes: ['rollouts:write'] },
        schema: {
          ...EXTENSION,
          tags,
          operationId: `${name}Rollout`,
          summary,
          params: rolloutId,
          querystring: ExpandQuery(['deployments']),
          body: Type.Optional(
            Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }),
          ),
          response: { 200: Type.Ref('Rollout'), ...errorResponses },
        },
      },
      async (request) => {
        expandParam(request.query, 'rollout');
        const reason = request.body?.reason ?? null;
        const { row } = await repos.rollouts.act(request.params.rollout_id, name, reason);
        if (name === 'resume') void driver.kick();
        return one(row, request.query);
      },
    );
  action('pause', 'Pause');
  action('resume', 'Resume');
  action('abort', 'Abort');

  app.get(
    '/rollouts/:rollout_id/events',
    {
      config: { scopes: ['rollouts:read'] },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'listRolloutEvents',
        summary: 'Events',
        description: "Extension: the rollout's history, oldest first.",
        params: rolloutId,
        querystring: Type.Object({
          offset: Type.Optional(Type.Integer({ default: 0 })),
          limit: Type.Optional(Type.Integer({ default: 100 })),
        }),
        response: { 200: PaginatedList(Type.Ref('RolloutEvent'), 'Rollout Event List'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.rollout_id;
      const q = request.query;
      const { offset, limit } = parsePage(q.offset, q.limit ?? 100);
      if (!(await repos.rollouts.get(id))) throw notFound('rollout', id);
      const page = await repos.rollouts.events(id, { offset, limit });
      return {
        object: 'list' as const,
        limit,
        offset,
        has_more: page.hasMore,
        data: page.rows.map(toRolloutEvent),
      };
    },
  );
};
