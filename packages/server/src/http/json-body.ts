import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { jsonBodyDepthError } from './limits.ts';

/**
 * An empty body with a JSON content type is the same as no body, and no body is `{}` on an operation
 * whose body is an object (docs/decisions.md #40). Generated clients send every
 * POST with `Content-Type: application/json`, with nothing after it for actions without parameters.
 * Registered on the root instance, so the platform API and the agent API follow one rule.
 */
export const jsonBodyPlugin = fp(async (app: FastifyInstance) => {
  // Fastify's own parser keeps its protection against prototype poisoning; only the empty case changes.
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString();
    if (text.length === 0) {
      done(null, undefined);
      return;
    }
    const tooDeep = jsonBodyDepthError(text);
    if (tooDeep) {
      done(tooDeep, undefined);
      return;
    }
    parseJson(request, text, done);
  });
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && takesObjectBody(request)) request.body = {};
  });
});

function takesObjectBody(request: FastifyRequest): boolean {
  const schema = request.routeOptions.schema?.body as { type?: unknown } | undefined;
  return schema?.type === 'object';
}
