import { createHash } from 'node:crypto';
import { notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses, IdParam } from '../http/schemas.ts';
import type { AgentStateStore } from '../storage/agent-state.ts';
import type { DeploymentStore } from '../storage/deployments.ts';

const AgentDeployment = Type.Object({
  id: Type.String(),
  description: Type.String(),
  created_at: Type.String(),
  release_id: Type.String(),
  release_version: Type.String(),
  release: Type.Object({
    id: Type.String(),
    version: Type.String(),
    git_commit_id: Type.Union([Type.String(), Type.Null()]),
    created_at: Type.String(),
  }),
  git_commit: Type.Union([
    Type.Object({
      id: Type.String(),
      sha: Type.String(),
      message: Type.String(),
      commit_url: Type.String(),
      created_at: Type.String(),
    }),
    Type.Null(),
  ]),
  target_status: Type.String(),
  activity_status: Type.String(),
  error_status: Type.String(),
  attempts: Type.Integer(),
  config_instances: Type.Array(
    Type.Object({
      id: Type.String(),
      filepath: Type.String(),
      content_digest: Type.String(),
      config_type_name: Type.String(),
      config_schema_id: Type.String(),
    }),
  ),
});

/** `If-None-Match` may list several tags or `*`; weak prefixes compare equal (RFC 9110, section 13.1.2). */
function matches(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}

/**
 * What the agent reads and reports. Every handler takes the device from `request.agent` (the access
 * token), never from the path: a device can only see and change its own deployments.
 */
export const stateRoutes: FastifyPluginAsyncTypebox<{
  agentState: AgentStateStore;
  deployments: DeploymentStore;
}> = async (app, { agentState, deployments }) => {
  app.get(
    '/state',
    {
      schema: {
        headers: Type.Object({ 'if-none-match': Type.Optional(Type.String()) }),
        response: {
          200: Type.Object({
            device: Type.Object({ id: Type.String(), name: Type.String() }),
            deployments: Type.Array(AgentDeployment),
          }),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const agent = request.agent!;
      const body = {
        device: { id: agent.device_id, name: agent.name },
        deployments: await agentState.deployments(agent.device_id),
      };
      // The tag hashes the whole answer, so any change an agent must see (status, instance, name) changes it.
      const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('base64url')}"`;
      reply.header('etag', etag).header('cache-control', 'no-cache');
      if (matches(request.headers['if-none-match'], etag)) return reply.status(304).send();
      return body;
    },
  );

  app.get(
    '/config_instances/:config_instance_id/content',
    { schema: { params: IdParam('config_instance_id', 'cfg_inst_...') } },
    async (request, reply) => {
      const id = request.params.config_instance_id as string;
      const content = await agentState.content(request.agent!.device_id, id);
      // Someone else's instance is indistinguishable from a missing one.
      if (!content) throw notFound('config_instance', id);
      const digest = content.content_digest;
      const sha = Buffer.from(digest.slice('sha256:'.length), 'hex').toString('base64');
      return reply
        .type(content.format === 'yaml' ? 'application/yaml' : 'application/json')
        .header('etag', `"${digest}"`)
        .header('digest', `sha-256=${sha}`)
        .header('cache-control', 'private, max-age=31536000, immutable')
        .send(content.data);
    },
  );

  app.get(
    '/deployments/:deployment_id',
    {
      schema: {
        params: IdParam('deployment_id', 'dpl_...'),
        response: { 200: AgentDeployment, ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.deployment_id as string;
      // Any of this device's deployments, whatever its state (the local Device API's cache miss).
      const found = await agentState.deployment(request.agent!.device_id, id);
      if (!found) throw notFound('deployment', id);
      return found;
    },
  );

  app.post(
    '/deployments/:deployment_id/reports',
    {
      schema: {
        params: IdParam('deployment_id', 'dpl_...'),
        body: Type.Object({
          activity_status: Type.Optional(Type.Union([Type.Literal('deployed'), Type.Literal('archived')])),
          error_status: Type.Optional(
            Type.Union([Type.Literal('none'), Type.Literal('retrying'), Type.Literal('failed')]),
          ),
          message: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()])),
          attempts: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
          occurred_at: Type.Optional(Type.String({ format: 'date-time' })),
          report_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          drift: Type.Optional(
            Type.Array(
              Type.Object({
                path: Type.String({ maxLength: 4096 }),
                change: Type.Union([Type.Literal('changed'), Type.Literal('missing')]),
              }),
              { maxItems: 1000 },
            ),
          ),
        }),
        response: { 200: AgentDeployment, ...errorResponses },
      },
    },
    async (request) => {
      const deviceId = request.agent!.device_id;
      const id = request.params.deployment_id as string;
      const body = request.body;
      // Another device's deployment is indistinguishable from a missing one.
      const current = await agentState.deployment(deviceId, id);
      if (!current) throw notFound('deployment', id);
      if (body.report_id && (await agentState.reportSeen(deviceId, body.report_id))) return current;
      const observedAt = observedTime(body.occurred_at);
      const actor = { type: 'agent' as const, id: deviceId };
      const result = await deployments.report(
        id,
        {
          activity_status: body.activity_status,
          error_status: body.error_status,
          message: body.drift?.length ? undefined : body.message,
          attempts: body.attempts,
        },
        actor,
        observedAt,
      );
      // A failure answered by a rollback deployment: the device has something new to apply.
      if (result.rollback) app.notifier.notify(deviceId, 'deployment_changed');
      if (body.drift?.length) {
        const files = body.drift.map((d) => `${d.path} (${d.change})`).join(', ');
        await deployments.recordNotice(
          id,
          body.message ?? `Files drifted on the device: ${files}.`,
          actor,
          observedAt,
        );
      }
      if (body.report_id) await agentState.rememberReport(deviceId, body.report_id, id);
      return (await agentState.deployment(deviceId, id))!;
    },
  );
};

/**
 * The agent's clock is trusted for the history only when it is plausible: not in the future (beyond
 * a minute of skew). Otherwise the history keeps the server's time alone.
 */
function observedTime(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const at = Date.parse(value);
  if (Number.isNaN(at) || at > Date.now() + 60_000) return undefined;
  return new Date(at).toISOString();
}
