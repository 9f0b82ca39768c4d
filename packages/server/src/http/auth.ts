import { BosunError, checkApiVersion, grantsAny } from '@bosun/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { ApiKeyRecord, ApiKeyStore } from '../storage/api-keys.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Scopes of which the caller needs at least one; `[]` means authenticated but no scope. */
    scopes?: string[];
    /** Scopes the caller needs as well, every one of them (a view that joins several resources). */
    alsoScopes?: string[];
    /** Skips the version header and the API key (health, OpenAPI document, docs). */
    public?: boolean;
  }
  interface FastifyRequest {
    principal?: ApiKeyRecord;
  }
}

export interface PlatformAuthOptions {
  apiKeys: ApiKeyStore;
  /**
   * The dashboard's session cookie (ui/sessions.ts), asked only when no `X-API-Key` was sent: the key
   * a valid session stands for, undefined without a cookie; it throws for an ended session or a
   * missing CSRF token. Scopes are then checked exactly as for the key itself.
   */
  sessions?: (request: FastifyRequest) => Promise<ApiKeyRecord | undefined>;
}

/**
 * The platform API's gate, in the order a client should fix things: the `Miru-Version` header, then
 * the `X-API-Key` (401), then the route's scope (403). Handlers needing a scope that depends on the
 * body (create deployment) call `requireScopes` themselves.
 */
export const platformAuthPlugin = fp(async (app: FastifyInstance, opts: PlatformAuthOptions) => {
  // Fail closed (docs/decisions.md #42): a route that forgot its scopes would
  // be open to any valid key, so it stops the server from starting instead.
  app.addHook('onRoute', (route) => {
    if (route.config?.public === true || Array.isArray(route.config?.scopes)) return;
    throw new Error(
      `Route ${[route.method].flat().join(',')} ${route.url} declares no scopes: set config.scopes (use [] for "any valid key") or config.public: true.`,
    );
  });
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public || !request.routeOptions.url) return;
    checkApiVersion(request.headers['miru-version']);
    const header = request.headers['x-api-key'];
    const secret = Array.isArray(header) ? header[0] : header;
    const viaSession = secret ? undefined : await opts.sessions?.(request);
    if (!secret && !viaSession) {
      throw new BosunError(401, 'unauthenticated', 'Send an API key in the X-API-Key header.', {
        header: 'X-API-Key',
      });
    }
    const key = viaSession ?? (secret ? await opts.apiKeys.authenticate(secret) : undefined);
    if (!key) {
      throw new BosunError(401, 'invalid_api_key', 'The API key is unknown or has been revoked.', {
        header: 'X-API-Key',
      });
    }
    request.principal = key;
    recordUse(opts.apiKeys, key);
    // onRoute guarantees a list here; an absent one still refuses rather than grants.
    if (!config.scopes) throw new BosunError(403, 'missing_scope', 'This route grants no scope.');
    requireScopes(request, config.scopes);
    for (const scope of config.alsoScopes ?? []) requireScopes(request, [scope]);
  });
});

/** How stale `last_used_at` may get: one write a minute per key, not one per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** Best effort and off the request path: a failed bookkeeping write must never fail the request. */
function recordUse(keys: ApiKeyStore, key: ApiKeyRecord): void {
  if (key.last_used_at && Date.now() - Date.parse(key.last_used_at) < LAST_USED_RESOLUTION_MS) return;
  keys.touch(key.id).catch(() => {});
}

/** 403 unless the caller holds one of `anyOf` (directly or through `<resource>:manage`). */
export function requireScopes(request: FastifyRequest, anyOf: string[]): void {
  const granted = request.principal?.scopes ?? [];
  if (!grantsAny(granted, anyOf)) {
    throw new BosunError(
      403,
      'missing_scope',
      `This API key lacks the scope for this request; it needs ${anyOf.length > 1 ? 'one of ' : ''}${anyOf.join(', ')}.`,
      { required: anyOf },
    );
  }
}
