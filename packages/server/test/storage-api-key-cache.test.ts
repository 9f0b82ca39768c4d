import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import type { Store } from '../src/index.ts';
import { API_KEY_CACHE_TTL_MS, ApiKeyStore, generateApiKeySecret } from '../src/storage/api-keys.ts';

/**
 * The cache of verified API keys (docs/decisions.md #91): a replica trusts a key it verified for
 * at most API_KEY_CACHE_TTL_MS; its own revoke, rename and remove take effect at once.
 * Two stores on one database stand for two replicas; the clock is moved by hand.
 */
describe.each(storageEngines())('API key cache on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;
  let clock = 0;
  let here: ApiKeyStore;
  let elsewhere: ApiKeyStore;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
    here = new ApiKeyStore(store.db, { now: () => clock });
    elsewhere = new ApiKeyStore(store.db);
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  const newKey = async () => {
    const secret = generateApiKeySecret();
    const key = await elsewhere.create({ name: 'cached', scopes: ['devices:read'], secret });
    return { secret, key };
  };

  it('a revocation on another replica takes effect within the TTL, never later', async () => {
    const { secret, key } = await newKey();
    expect((await here.authenticate(secret))?.id).toBe(key.id);
    expect(await elsewhere.revoke(key.id)).toBe(true);
    expect(await elsewhere.authenticate(secret)).toBeUndefined();
    // Still trusted here until the verification expires: the documented bound.
    clock += API_KEY_CACHE_TTL_MS - 1;
    expect((await here.authenticate(secret))?.id).toBe(key.id);
    clock += 1;
    expect(await here.authenticate(secret)).toBeUndefined();
    clock += 10 * API_KEY_CACHE_TTL_MS;
    expect(await here.authenticate(secret)).toBeUndefined();
  });

  it('revoke, rename and remove through the same store take effect at once', async () => {
    const a = await newKey();
    expect((await here.authenticate(a.secret))?.id).toBe(a.key.id);
    expect(await here.revoke(a.key.id)).toBe(true);
    expect(await here.authenticate(a.secret)).toBeUndefined();

    const b = await newKey();
    expect((await here.authenticate(b.secret))?.name).toBe('cached');
    await here.rename(b.key.id, 'renamed');
    expect((await here.authenticate(b.secret))?.name).toBe('renamed');
    await here.remove(b.key.id);
    expect(await here.authenticate(b.secret)).toBeUndefined();
  });

  it('an unknown key is never cached: a key created later works at once', async () => {
    const secret = generateApiKeySecret();
    expect(await here.authenticate(secret)).toBeUndefined();
    const key = await elsewhere.create({ name: 'late', scopes: [], secret });
    expect((await here.authenticate(secret))?.id).toBe(key.id);
  });

  it('a lookup that raced with a revocation does not cache the key it read', async () => {
    const { secret, key } = await newKey();
    const racing = here.authenticate(secret);
    const revoked = here.revoke(key.id);
    await Promise.all([racing, revoked]);
    expect(await here.authenticate(secret)).toBeUndefined();
  });

  it('touch updates the cached last_used_at, so use is written once per resolution', async () => {
    const { secret, key } = await newKey();
    expect((await here.authenticate(secret))?.last_used_at).toBeNull();
    await here.touch(key.id);
    expect((await here.authenticate(secret))?.last_used_at).toMatch(/^\d{4}-\d{2}-\d{2}T/);
  });

  it('cacheTtlMs 0 turns the cache off', async () => {
    const off = new ApiKeyStore(store.db, { cacheTtlMs: 0 });
    const { secret, key } = await newKey();
    expect((await off.authenticate(secret))?.id).toBe(key.id);
    await elsewhere.revoke(key.id);
    expect(await off.authenticate(secret)).toBeUndefined();
  });
});
