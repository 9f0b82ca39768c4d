import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { expandParam } from '../http/query.ts';
import { ExpandQuery, errorResponses, IdParam } from '../http/schemas.ts';
import type { Repositories } from '../storage/index.ts';
import { renderDeployments } from '../views/deployments.ts';

/** Extension beyond the Miru API (docs/decisions.md #19). */
const EXTENSION = { 'x-bosun-extension': true } as const;

const RedeployRequest = Type.Object({
  description: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Description of the new deployment; default "Redeploy of <id>."',
    }),
  ),
  auto_rollback: Type.Optional(
    Type.Boolean({
      description:
        "false: no automatic rollback should the new deployment fail; unset: the server's setting.",
    }),
  ),
});

/**
 * `POST /deployments/{id}/redeploy` (extension): the instance set of an old deployment deployed
 * again as a new deployment of the same device, whose parent is the old one (docs/decisions.md #77).
 */
export const redeployRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  app.post(
    '/deployments/:deployment_id/redeploy',
    {
      config: { scopes: ['deployments:deploy'] },
      schema: {
        ...EXTENSION,
        tags: ['Deployments'],
        operationId: 'redeployDeployment',
        summary: 'Redeploy',
        description:
          "Extension: deploy this deployment's config instances again as a new deployment of the same device (created deployed, or staged and deployed when its release is not the device's current one).",
        params: IdParam('deployment_id', 'dpl_...'),
        querystring: ExpandQuery(['device', 'release', 'config_instances']),
        body: Type.Optional(RedeployRequest),
        response: { 200: Type.Ref('Deployment'), ...errorResponses },
      },
    },
    async (request) => {
      const { deployment_id } = request.params;
      const tree = expandParam(request.query, 'deployment').tree;
      const body = request.body ?? {};
      const row = await repos.deployments.redeploy(
        deployment_id,
        { description: body.description, auto_rollback: body.auto_rollback },
        { type: 'api_key', id: request.principal!.id },
      );
      app.notifier.notify(row.device_id, 'deployment_changed');
      return (await renderDeployments(repos, [row], tree))[0];
    },
  );
};
