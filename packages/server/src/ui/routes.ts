import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BosunError } from '@bosun/core';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errorResponses } from '../http/schemas.ts';
import type { ApiKeyStore } from '../storage/api-keys.ts';
import { CSRF_COOKIE, CSRF_HEADER, csrfMatches, SESSION_COOKIE, type UiSessionStore } from './sessions.ts';

export interface UiRoutesOptions {
  sessions: UiSessionStore;
  apiKeys: ApiKeyStore;
  /** The built dashboard (packages/web/dist); when absent `/` keeps answering 404. */
  webDir?: string | undefined;
}

const SessionBody = Type.Object(
  {
    object: Type.Literal('ui_session'),
    principal: Type.Object({ id: Type.String(), name: Type.String(), scopes: Type.Array(Type.String()) }),
    expires_at: Type.String({ format: 'date-time' }),
  },
  { title: 'UiSession' },
);

/** Secure exactly when the request came over TLS (directly or as a trusted proxy says). */
function cookieOptions(request: FastifyRequest, httpOnly: boolean, expires: Date) {
  return { path: '/', sameSite: 'strict' as const, secure: request.protocol === 'https', httpOnly, expires };
}

function clearCookies(request: FastifyRequest, reply: FastifyReply): void {
  const past = new Date(0);
  reply.setCookie(SESSION_COOKIE, '', cookieOptions(request, true, past));
  reply.setCookie(CSRF_COOKIE, '', cookieOptions(request, false, past));
}

const noSession = () =>
  new BosunError(401, 'session_expired', 'No dashboard session; sign in with an API key.', {
    cookie: SESSION_COOKIE,
  });

/**
 * Dashboard sign-in (`/ui/session`, outside the platform API: it takes a key, not a key header) and
 * the dashboard's static files at `/`. The key is exchanged once for an httpOnly, SameSite=Strict
 * cookie, so page scripts never hold it; the CSRF cookie is readable on purpose (double submit).
 */
export const uiRoutes: FastifyPluginAsyncTypebox<UiRoutesOptions> = async (app, opts) => {
  app.post(
    '/ui/session',
    {
      config: { public: true },
      schema: {
        body: Type.Object(
          { api_key: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 200: SessionBody, ...errorResponses },
      },
    },
    async (request, reply) => {
      const key = await opts.apiKeys.authenticate(request.body.api_key);
      if (!key) {
        throw new BosunError(401, 'invalid_api_key', 'The API key is unknown or has been revoked.', {
          field: 'api_key',
        });
      }
      // Opportunistic clean-up: sessions past their absolute age are dropped at each sign-in.
      await opts.sessions.purgeExpired();
      const { token, csrf, expiresAt } = await opts.sessions.create(key);
      const absolute = new Date(Date.now() + opts.sessions.policy.absoluteMs);
      reply.setCookie(SESSION_COOKIE, token, cookieOptions(request, true, absolute));
      reply.setCookie(CSRF_COOKIE, csrf, cookieOptions(request, false, absolute));
      reply.header('cache-control', 'no-store');
      return {
        object: 'ui_session' as const,
        principal: { id: key.id, name: key.name, scopes: key.scopes },
        expires_at: expiresAt,
      };
    },
  );

  app.get(
    '/ui/session',
    { config: { public: true }, schema: { response: { 200: SessionBody, ...errorResponses } } },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      const session = token ? await opts.sessions.resolve(token) : undefined;
      if (!session) throw noSession();
      reply.header('cache-control', 'no-store');
      const { key } = session;
      return {
        object: 'ui_session' as const,
        principal: { id: key.id, name: key.name, scopes: key.scopes },
        expires_at: session.expiresAt,
      };
    },
  );

  app.delete('/ui/session', { config: { public: true } }, async (request, reply) => {
    const token = request.cookies[SESSION_COOKIE];
    const session = token ? await opts.sessions.resolve(token) : undefined;
    if (token && session) {
      const presented = request.headers[CSRF_HEADER];
      if (!csrfMatches(Array.isArray(presented) ? presented[0] : presented, session.csrfHash)) {
        throw new BosunError(403, 'csrf_token_invalid', 'Signing out needs the CSRF token in X-CSRF-Token.', {
          header: 'X-CSRF-Token',
        });
      }
      await opts.sessions.remove(token);
    }
    clearCookies(request, reply);
    return reply.status(204).send();
  });

  if (opts.webDir && existsSync(join(opts.webDir, 'index.html'))) {
    // Hash routing in the page: the server only ever serves `/` and the hashed assets.
    await app.register(fastifyStatic, {
      root: opts.webDir,
      prefix: '/',
      wildcard: false,
      index: ['index.html'],
      setHeaders: (res, path) => {
        res.header(
          'cache-control',
          path.includes(`${'/'}assets${'/'}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
        res.header('x-content-type-options', 'nosniff');
        if (path.endsWith('.html')) {
          res.header(
            'content-security-policy',
            // Ajv compiles JSON Schemas to functions in the browser, hence 'unsafe-eval' (no inline scripts).
            "default-src 'self'; script-src 'self' 'unsafe-eval'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
          );
        }
      },
    });
  }
};
