import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

/**
 * One line per request: id, method, route pattern (never the raw URL with ids or query), status and
 * duration. Headers and bodies are never logged, so keys and tokens cannot leak through here.
 */
export const requestLogPlugin = fp(async (app: FastifyInstance) => {
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'request',
    );
  });
});
