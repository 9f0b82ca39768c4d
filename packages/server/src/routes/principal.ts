import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses } from '../http/schemas.ts';

export const principalRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/principal',
    {
      // Any valid key may ask who it is (docs/decisions.md #14).
      config: { scopes: [] },
      schema: {
        tags: ['Principals'],
        operationId: 'getSelf',
        summary: 'Self',
        response: {
          200: Type.Object(
            { object: Type.Literal('principal'), id: Type.String(), name: Type.String() },
            { title: 'Principal' },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => ({
      object: 'principal' as const,
      id: request.principal!.id,
      name: request.principal!.name,
    }),
  );
};
