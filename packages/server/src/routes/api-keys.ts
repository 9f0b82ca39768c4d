import {
  ALL_SCOPES,
  BosunError,
  checkName,
  conflict,
  isKnownScope,
  notFound,
  scopesNotHeld,
} from '@bosun/core';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { getResource, listResource } from '../http/resource.ts';
import { errorResponses, filter, IdParam, ListQuery, PaginatedList } from '../http/schemas.ts';
import { generateApiKeySecret } from '../storage/api-keys.ts';
import type { Repositories } from '../storage/index.ts';
import { apiKeyView, toApiKey } from '../views/api-keys.ts';

/** Extension beyond the Miru API (docs/decisions.md #19). */
const EXTENSION = { 'x-bosun-extension': true } as const;
const SCOPE = ['api_keys:manage'];

/**
 * A key may only hand out, rename or revoke what it holds itself: `api_keys:manage` alone never
 * becomes a way to more power (or to lock out a stronger key).
 */
function requireHeld(request: FastifyRequest, scopes: string[], action: string): void {
  const missing = scopesNotHeld(request.principal?.scopes ?? [], scopes);
  if (missing.length) {
    throw new BosunError(
      403,
      'scope_not_held',
      `This API key cannot ${action} a key with scopes it does not hold itself: ${missing.join(', ')}.`,
      { scopes: missing },
    );
  }
}

export const apiKeyRoutes: FastifyPluginAsyncTypebox<{ repos: Repositories }> = async (app, { repos }) => {
  const tags = ['API Keys'];
  const load = async (id: string) => {
    const key = await repos.apiKeys.get(id);
    if (!key) throw notFound('api key', id);
    return key;
  };

  app.post(
    '/api_keys',
    {
      config: { scopes: SCOPE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'createApiKey',
        summary: 'Create',
        description:
          'Extension: creates an API key and returns its secret, only this once. A key can only grant scopes its creator holds.',
        body: Type.Object({
          name: Type.String({ description: 'Who uses the key, 1–48 characters.' }),
          scopes: Type.Array(Type.String(), {
            minItems: 1,
            description: `Scopes of the key: ${ALL_SCOPES.join(', ')}.`,
          }),
        }),
        response: { 200: Type.Ref('CreatedApiKey'), ...errorResponses },
      },
    },
    async (request) => {
      const name = checkName('name', request.body.name);
      const scopes = [...new Set(request.body.scopes.map((s) => s.trim()))];
      const unknown = scopes.filter((s) => !isKnownScope(s));
      if (unknown.length) {
        throw new BosunError(422, 'unknown_scope', `Unknown scope(s): ${unknown.join(', ')}.`, {
          field: 'scopes',
          unknown,
          known: ALL_SCOPES,
        });
      }
      requireHeld(request, scopes, 'create');
      const secret = generateApiKeySecret();
      const key = await repos.apiKeys.create({ name, scopes, secret });
      return { ...toApiKey(key), secret };
    },
  );

  app.get(
    '/api_keys',
    {
      config: { scopes: SCOPE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'listApiKeys',
        summary: 'List',
        description: 'Extension: every API key, revoked ones included; never a secret or its hash.',
        querystring: ListQuery({ id: filter('API key ids.') }, []),
        response: { 200: PaginatedList(Type.Ref('ApiKey'), 'API Key List'), ...errorResponses },
      },
    },
    async (request) =>
      listResource(repos, apiKeyView, request.query, (page) => repos.apiKeys.page(request.query, page)),
  );

  app.get(
    '/api_keys/:api_key_id',
    {
      config: { scopes: SCOPE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'getApiKey',
        summary: 'Get',
        params: IdParam('api_key_id', 'api_key_...'),
        response: { 200: Type.Ref('ApiKey'), ...errorResponses },
      },
    },
    async (request) =>
      getResource(repos, apiKeyView, {}, request.params.api_key_id, (id) => repos.apiKeys.get(id)),
  );

  app.patch(
    '/api_keys/:api_key_id',
    {
      config: { scopes: SCOPE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'updateApiKey',
        summary: 'Rename',
        description: 'Extension: renames a key. Its secret and scopes never change.',
        params: IdParam('api_key_id', 'api_key_...'),
        body: Type.Object({ name: Type.String({ description: 'Who uses the key, 1–48 characters.' }) }),
        response: { 200: Type.Ref('ApiKey'), ...errorResponses },
      },
    },
    async (request) => {
      const name = checkName('name', request.body.name);
      const key = await load(request.params.api_key_id);
      requireHeld(request, key.scopes, 'rename');
      const renamed = await repos.apiKeys.rename(key.id, name);
      if (!renamed) throw notFound('api key', key.id);
      return toApiKey(renamed);
    },
  );

  app.post(
    '/api_keys/:api_key_id/revoke',
    {
      config: { scopes: SCOPE },
      schema: {
        ...EXTENSION,
        tags,
        operationId: 'revokeApiKey',
        summary: 'Revoke',
        description:
          'Extension: revokes a key at once and for good; its next request is a 401. Revoking a revoked key is a 409.',
        params: IdParam('api_key_id', 'api_key_...'),
        response: { 200: Type.Ref('ApiKey'), ...errorResponses },
      },
    },
    async (request) => {
      const key = await load(request.params.api_key_id);
      requireHeld(request, key.scopes, 'revoke');
      if (!(await repos.apiKeys.revoke(key.id))) {
        throw conflict('api_key_revoked', `API key ${key.id} is already revoked.`, { id: key.id });
      }
      return toApiKey(await load(key.id));
    },
  );
};
