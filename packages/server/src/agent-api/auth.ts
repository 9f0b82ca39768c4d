import { BosunError, badRequest, contactWriteDue } from '@bosun/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  type AgentPrincipal,
  type DeviceIdentityStore,
  SEEN_WRITE_INTERVAL_MS,
} from '../storage/device-identity.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * How an agent API route authenticates: `access_token` (the default, so a route cannot be left
     * open by omission), `device_jwt` (the token exchange checks the JWT itself) or `none` (activation,
     * which carries its token in the body).
     */
    agentAuth?: 'access_token' | 'device_jwt' | 'none';
  }
  interface FastifyRequest {
    /** The device an access token proved, on agent API routes. */
    agent?: AgentPrincipal;
  }
}

const AGENT_VERSION = /^v?\d{1,6}\.\d{1,6}\.\d{1,6}(?:[-+][0-9A-Za-z.+-]{1,40})?$/;

/** `vX.Y.Z` (semver, optional pre-release/build), or 400 naming where it came from. */
export function checkAgentVersion(value: string, where: { field?: string; header?: string }): string {
  if (!AGENT_VERSION.test(value)) {
    const name = where.field ? `Field '${where.field}'` : `Header '${where.header}'`;
    throw badRequest(
      'invalid_agent_version',
      `${name} must be a version like v1.2.3, got '${value.slice(0, 64)}'.`,
      where,
    );
  }
  return value;
}

/** The `Bosun-Agent-Version` header, checked when present. */
export function agentVersionHeader(request: FastifyRequest): string | undefined {
  const raw = request.headers['bosun-agent-version'];
  const value = Array.isArray(raw) ? raw[0] : raw;
  return value ? checkAgentVersion(value, { header: 'Bosun-Agent-Version' }) : undefined;
}

export function bearerToken(request: FastifyRequest): string {
  const header = request.headers.authorization ?? '';
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    throw new BosunError(
      401,
      'unauthenticated',
      'Send a token in the Authorization header: Bearer <token>.',
      {
        header: 'Authorization',
      },
    );
  }
  return m[1]!;
}

/**
 * The agent API's own gate, separate from the platform's API keys: an access token identifies one
 * device, every handler reads `request.agent.device_id` and nothing from the path decides whose data
 * is served. Each authenticated call also counts as agent contact for the 60 s presence rule.
 */
export const agentAuthPlugin = fp(async (app: FastifyInstance, opts: { identity: DeviceIdentityStore }) => {
  app.addHook('onRequest', async (request) => {
    if (!request.routeOptions.url) return;
    const version = agentVersionHeader(request);
    const mode = request.routeOptions.config.agentAuth ?? 'access_token';
    if (mode !== 'access_token') return;
    const principal = await opts.identity.authenticateAccessToken(bearerToken(request));
    if (!principal) {
      throw new BosunError(
        401,
        'invalid_access_token',
        'The access token is unknown or has expired; obtain a new one.',
        {
          header: 'Authorization',
        },
      );
    }
    request.agent = principal;
    const stale = contactWriteDue(principal, Date.now(), SEEN_WRITE_INTERVAL_MS);
    // Contact of a device not announced online (new, or back after silence) also emits device.online.
    if (stale || (version && version !== principal.agent_version))
      await opts.identity.touch(principal.device_id, version, principal.presence_announced !== 'online');
  });
});
