import type { FastifyPluginAsync } from 'fastify';
import type { PushChannel } from '../mqtt/index.ts';
import type { Repositories } from '../storage/index.ts';
import { agentAuthPlugin } from './auth.ts';
import { identityRoutes } from './identity-routes.ts';
import { stateRoutes } from './state-routes.ts';

/**
 * The agent API (`/agent/v1`, docs/agent-protocol.md): its own authentication (device tokens, never
 * platform API keys or the `Miru-Version` header), the platform's error envelope.
 */
export const agentApi: FastifyPluginAsync<{ repos: Repositories; push: PushChannel }> = async (
  app,
  { repos, push },
) => {
  await app.register(agentAuthPlugin, { identity: repos.deviceIdentity });
  await app.register(identityRoutes, { identity: repos.deviceIdentity, push });
  await app.register(stateRoutes, { agentState: repos.agentState, deployments: repos.deployments });
};
