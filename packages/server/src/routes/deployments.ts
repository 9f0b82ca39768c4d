import {
  ACTIVITY_STATUSES,
  badRequest,
  DEPLOYMENT_STATUSES,
  deriveStatus,
  ERROR_STATUSES,
  type ExpandTree,
  notFound,
  parsePage,
  TARGET_STATUSES,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type TSchema, Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { requireScopes } from '../http/auth.ts';
import { expandParam, filterValues, listBody, listParams } from '../http/query.ts';
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
import type { DeploymentEventRow, DeploymentRow } from '../storage/deployments.ts';
import { stateOf } from '../storage/deployments.ts';
import type { Repositories } from '../storage/index.ts';
import { renderConfigInstances, renderReleases } from '../views/index.ts';
import { toDevice } from './devices.ts';

const EXPANSIONS = ['device', 'release', 'config_instances'];
const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

export const Deployment = Type.Object(
  {
    object: Type.Literal('deployment'),
    id: Type.String({ examples: ['dpl_123'] }),
    description: Type.String(),
    status: literals(DEPLOYMENT_STATUSES),
    activity_status: literals(ACTIVITY_STATUSES),
    error_status: literals(ERROR_STATUSES),
    target_status: literals(TARGET_STATUSES),
    device_id: Type.String(),
    release_id: Type.String(),
    created_at: Timestamp('When the deployment was created.'),
    updated_at: Timestamp('When the deployment last changed.'),
    device: Type.Optional(Type.Ref('Device')),
    release: Type.Optional(Type.Ref('Release')),
    config_instances: Type.Optional(Type.Array(Type.Ref('ConfigInstance'))),
  },
  { $id: 'Deployment', title: 'Deployment' },
);

const StatusSnapshot = Type.Object({
  target_status: literals(TARGET_STATUSES),
  activity_status: literals(ACTIVITY_STATUSES),
  error_status: literals(ERROR_STATUSES),
  status: literals(DEPLOYMENT_STATUSES),
});

/** Extension: one status change of a deployment (docs/decisions.md #15). */
export const DeploymentEvent = Type.Object(
  {
    object: Type.Literal('event'),
    id: Type.String({ examples: ['evt_123'] }),
    deployment_id: Type.String(),
    device_id: Type.String(),
    from: Type.Union([StatusSnapshot, Type.Null()], { description: 'Null for the creation event.' }),
    to: StatusSnapshot,
    actor: Type.Object({
      type: literals(['api_key', 'agent', 'system']),
      id: Type.Union([Type.String(), Type.Null()], {
        description: 'The API key id, the device id for the agent, null for the system.',
      }),
    }),
    message: Type.Union([Type.String(), Type.Null()]),
    attempt: Type.Union([Type.Integer(), Type.Null()]),
    timestamp: Timestamp('When the server recorded the change.'),
    observed_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
      description: 'When the agent observed it (agent reports; null otherwise). Later than timestamp never.',
    }),
  },
  { $id: 'DeploymentEvent', title: 'Deployment Event' },
);

