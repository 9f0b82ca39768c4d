import { notFound, pingTimeoutMs } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses, IdParam } from '../http/schemas.ts';
import type { PushChannel } from '../mqtt/index.ts';
import type { DeviceIdentityStore } from '../storage/device-identity.ts';
import type { Repositories } from '../storage/index.ts';

/** The platform API's device-agent endpoints: issuing activation tokens and pinging the agent. */
export const deviceAgentRoutes: FastifyPluginAsyncTypebox<{
  repos: Repositories & { deviceIdentity: DeviceIdentityStore };
  push: PushChannel;
}> = async (app, { repos, push }) => {
  const tags = ['Devices'];

  app.post(
    '/devices/:device_id/activation_token',
    {
      config: { scopes: ['devices:provision'] },
      schema: {
        tags,
        operationId: 'createDeviceActivationToken',
        summary: 'Activation Token',
        description:
          'Create a single-use activation token bound to this device, valid for 30 minutes. Without allow_reactivation it cannot activate a device that was activated before.',
        params: IdParam('device_id', 'dvc_...'),
        body: Type.Object({
          allow_reactivation: Type.Optional(
            Type.Boolean({
              default: false,
              description: 'Whether this token can reactivate an already activated device.',
            }),
          ),
        }),
        response: { 200: Type.Ref('TokenResponse'), ...errorResponses },
      },
    },
    async (request) => {
      const id = request.params.device_id;
      const device = await repos.devices.get(id);
      if (!device) throw notFound('device', id);
      return repos.deviceIdentity.issueActivationToken(id, request.body.allow_reactivation === true);
    },
  );

  app.post(
    '/devices/:device_id/ping',
    {
      config: { scopes: ['devices:read'] },
      schema: {
        tags,
        operationId: 'pingDevice',
        summary: 'Ping',
        description:
          'Round trip through MQTT to the agent and back. timeout_nanos ≤ 0 is refused; above 10 s it is clamped to 10 s.',
        params: IdParam('device_id', 'dvc_...'),
        body: Type.Object({
          timeout_nanos: Type.Integer({
            description: 'How long to wait for the agent, in nanoseconds (at most 10 s).',
            examples: [1_000_000_000],
          }),
        }),
        response: { 200: Type.Ref('PingDeviceResponse'), ...errorResponses },
      },
    },
    async (request) => {
      const timeoutMs = pingTimeoutMs(request.body.timeout_nanos);
      const id = request.params.device_id;
      const device = await repos.devices.get(id);
      if (!device) throw notFound('device', id);
      return push.ping(id, timeoutMs);
    },
  );
};
