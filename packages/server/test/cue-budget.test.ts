import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { CueBusyError, CuePool, CueTimeoutError } from '../src/schema-languages/cue-pool.ts';

/**
 * Issue 11, defect 3: one CUE schema with a huge comprehension held the only worker until a 60 s
 * timeout and every other CUE request waited behind it. Now each job has a budget of a few seconds,
 * the worker that overran is replaced, the queue is bounded, and the caller is told why.
 */
const EXPENSIVE = 'package p\n\nimport "list"\n\nx: [for i in list.Range(0, 200000, 1) {i * 2}]\n';
const CHEAP = 'package p\n\nx: int | *1\n';

// Starting a CUE worker compiles 26 MB of WebAssembly: seconds on a busy machine.
const SLOW = { timeout: 180_000 };

describe('CuePool budget', SLOW, () => {
  it('a job over its budget fails as too expensive; the pool of one then serves the next job', async () => {
    const pool = new CuePool(1, 3_000);
    try {
      const expensive = pool.run({ op: 'check', key: 'e', files: [{ name: 'a.cue', data: EXPENSIVE }] });
      const cheap = pool.run({ op: 'check', key: 'c', files: [{ name: 'a.cue', data: CHEAP }] });
      await expect(expensive).rejects.toBeInstanceOf(CueTimeoutError);
      expect((await cheap).code).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('the queue is bounded: past the limit a job is refused at once', async () => {
    const pool = new CuePool(1, 3_000, 2);
    try {
      const job = (key: string) =>
        pool.run({ op: 'check', key, files: [{ name: 'a.cue', data: EXPENSIVE }] });
      // The worker is still warming up, so all three wait: the queue is full.
      const running = [job('a'), job('b')];
      await expect(job('c')).rejects.toBeInstanceOf(CueBusyError);
      for (const r of running) await expect(r).rejects.toBeInstanceOf(CueTimeoutError);
    } finally {
      await pool.close();
    }
  });
});

describe('CUE budget over HTTP', SLOW, () => {
  let t: TestServer;
  let typeId: string;
  beforeAll(async () => {
    t = await startTestServer();
    typeId = (await t.api('POST', 'config_types', { body: { name: 'Cue', slug: 'cue' } })).body.id;
  });
  afterAll(async () => {
    await t?.close();
  });
  const create = (data: string) =>
    t.api('POST', 'config_schemas', {
      body: {
        config_type_ref: { id: typeId },
        language: 'cue',
        format: 'cue',
        documents: [{ name: 'p.cue', data }],
      },
    });

  it('an expensive schema is a 422 schema_too_expensive, and a cheap one sent meanwhile is created', async () => {
    const [expensive, cheap] = await Promise.all([create(EXPENSIVE), create(CHEAP)]);
    expect(expensive.status, expensive.text).toBe(422);
    expect(expensive.body.error).toMatchObject({
      code: 'schema_too_expensive',
      params: { field: 'documents', budget_ms: expect.any(Number) },
    });
    expect(cheap.status, cheap.text).toBe(200);
    expect((await t.api('GET', '/healthz')).status).toBe(200);
  });
});
