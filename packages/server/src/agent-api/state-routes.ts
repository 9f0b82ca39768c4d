import { createHash } from 'node:crypto';
import {
  ACTIVITY_STATUSES,
  type AgentDeployment as AgentDeploymentWire,
  type AgentDesiredState,
  type AgentReportBody,
  ERROR_STATUSES,
  notFound,
  TARGET_STATUSES,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { type Static, Type } from '@sinclair/typebox';
import { errorResponses, IdParam } from '../http/schemas.ts';
import type { AgentStateStore } from '../storage/agent-state.ts';
import type { DeploymentStore } from '../storage/deployments.ts';

const literals = <V extends string>(values: readonly V[]) => Type.Union(values.map((v) => Type.Literal(v)));

/** The TypeBox form of core's `AgentDeployment` (checked below), for validation and serialization. */
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
  target_status: literals(TARGET_STATUSES),
  activity_status: literals(ACTIVITY_STATUSES),
  error_status: literals(ERROR_STATUSES),
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

const ReportBody = Type.Object({
  activity_status: Type.Optional(Type.Union([Type.Literal('deployed'), Type.Literal('archived')])),
  error_status: Type.Optional(literals(ERROR_STATUSES)),
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
});

const DesiredState = Type.Object({
  device: Type.Object({ id: Type.String(), name: Type.String() }),
  deployments: Type.Array(AgentDeployment),
});

// The schemas above must say exactly what core's protocol types say (both directions).
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const protocolChecks: [
  Same<Static<typeof AgentDeployment>, AgentDeploymentWire>,
  Same<Static<typeof DesiredState>, AgentDesiredState>,
  Same<Static<typeof ReportBody>, AgentReportBody>,
] = [true, true, true];
void protocolChecks;

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
        response: { 200: DesiredState, ...errorResponses },
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
      const id = request.params.config_instance_id;
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
      const id = request.params.deployment_id;
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
        body: ReportBody,
        response: { 200: AgentDeployment, ...errorResponses },
      },
    },
    async (request) => {
      const deviceId = request.agent!.device_id;
      const id = request.params.deployment_id;
      const body = request.body;
      const files = body.drift?.map((d) => `${d.path} (${d.change})`).join(', ');
      // One transaction: another device's deployment is a 404, a resent report id changes nothing.
      let rollback: unknown;
      const answer = await deployments.agentReport(
        deviceId,
        id,
        {
          report: {
            activity_status: body.activity_status,
            error_status: body.error_status,
            message: files ? undefined : body.message,
            attempts: body.attempts,
          },
          notice: files ? (body.message ?? `Files drifted on the device: ${files}.`) : undefined,
          reportId: body.report_id,
          observedAt: observedTime(body.occurred_at),
        },
        (tx, outcome) => {
          rollback = outcome.rollback;
          return agentState.deployment(deviceId, id, tx);
        },
      );
      // A failure answered by a rollback deployment: the device has something new to apply.
      if (rollback) app.notifier.notify(deviceId, 'deployment_changed');
      return answer!;
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
