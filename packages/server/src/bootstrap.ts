import { ADMIN_SCOPES } from '@bosun/core';
import type { ApiKeyStore } from './storage/api-keys.ts';
import { generateApiKeySecret } from './storage/api-keys.ts';

export type BootstrapResult =
  | { kind: 'existing' }
  | { kind: 'generated'; id: string; secret: string }
  | { kind: 'provided'; id: string };

/**
 * On an empty key table, creates the first admin key: the operator's `BOSUN_BOOTSTRAP_API_KEY` when
 * given (automation), otherwise a generated one that the caller prints once. Once any key exists this
 * does nothing, so the variable can stay set without minting keys on every start.
 */
export async function bootstrapAdminKey(
  keys: ApiKeyStore,
  provided: string | undefined,
): Promise<BootstrapResult> {
  // Cheap check first; the atomic one below decides when replicas race on an empty table.
  if ((await keys.count()) > 0) return { kind: 'existing' };
  if (provided !== undefined && provided.length < 20)
    throw new Error('BOSUN_BOOTSTRAP_API_KEY must be at least 20 characters long');
  const secret = provided ?? generateApiKeySecret();
  const key = await keys.createIfNone({
    name: provided !== undefined ? 'bootstrap admin' : 'admin',
    scopes: ADMIN_SCOPES,
    secret,
  });
  if (!key) return { kind: 'existing' };
  return provided !== undefined
    ? { kind: 'provided', id: key.id }
    : { kind: 'generated', id: key.id, secret };
}
