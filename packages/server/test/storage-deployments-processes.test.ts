import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { isForward } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, type TestDatabase } from '../../../test/support/store.ts';
import type { Store } from '../src/index.ts';
import { DeploymentStore } from '../src/storage/deployments.ts';
import { lifecycleViolations, seedDeploymentWorld } from './support-deployments.ts';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

// SQLite's write lock is per file, not per process: two server processes (or the CLI next to a server)
// on one database must still serialise a device's changes. BEGIN IMMEDIATE makes the second writer
// wait (busy_timeout) instead of failing when it upgrades a read snapshot that went stale.
describe('deployment storage on sqlite, several processes on one file', () => {
  let store: Store;
  let db: TestDatabase;
  beforeAll(async () => {
    ({ store, db } = await openTestStore('sqlite'));
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  it('three processes firing 75 mixed calls at one device keep every invariant', async () => {
    const w = await seedDeploymentWorld(store.db, { extraReleases: 4 });
    await new DeploymentStore(store.db).create(
      {
        target_status: 'deployed',
        description: 'first',
        release_id: w.v1,
        device_id: w.device,
        config_instance_ids: [w.I1, w.I2],
      },
      { type: 'system' },
    );
    const results = await Promise.all(
      [0, 1, 2].map((seed) =>
        run(
          process.execPath,
          [
            // Workspace packages from their sources, like the tests in this process.
            '--conditions=source',
            '--import',
            'tsx',
            join(here, 'support-deployments-worker.ts'),
            db.dataDir,
            JSON.stringify(w),
            String(seed),
          ],
          { cwd: join(here, '..', '..', '..'), timeout: 60_000 },
        ),
      ),
    );
    const outcomes = results.flatMap((r) => JSON.parse(r.stdout) as string[]);
    expect(outcomes).toHaveLength(75);
    expect(outcomes.every((o) => ['ok', '409', '422'].includes(o))).toBe(true);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(20);
    expect(await lifecycleViolations(store.db, isForward)).toEqual([]);
  }, 90_000);
});
