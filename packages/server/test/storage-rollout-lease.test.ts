import { resolveServerConfig } from '@bosun/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import type { Store } from '../src/index.ts';
import { RolloutStore } from '../src/storage/rollouts.ts';
import { seedDeploymentWorld } from './support-deployments.ts';

/** The rollout driver's lease (docs/decisions.md #78): one claimant at a time, on both engines. */
describe.each(storageEngines())('rollout leases on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  it('one of several racing replicas wins a claim; the lease expires; a paused rollout is never claimed', async () => {
    const w = await seedDeploymentWorld(store.db, { devices: 2 });
    // Separate store objects, like separate replicas over one database.
    const replicas = [new RolloutStore(store.db), new RolloutStore(store.db), new RolloutStore(store.db)];
    const row = await replicas[0]!.create(
      {
        description: 'lease',
        release_id: w.v1,
        plan: { config_instance_ids: [w.I1, w.I2], keep_current: false },
        selection: { group_ids: [], include_subgroups: false, tag_selector: null, device_ids: w.devices },
        strategy: {
          waves: [{ percent: 100 }],
          soak_seconds: 0,
          max_failure_ratio: 0,
          include_new_devices: false,
        },
        auto_rollback: null,
      },
      w.devices,
    );
    const wins = await Promise.all(replicas.map((r, i) => r.claim(row.id, `replica-${i}`, 60_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    const winner = wins.indexOf(true);
    const other = (winner + 1) % 3;
    expect(await replicas[other]!.claim(row.id, `replica-${other}`, 60_000)).toBe(false);
    // The holder may renew; after release anyone may claim.
    expect(await replicas[winner]!.claim(row.id, `replica-${winner}`, 60_000)).toBe(true);
    await replicas[winner]!.release(row.id, `replica-${winner}`);
    expect(await replicas[other]!.claim(row.id, `replica-${other}`, -1)).toBe(true);
    // An expired lease (a crashed replica) is taken over.
    expect(await replicas[winner]!.claim(row.id, `replica-${winner}`, 60_000)).toBe(true);
    await replicas[0]!.act(row.id, 'pause', null);
    expect(await replicas[0]!.claim(row.id, 'replica-0', 60_000)).toBe(false);
    expect(await replicas[0]!.runningIds()).not.toContain(row.id);
  });
});

describe('BOSUN_AUTO_ROLLBACK', () => {
  it.each([
    [undefined, true],
    ['', true],
    ['1', true],
    ['true', true],
    ['0', false],
    ['off', false],
  ])('%j → %s', (value, expected) => {
    expect(resolveServerConfig({}, { BOSUN_AUTO_ROLLBACK: value }).autoRollback).toBe(expected);
  });
  it('refuses anything else', () => {
    expect(() => resolveServerConfig({}, { BOSUN_AUTO_ROLLBACK: 'maybe' })).toThrow(
      /BOSUN_AUTO_ROLLBACK must be 1 or 0/,
    );
  });
});
