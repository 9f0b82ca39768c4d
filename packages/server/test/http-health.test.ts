import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close().catch(() => {});
  await t?.database.destroy().catch(() => {});
});

describe('GET /healthz', () => {
  it('200 while the database answers, 503 once it does not; never needs a key or version', async () => {
    const ok = await t.api('GET', '/healthz', { key: null, version: null });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ status: 'ok', database: t.engine });
    // Closing the pool under the running server is how an unreachable database looks to it.
    await t.server.store.db.destroy();
    const down = await t.api('GET', '/healthz', { key: null, version: null });
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'unavailable', database: t.engine });
  });
});
