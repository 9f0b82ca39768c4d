import { notFound } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { errorResponses, IdParam } from '../http/schemas.ts';
import { checkInstanceContent } from '../schema-languages/instance-check.ts';
import type { Repositories } from '../storage/index.ts';
import { InstanceContent } from '../views/config-instances.ts';

/**
 * `POST /beta/config_schemas/{id}/validate` (extension): the check of instance creation without
 * creating anything, for editors that validate as the user types (the dashboard's CUE schemas).
 */
export const validateRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  app.post(
    '/config_schemas/:config_schema_id/validate',
    {
      config: { scopes: ['config_instances:write', 'config_schemas:read'] },
      schema: {
        'x-bosun-extension': true,
        tags: ['Config Schemas'],
        operationId: 'validateConfigInstanceContent',
        summary: 'Validate content',
        description:
          'Extension: validates instance content against the schema exactly as creating an instance does, and creates nothing. 200 with every violation (path, message, rule, schema location); limits and JSON syntax fail as for create.',
        params: IdParam('config_schema_id', 'cfg_sch_123'),
        body: Type.Object({ content: InstanceContent }),
        response: {
          200: Type.Object(
            {
              object: Type.Literal('validation'),
              valid: Type.Boolean(),
              errors: Type.Array(
                Type.Object({
                  path: Type.String(),
                  message: Type.String(),
                  rule: Type.String(),
                  schema_location: Type.String(),
                }),
              ),
            },
            { title: 'Validation' },
          ),
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const id = (request.params as { config_schema_id: string }).config_schema_id;
      const schema = await repos.configSchemas.get(id);
      if (!schema) throw notFound('config schema', id);
      const errors = await checkInstanceContent(repos, schema, request.body.content.data);
      return { object: 'validation' as const, valid: errors.length === 0, errors };
    },
  );
};