export function toDeployment(row: DeploymentRow) {
  return {
    object: 'deployment' as const,
    id: row.id,
    description: row.description,
    status: deriveStatus(stateOf(row)),
    activity_status: row.activity_status,
    error_status: row.error_status,
    target_status: row.target_status,
    device_id: row.device_id,
    release_id: row.release_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

const snapshot = (target: string | null, activity: string | null, error: string | null) =>
  target === null
    ? null
    : {
        target_status: target,
        activity_status: activity,
        error_status: error,
        status: deriveStatus({ activity: activity as any, error: error as any }),
      };

export function toDeploymentEvent(row: DeploymentEventRow) {
  return {
    object: 'event' as const,
    id: row.id,
    deployment_id: row.deployment_id,
    device_id: row.device_id,
    from: snapshot(row.from_target_status, row.from_activity_status, row.from_error_status),
    to: snapshot(row.to_target_status, row.to_activity_status, row.to_error_status)!,
    actor: { type: row.actor_type, id: row.actor_id },
    message: row.message,
    attempt: row.attempt,
    timestamp: row.occurred_at,
    observed_at: row.observed_at,
  };
}

const byId = <T extends { id: string }>(items: T[]) => new Map(items.map((x) => [x.id, x]));

/** Serialises deployments with their expansions, fetching each related resource once per batch. */
export async function renderDeployments(repos: Repositories, rows: DeploymentRow[], tree: ExpandTree) {
  const out: (ReturnType<typeof toDeployment> & Record<string, unknown>)[] = rows.map(toDeployment);
  if (!rows.length) return out;
  const everything = (ids: string[]) => ({ offset: 0, limit: ids.length, order: [], totalCount: false });
  if (tree.device) {
    const ids = [...new Set(rows.map((r) => r.device_id))];
    const devices = new Map(
      (await repos.devices.list({ id: ids }, everything(ids))).rows.map((d) => [d.id, d]),
    );
    rows.forEach((r, i) => {
      out[i]!.device = toDevice(devices.get(r.device_id)!);
    });
  }
  if (tree.release) {
    const releases = await repos.releases.getMany([...new Set(rows.map((r) => r.release_id))]);
    const rendered = byId(await renderReleases(repos, [...releases.values()], tree.release));
    rows.forEach((r, i) => {
      out[i]!.release = rendered.get(r.release_id);
    });
  }
  if (tree.config_instances) {
    const instanceIds = await repos.deployments.instanceIds(rows.map((r) => r.id));
    const instances = await repos.configInstances.getMany([...new Set([...instanceIds.values()].flat())]);
    const rendered = byId(await renderConfigInstances(repos, [...instances.values()], tree.config_instances));
    rows.forEach((r, i) => {
      out[i]!.config_instances = instanceIds.get(r.id)!.map((id) => rendered.get(id)!);
    });
  }
  return out;
}

const CreateDeploymentRequest = Type.Object({
  target_status: Type.Union([Type.Literal('staged'), Type.Literal('deployed')], {
    description:
      "Staged: ready for deployment, only for a release that is not the device's current release. Deployed: sent to the device, only for its current release (or any release when it has none).",
  }),
  description: Type.String({ description: 'The description of the deployment (not blank).' }),
  release_id: Type.String({ description: 'The release ID which this deployment adheres to.' }),
  device_id: Type.String({ description: 'The ID of the device that the deployment is being created for.' }),
  config_instance_ids: Type.Array(Type.String(), {
    description: "Exactly one config instance for each config schema in the deployment's release.",
    maxItems: 1000,
  }),
  parent_id: Type.Optional(
    Type.String({ description: 'The ID of the deployment (of the same device) this one was patched from.' }),
  ),
  patch_source_id: Type.Optional(Type.String({ description: 'Older name of parent_id; accepted as well.' })),
  auto_rollback: Type.Optional(
    Type.Boolean({
      description:
        "Extension (Bosun): false turns off the automatic rollback should this deployment fail after replacing a deployed one; unset follows the server's setting.",
      'x-bosun-extension': true,
    }),
  ),
});

const DeploymentList = (title: string) => PaginatedList(Type.Ref('Deployment'), title);
const deploymentId = IdParam('deployment_id', 'dpl_...');
const PageQuery = (expand: boolean) =>
  Type.Object({
    offset: Type.Optional(Type.Integer({ default: 0, description: 'Items to skip.' })),
    limit: Type.Optional(Type.Integer({ default: 100, description: 'Page size; clamped to 1..100.' })),
    ...(expand ? ExpandQuery(EXPANSIONS).properties : {}),
  });

const actorOf = (request: FastifyRequest) => ({ type: 'api_key' as const, id: request.principal!.id });

export const deploymentRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (
  app,
  { repos },
) => {
  const tags = ['Deployments'];
  const one = async (row: DeploymentRow, query: unknown) =>
    (
      await renderDeployments(repos, [row], expandParam(query as Record<string, unknown>, 'deployment').tree)
    )[0];
  const action = (
    path: string,
    operationId: string,
    summary: string,
    scope: string,
    run: (id: string, request: FastifyRequest) => Promise<DeploymentRow>,
  ) =>
    app.post(
      path,
      {
        config: { scopes: [scope] },
        schema: {
          tags,
          operationId,
          summary,
          params: deploymentId,
          querystring: ExpandQuery(EXPANSIONS),
          response: { 200: Type.Ref('Deployment'), ...errorResponses },
        },
      },
      async (request) => {
        const { deployment_id } = request.params as { deployment_id: string };
        // Validate expansions before changing anything: a bad expand must leave the deployment as it was.
        expandParam(request.query as Record<string, unknown>, 'deployment');
        return one(await run(deployment_id, request), request.query);
      },
    );

  app.post(
    '/deployments',
    {
      config: { scopes: ['deployments:write'] },
      schema: {
        tags,
        operationId: 'createDeployment',
        summary: 'Create',
        description: 'Stage or deploy a new deployment.',
        querystring: ExpandQuery(EXPANSIONS),
        body: CreateDeploymentRequest,
        response: { 200: Type.Ref('Deployment'), ...errorResponses },
      },
    },
    async (request) => {
      const body = request.body;
      requireScopes(request, [body.target_status === 'staged' ? 'deployments:stage' : 'deployments:deploy']);
      const tree = expandParam(request.query as Record<string, unknown>, 'deployment').tree;
      if (!body.description.trim()) {
        throw badRequest('invalid_request', "Field 'description' must not be blank.", {
          field: 'description',
        });
      }
      if (
        body.parent_id !== undefined &&
        body.patch_source_id !== undefined &&
        body.parent_id !== body.patch_source_id
      ) {
        throw badRequest(
          'invalid_request',
          'parent_id and patch_source_id name the same field (the lineage of the deployment); send one of them.',
          { field: 'parent_id', parent_id: body.parent_id, patch_source_id: body.patch_source_id },
        );
      }
      const row = await repos.deployments.create(
        {
          target_status: body.target_status,
          description: body.description,
          release_id: body.release_id,
          device_id: body.device_id,
          config_instance_ids: body.config_instance_ids,
          parent_id: body.parent_id ?? body.patch_source_id,
          auto_rollback: body.auto_rollback,
        },
        actorOf(request),
      );
      if (row.target_status === 'deployed') app.notifier.notify(row.device_id, 'deployment_changed');
      return (await renderDeployments(repos, [row], tree))[0];
    },
  );

  app.get(
    '/deployments',
    {
      config: { scopes: ['deployments:read'] },
      schema: {
        tags,
        operationId: 'listDeployments',
        summary: 'List',
        description: 'List all deployments.',
        querystring: ListQuery(
          {
            id: filter('Deployment ids.'),
            target_status: enumFilter('Target statuses.', TARGET_STATUSES),
            activity_status: enumFilter('Activity statuses.', ACTIVITY_STATUSES),
            error_status: enumFilter('Error statuses.', ERROR_STATUSES),
            device_id: filter('Device ids.'),
            release_id: filter('Release ids.'),
          },
          EXPANSIONS,
        ),
        response: { 200: DeploymentList('Deployment List'), ...errorResponses },
      },
    },
    async (request) => {
      const q = request.query as Record<string, unknown>;
      const params = listParams(q, 'deployment');
      const page = await repos.deployments.list(
        {
          id: filterValues(q, 'id'),
          target_status: filterValues(q, 'target_status') as any,
          activity_status: filterValues(q, 'activity_status') as any,
          error_status: filterValues(q, 'error_status') as any,
          device_id: filterValues(q, 'device_id'),
          release_id: filterValues(q, 'release_id'),
        },
        params.page,
      );
      const data = await renderDeployments(repos, page.rows, params.expand.tree);
      return listBody(params, data, page.hasMore, page.totalCount);
    },
  );

  app.get(
    '/deployments/:deployment_id',
    {
      config: { scopes: ['deployments:read'] },
      schema: {
        tags,
        operationId: 'getDeployment',
        summary: 'Get',
        description: 'Retrieve a deployment by its ID.',
        params: deploymentId,
        querystring: ExpandQuery(EXPANSIONS),
        response: { 200: Type.Ref('Deployment'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.deployment_id as string;
      const tree = expandParam(request.query as Record<string, unknown>, 'deployment').tree;
      const row = await repos.deployments.get(id);
      if (!row) throw notFound('deployment', id);
      return (await renderDeployments(repos, [row], tree))[0];
    },
  );

  action(
    '/deployments/:deployment_id/deploy',
    'deployDeployment',
    'Deploy',
    'deployments:deploy',
    async (id, request) => {
      const row = await repos.deployments.deploy(id, actorOf(request));
      // After the commit: the device has a new current deployment to fetch (push is only a hint).
      app.notifier.notify(row.device_id, 'deployment_changed');
      return row;
    },
  );
  action(
    '/deployments/:deployment_id/archive',
    'archiveDeployment',
    'Archive',
    'deployments:archive',
    (id, request) => repos.deployments.archive(id, actorOf(request)),
  );
  // Extension (docs/decisions.md #7): accept a drifted deployment as is after review.
  action(
    '/deployments/:deployment_id/restage',
    'restageDeployment',
    'Restage',
    'deployments:stage',
    (id, request) => repos.deployments.restage(id, actorOf(request)),
  );

  app.get(
    '/deployments/:deployment_id/drifts',
    {
      config: { scopes: ['deployments:read'] },
      schema: {
        tags,
        operationId: 'getDeploymentDrifts',
        summary: 'Drifts',
        description:
          'List, oldest first, the deployments which became current on the device since this deployment was staged (created or last restaged).',
        params: deploymentId,
        querystring: PageQuery(true),
        response: { 200: DeploymentList('Deployment Drifts'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.deployment_id as string;
      const q = request.query as Record<string, unknown>;
      const tree = expandParam(q, 'deployment').tree;
      const { offset, limit } = parsePage(q.offset, q.limit ?? 100);
      const row = await repos.deployments.get(id);
      if (!row) throw notFound('deployment', id);
      const page = await repos.deployments.drifts(row, { offset, limit });
      const data = await renderDeployments(repos, page.rows, tree);
      return { object: 'list' as const, limit, offset, has_more: page.hasMore, data };
    },
  );

  app.get(
    '/deployments/:deployment_id/events',
    {
      config: { scopes: ['deployments:read'] },
      schema: {
        tags,
        operationId: 'listDeploymentEvents',
        summary: 'Events',
        description: 'Extension: every status change of the deployment, oldest first, with who caused it.',
        params: deploymentId,
        querystring: PageQuery(false),
        response: {
          200: PaginatedList(Type.Ref('DeploymentEvent'), 'Deployment Event List'),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const id = request.params.deployment_id as string;
      const q = request.query as Record<string, unknown>;
      const { offset, limit } = parsePage(q.offset, q.limit ?? 100);
      if (!(await repos.deployments.get(id))) throw notFound('deployment', id);
      const page = await repos.deployments.events(id, { offset, limit });
      return {
        object: 'list' as const,
        limit,
        offset,
        has_more: page.hasMore,
        data: page.rows.map(toDeploymentEvent),
      };
    },
  );
};

export const deploymentSchemas: TSchema[] = [Deployment, DeploymentEvent];
