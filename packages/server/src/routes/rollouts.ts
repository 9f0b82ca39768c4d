import {
  badRequest,
  checkRolloutPlan,
  checkStrategy,
  notFound,
  parsePage,
  parseTagSelector,
  ROLLOUT_STATUSES,
  TARGET_STATES,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { expandParam, listBody, listParams } from '../http/query.ts';
import {
  ExpandQuery,
  enumFilter,
  errorResponses,
  filter,
  IdParam,
  ListQuery,
  PaginatedList,
  Timestamp,
} from '../http/schemas.ts';
import type { RolloutDriver } from '../rollouts/driver.ts';
import type { Repositories } from '../storage/index.ts';
import type { RolloutPlan, RolloutRow, RolloutSelection } from '../storage/rollouts.ts';
import { renderDeployments } from '../views/deployments.ts';
import { toRollout } from '../views/rollout-body.ts';

/** `/rollouts` (extension, docs/decisions.md #78): a release over a selection of devices, in waves. */

const EXTENSION = { 'x-bosun-extension': true } as const;
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Counts = Type.Object(Object.fromEntries(TARGET_STATES.map((s) => [s, Type.Integer()])));
const WaveSpec = Type.Object({
  devices: Type.Optional(Type.Integer({ description: 'A number of devices.' })),
  percent: Type.Optional(Type.Number({ description: 'A percentage of all selected devices (rounded up).' })),
});
const Strategy = Type.Object({
  waves: Type.Array(WaveSpec, { description: 'The waves in order; the last takes every device left.' }),
  soak_seconds: Type.Integer({ description: 'Wait this long after a wave settled before the next one.' }),
  max_failure_ratio: Type.Number({
    description: 'A wave whose failed share exceeds this pauses the rollout.',
  }),
  include_new_devices: Type.Boolean({
    description: 'Devices that join the selected groups/tags during the rollout are included.',
  }),
});
const Selection = Type.Object({
  group_ids: Type.Array(Type.String()),
  include_subgroups: Type.Boolean(),
  tag_selector: Type.Union([Type.String(), Type.Null()]),
  device_ids: Type.Array(Type.String()),
});
const Plan = Type.Object({
  config_instance_ids: Type.Array(Type.String()),
  keep_current: Type.Boolean({
    description: "Keep each device's current instance of every schema the release still has.",
  }),
});

export const Rollout = Type.Object(
  {
    object: Type.Literal('rollout'),
    id: Type.String({ examples: ['rlt_123'] }),
    description: Type.String(),
    release_id: Type.String(),
    status: literals(ROLLOUT_STATUSES),
    status_reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it paused or was aborted.' }),
    auto_rollback: Type.Union([Type.Boolean(), Type.Null()]),
    plan: Plan,
    selection: Selection,
    strategy: Strategy,
    current_wave: Type.Integer({ description: 'The wave in progress, counted from 1.' }),
    soak_until: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    counts: Counts,
    waves: Type.Array(Type.Object({ wave: Type.Integer(), devices: Type.Integer(), counts: Counts })),
    created_at: Timestamp('When the rollout was created.'),
    updated_at: Timestamp('When the rollout last changed.'),
    deployments: Type.Optional(Type.Array(Type.Ref('Deployment'))),
  },
  { $id: 'Rollout', title: 'Rollout' },
);

export const RolloutEvent = Type.Object(
  {
    object: Type.Literal('rollout_event'),
    id: Type.String(),
    rollout_id: Type.String(),
    type: Type.String({
      examples: ['created', 'wave_started', 'soaking', 'paused', 'resumed', 'aborted', 'completed'],
    }),
    wave: Type.Union([Type.Integer(), Type.Null()], { description: 'Counted from 1.' }),
    message: Type.String(),
    timestamp: Timestamp('When it happened.'),
  },
  { $id: 'RolloutEvent', title: 'Rollout Event' },
);

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

async function renderRollouts(repos: Repositories, rows: RolloutRow[], tree: Record<string, any>) {
  const targets = await repos.rollouts.targets(rows.map((r) => r.id));
  const out = [];
  for (const row of rows) {
    const mine = targets.filter((t) => t.rollout_id === row.id);
    const item: Record<string, unknown> = toRollout(row, mine);
    if (tree.deployments) {
      const ids = mine.flatMap((t) => (t.deployment_id ? [t.deployment_id] : []));
      const page = await repos.deployments.list(
        { id: ids },
        { offset: 0, limit: Math.max(ids.length, 1), order: [], totalCount: false },
      );
      item.deployments = ids.length ? await renderDeployments(repos, page.rows, tree.deployments) : [];
    }
    out.push(item);
  }
  return out;
}

export const rolloutRoutes: FastifyPluginAsyncTypebox<{
  repos: Repositories;
  driver: RolloutDriver;
}> = async (app, { repos, driver }) => {
  const tags = ['Rollouts'];
  const rolloutId = IdParam('rollout_id', 'rlt_...');
  const one = async (row: RolloutRow, query: Parameters<typeof expandParam>[0]) =>
    (await renderRollouts(repos, [row], expandParam(query, 'rollout').tree))[0];

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
      const params = listParams(q, 'rollout');
      const page = await repos.rollouts.list({ id: q.id, status: q.status }, params.page);
      return listBody(
        params.page,
        await renderRollouts(repos, page.rows, params.expand.tree),
        page.hasMore,
        page.totalCount,
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
    async (request) => {
      const id = request.params.rollout_id;
      expandParam(request.query, 'rollout');
      const row = await repos.rollouts.get(id);
      if (!row) throw notFound('rollout', id);
      return one(row, request.query);
    },
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
      async (request: FastifyRequest) => {
        const id = (request.params as { rollout_id: string }).rollout_id;
        const query = request.query as Parameters<typeof expandParam>[0];
        expandParam(query, 'rollout');
        const reason = (request.body as { reason?: string } | undefined)?.reason ?? null;
        const { row } = await repos.rollouts.act(id, name, reason);
        if (name === 'resume') void driver.kick();
        return one(row, query);
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
        data: page.rows.map((e) => ({
          object: 'rollout_event' as const,
          id: e.id,
          rollout_id: e.rollout_id,
          type: e.type,
          wave: e.wave === null ? null : e.wave + 1,
          message: e.message,
          timestamp: e.occurred_at,
        })),
      };
    },
  );
};

export const rolloutSchemas = [Rollout, RolloutEvent];
