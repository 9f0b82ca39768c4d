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
  if ((await keys.count()) > 0) return { kind: 'existing' };
  if (provided !== undefined) {
    if (provided.length < 20) throw new Error('BOSUN_BOOTSTRAP_API_KEY must be at least 20 characters long');
    const key = await keys.create({ name: 'bootstrap admin', scopes: ADMIN_SCOPES, secret: provided });
    return { kind: 'provided', id: key.id };
  }
  const secret = generateApiKeySecret();
  const key = await keys.create({ name: 'admin', scopes: ADMIN_SCOPES, secret });
  return { kind: 'generated', id: key.id, secret };
}
