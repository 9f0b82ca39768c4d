import {
  ACTIVITY_STATUSES,
  badRequest,
  ERROR_STATUSES,
  newId,
  notFound,
  parsePage,
  TARGET_STATUSES,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { nowIso } from '../db/time.ts';
import { requireScopes } from '../http/auth.ts';
import { expandParam, listBody } from '../http/query.ts';
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
import type { DeploymentRow } from '../storage/deployments.ts';
import type { Repositories } from '../storage/index.ts';
import { deploymentView, renderDeployments, toDeploymentEvent } from '../views/deployments.ts';

const EXPANSIONS = ['device', 'release', 'config_instances'];

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
const pageFields = {
  offset: Type.Optional(Type.Integer({ default: 0, description: 'Items to skip.' })),
  limit: Type.Optional(Type.Integer({ default: 100, description: 'Page size; clamped to 1..100.' })),
};
const EventPageQuery = Type.Object(pageFields);
const DriftPageQuery = Type.Object({ ...pageFields, ...ExpandQuery(EXPANSIONS).properties });

const actorOf = (request: FastifyRequest) => ({ type: 'api_key' as const, id: request.principal!.id });

export const deploymentRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (
  app,
  { repos },
) => {
  const tags = ['Deployments'];
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
        // Validate expansions before changing anything: a bad expand must leave the deployment as it was.
        const tree = expandParam(request.query, 'deployment').tree;
        return renderOne(repos, deploymentView, await run(request.params.deployment_id, request), tree);
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
      const tree = expandParam(request.query, 'deployment').tree;
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
      // Custom validation (deployment.validate) runs before anything is written, outside the device
      // lock; it names the deployment it would create, which is then created under that id.
      const named = { id: newId('deployment'), created_at: nowIso() };
      const verdict = await app.webhooks.validate({
        ...named,
        device_id: body.device_id,
        release_id: body.release_id,
      });
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
        verdict === null ? {} : { id: named.id, createdAt: named.created_at, message: verdict },
      );
      if (row.target_status === 'deployed') app.notifier.notify(row.device_id, 'deployment_changed');
      return renderOne(repos, deploymentView, row, tree);
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
    async (request) =>
      listResource(repos, deploymentView, request.query, (page) =>
        repos.deployments.list(request.query, page),
      ),
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
    async (request) =>
      getResource(repos, deploymentView, request.query, request.params.deployment_id, (id) =>
        repos.deployments.get(id),
      ),
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
        querystring: DriftPageQuery,
        response: { 200: DeploymentList('Deployment Drifts'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.deployment_id;
      const q = request.query;
      const tree = expandParam(q, 'deployment').tree;
      const { offset, limit } = parsePage(q.offset, q.limit ?? 100);
      const row = await repos.deployments.get(id);
      if (!row) throw notFound('deployment', id);
      const page = await repos.deployments.drifts(row, { offset, limit });
      return listBody({ offset, limit }, await renderDeployments(repos, page.rows, tree), page.hasMore);
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
        querystring: EventPageQuery,
        response: {
          200: PaginatedList(Type.Ref('DeploymentEvent'), 'Deployment Event List'),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const id = request.params.deployment_id;
      const q = request.query;
      const { offset, limit } = parsePage(q.offset, q.limit ?? 100);
      if (!(await repos.deployments.get(id))) throw notFound('deployment', id);
      const page = await repos.deployments.events(id, { offset, limit });
      return listBody({ offset, limit }, page.rows.map(toDeploymentEvent), page.hasMore);
    },
  );
};
