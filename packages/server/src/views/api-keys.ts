import { Type } from '@sinclair/typebox';
import { NullableTimestamp, Timestamp } from '../http/schemas.ts';
import type { ApiKeyRecord } from '../storage/api-keys.ts';
import { plainView } from './view.ts';

const apiKeyFields = {
  object: Type.Literal('api_key'),
  id: Type.String({ examples: ['api_key_123'] }),
  name: Type.String(),
  scopes: Type.Array(Type.String(), { description: 'What the key may do (`resource:action`).' }),
  created_at: Timestamp('When the key was created.'),
  last_used_at: NullableTimestamp('When the key last authenticated a request (to the minute).'),
  revoked_at: NullableTimestamp('When the key was revoked; a revoked key authenticates nothing.'),
};

export const ApiKey = Type.Object(apiKeyFields, { $id: 'ApiKey', title: 'API Key' });
export const CreatedApiKey = Type.Object(
  {
    ...apiKeyFields,
    secret: Type.String({
      description: 'The key itself, shown only in this response: Bosun stores a hash of it.',
      examples: ['bsn_0123456789abcdefghijABCDEFGHIJ'],
    }),
  },
  { $id: 'CreatedApiKey', title: 'Created API Key' },
);

export function toApiKey(key: ApiKeyRecord) {
  return {
    object: 'api_key' as const,
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    created_at: key.created_at,
    last_used_at: key.last_used_at,
    revoked_at: key.revoked_at,
  };
}

export const apiKeyView = plainView('api_key', 'api key', toApiKey);
