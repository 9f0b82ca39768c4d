import { BosunError } from '@bosun/core';
import {
  canonicalPublicKeyPem,
  JWT_SKEW_SECONDS,
  keyFingerprint,
  parseDevicePublicKey,
  readDeviceJwt,
  verifyDeviceJwt,
} from '@bosun/core/device-jwt';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../http/schemas.ts';
import type { PushChannel } from '../mqtt/index.ts';
import { topicPrefix } from '../mqtt/index.ts';
import type { DeviceIdentityStore } from '../storage/device-identity.ts';
import { agentVersionHeader, bearerToken, checkAgentVersion } from './auth.ts';

const badJwt = (message: string, params: Record<string, unknown> = {}) =>
  new BosunError(401, 'invalid_device_jwt', message, params);

/** Activation (key registration) and the proof-of-possession token exchange. */
export const identityRoutes: FastifyPluginAsyncTypebox<{
  identity: DeviceIdentityStore;
  push: PushChannel;
}> = async (app, { identity, push }) => {
  app.post(
    '/activate',
    {
      config: { agentAuth: 'none' },
      schema: {
        body: Type.Object({
          token: Type.String({ minLength: 1, maxLength: 256 }),
          public_key_pem: Type.String({ minLength: 1, maxLength: 8192 }),
          agent_version: Type.String({ minLength: 1, maxLength: 64 }),
          hostname: Type.Optional(Type.String({ maxLength: 253 })),
        }),
        response: {
          200: Type.Object({
            device: Type.Object({ id: Type.String(), name: Type.String() }),
            mqtt: Type.Object({ url: Type.String(), topic_prefix: Type.String() }),
          }),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const body = request.body;
      const agentVersion = checkAgentVersion(body.agent_version, { field: 'agent_version' });
      const key = parseDevicePublicKey(body.public_key_pem);
      const device = await identity.activate({
        token: body.token,
        publicKeyPem: canonicalPublicKeyPem(key),
        fingerprint: keyFingerprint(key),
        agentVersion,
        hostname: body.hostname ?? null,
      });
      // A reactivated device's old sessions logged in with revoked credentials. If the broker cannot be
      // told now, the old broker password still dies when the new agent asks for its own (the
      // password change ends any session of that client).
      await push
        .disconnect(device.id)
        .catch((err: Error) =>
          request.log.error(
            { err: err.message, device_id: device.id },
            'could not revoke the old broker access',
          ),
        );
      request.log.info({ device_id: device.id }, 'device activated');
      return {
        device: { id: device.id, name: device.name },
        mqtt: {
          url: push.deviceUrl({ protocol: deviceFacingProtocol(request), host: request.host }),
          topic_prefix: topicPrefix(device.id),
        },
      };
    },
  );

  app.post(
    '/mqtt_credentials',
    {
      schema: {
        response: {
          200: Type.Union([
            Type.Object({ kind: Type.Literal('access_token') }),
            Type.Object({
              kind: Type.Literal('issued'),
              username: Type.String(),
              password: Type.String(),
            }),
          ]),
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      // The password is shown once, to the device its access token names; never stored or logged.
      reply.header('cache-control', 'no-store');
      try {
        return await push.brokerCredentials(request.agent!.device_id);
      } catch (err) {
        request.log.warn({ err: (err as Error).message }, 'could not set the device broker credentials');
        throw new BosunError(
          503,
          'broker_unavailable',
          'The broker could not be updated; try again shortly.',
        );
      }
    },
  );

  app.post(
    '/token',
    {
      config: { agentAuth: 'device_jwt' },
      schema: { response: { 200: Type.Ref('TokenResponse'), ...errorResponses } },
    },
    async (request) => {
      const agentVersion = agentVersionHeader(request);
      const token = bearerToken(request);
      const claimed = readDeviceJwt(token);
      const registered = await identity.identity(claimed.sub);
      if (!registered)
        throw badJwt('No key is registered for this device; activate it first.', { field: 'sub' });
      if (registered.key_fingerprint !== claimed.kid) {
        throw badJwt(
          "The JWT's kid is not the device's registered key (it was reactivated with another key?).",
          {
            field: 'kid',
          },
        );
      }
      const claims = await verifyDeviceJwt(token, registered.public_key_pem, Math.floor(Date.now() / 1000));
      return identity.issueAccessToken({
        deviceId: registered.device_id,
        jti: claims.jti,
        jwtExpiresAt: new Date((claims.exp + JWT_SKEW_SECONDS) * 1000).toISOString(),
        agentVersion,
      });
    },
  );
};

/**
 * The scheme the device used, for the embedded broker's URL: behind a load balancer that ends TLS
 * (deploy/haproxy, deploy/nginx) the server sees http, the device used https and must be told wss.
 * Trusting `X-Forwarded-Proto` here is safe: the answer only tells the caller where its own broker
 * is, and a client that lies about its scheme misleads only itself.
 */
function deviceFacingProtocol(request: { protocol: string; headers: Record<string, unknown> }): string {
  const forwarded = request.headers['x-forwarded-proto'];
  const first = typeof forwarded === 'string' ? forwarded.split(',')[0]!.trim().toLowerCase() : '';
  return request.protocol === 'https' || first === 'https' ? 'https' : request.protocol;
}
