import { createHash } from 'node:crypto';
import { notFound, unprocessable } from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { expandParam } from '../http/query.ts';
import { getResource, listResource, renderOne } from '../http/resource.ts';
import { ExpandQuery, errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import { checkInstanceContent } from '../schema-languages/instance-check.ts';
import type { Repositories } from '../storage/index.ts';
import { configInstanceView, InstanceContent } from '../views/config-instances.ts';

const EXPAND = ['content', 'config_schema', 'config_type'];
const MIME = { json: 'application/json' } as const;

export const configInstanceRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (
  app,
  { repos },
) => {
  const tags = ['Config Instances'];

  app.post(
    '/config_instances',
    {
      config: { scopes: ['config_instances:write'] },
      schema: {
        tags,
        operationId: 'createConfigInstance',
        summary: 'Create',
        description:
          'Validates the content against its schema (422 with one entry per violation: path, message, rule). Instances are immutable.',
        querystring: ExpandQuery(EXPAND),
        body: Type.Object({ config_schema_id: Type.String(), content: InstanceContent }),
        response: { 200: Type.Ref('ConfigInstance'), ...errorResponses },
      },
    },
    async (request) => {
      const tree = expandParam(request.query, 'config_instance').tree;
      const { config_schema_id: schemaId, content } = request.body;
      const schema = await repos.configSchemas.get(schemaId);
      if (!schema) throw notFound('config schema', schemaId);
      const errors = await checkInstanceContent(repos, schema, content.data);
      if (errors.length) {
        throw unprocessable(
          'schema_violation',
          `The content violates schema ${schema.id} in ${errors.length} place(s): ${errors
            .map((e) => `${e.path || '/'} ${e.message}`)
            .join('; ')}`,
          { field: 'content.data', config_schema_id: schema.id, errors },
        );
      }
      const row = await repos.configInstances.create({
        config_schema_id: schema.id,
        config_type_id: schema.config_type_id,
        filepath: schema.instance_filepath,
        format: content.format,
        data: content.data,
        content_digest: `sha256:${createHash('sha256').update(content.data, 'utf8').digest('hex')}`,
      });
      return renderOne(repos, configInstanceView, row, tree);
    },
  );

  app.get(
    '/config_instances',
    {
      config: { scopes: ['config_instances:read'] },
      schema: {
        tags,
        operationId: 'listConfigInstances',
        summary: 'List',
        querystring: ListQuery(
          {
            id: filter('Config instance ids.'),
            config_schema_id: filter('Config schema ids.'),
            config_type_id: filter('Config type ids.'),
          },
          EXPAND,
        ),
        response: {
          200: PaginatedList(Type.Ref('ConfigInstance'), 'Config Instance List'),
          ...errorResponses,
        },
      },
    },
    async (request) =>
      listResource(repos, configInstanceView, request.query, (page) =>
        repos.configInstances.list(request.query, page),
      ),
  );

  app.get(
    '/config_instances/:config_instance_id',
    {
      config: { scopes: ['config_instances:read'] },
      schema: {
        tags,
        operationId: 'getConfigInstance',
        summary: 'Get',
        params: IdParam('config_instance_id', 'cfg_inst_...'),
        querystring: ExpandQuery(EXPAND),
        response: { 200: Type.Ref('ConfigInstance'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, configInstanceView, request.query, request.params.config_instance_id, (id) =>
        repos.configInstances.get(id),
      ),
  );

  app.get(
    '/config_instances/:config_instance_id/content',
    {
      config: { scopes: ['config_instances:read'] },
      schema: {
        tags,
        operationId: 'getConfigInstanceContent',
        summary: 'Download Content',
        description:
          "The content exactly as stored. Content-Type follows the instance format; Content-Disposition is inline (default) or attachment, with the file's name.",
        params: IdParam('config_instance_id', 'cfg_inst_...'),
        querystring: Type.Object({
          disposition: Type.Optional(
            Type.Union([Type.Literal('inline'), Type.Literal('attachment')], { default: 'inline' }),
          ),
        }),
        response: {
          // Documents the raw download; the handler sends a Buffer, which no serializer touches.
          200: {
            description: 'The config instance content, byte for byte as created.',
            content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.config_instance_id;
      const row = await repos.configInstances.get(id);
      if (!row) throw notFound('config instance', id);
      const disposition = request.query.disposition ?? 'inline';
      const name = row.filepath.slice(row.filepath.lastIndexOf('/') + 1);
      // A Buffer is sent as is: no serializer may touch the bytes.
      return reply
        .type(`${MIME[row.format]}; charset=utf-8`)
        .header('Content-Disposition', contentDisposition(disposition, name))
        .send(Buffer.from(row.data, 'utf8'));
    },
  );
};

/** RFC 6266: a quoted ASCII fallback plus `filename*` (RFC 8187) when the name is not plain ASCII. */
export function contentDisposition(kind: string, filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const header = `${kind}; filename="${ascii}"`;
  return ascii === filename ? header : `${header}; filename*=UTF-8''${encodeURIComponent(filename)}`;
}
