import { isForward } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestStore, storageEngines, type TestDatabase } from '../../../test/support/store.ts';
import type { Store } from '../src/index.ts';
import { DeploymentStore } from '../src/storage/deployments.ts';
import {
  agent,
  createDeployment,
  type DeploymentWorld,
  lifecycleViolations,
  seedDeploymentWorld,
  state,
  user,
} from './support-deployments.ts';

/** Rollback when an upgrade fails (docs/decisions.md #21) and redeploy, on the storage layer. */

const failure = {
  error_status: 'failed' as const,
  message: 'cannot write /srv/bosun/mobility-v2.json',
  attempts: 3,
};

describe.each(storageEngines())('rollback storage on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;
  let deployments: DeploymentStore;
  let noRollback: DeploymentStore;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
    deployments = new DeploymentStore(store.db);
    noRollback = new DeploymentStore(store.db, { autoRollback: false });
  });
  afterAll(async () => {
    await store?.close();
    await db?.destroy();
  });

  const create = (
    w: DeploymentWorld,
    release: string,
    ids: string[],
    target: 'staged' | 'deployed',
    extra: { auto_rollback?: boolean } = {},
  ) => createDeployment(deployments, w, release, ids, target, extra);
  const reload = async (id: string) => (await deployments.get(id))!;

  /** A deployed on the robot, then B (another release) staged and deployed over it. */
  async function upgrade(w: DeploymentWorld, extra: { auto_rollback?: boolean } = {}) {
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    await deployments.report(A.id, { activity_status: 'deployed' }, agent(w.device));
    const B = await create(w, w.v2, [w.I3, w.I2], 'staged', extra);
    await deployments.deploy(B.id, user);
    await deployments.report(
      B.id,
      { error_status: 'retrying', message: 'busy', attempts: 1 },
      agent(w.device),
    );
    return { A, B };
  }

  it('a failed upgrade creates a rollback deployment of the previous set, linked both ways', async () => {
    const w = await seedDeploymentWorld(store.db);
    const { A, B } = await upgrade(w);
    const result = await deployments.report(B.id, failure, agent(w.device));
    expect(state(result.deployment)).toBe('archived/archived/failed');
    const C = result.rollback!;
    expect(C).toBeDefined();
    expect(state(C)).toBe('deployed/queued/none');
    expect(C).toMatchObject({ release_id: w.v1, device_id: w.device, parent_id: A.id });
    expect(C.description).toContain(B.id);
    expect(C.description).toContain(A.id);
    expect((await deployments.instanceIds([C.id])).get(C.id)).toEqual([w.I1, w.I2]);
    expect(await deployments.rollbackOf(B.id)).toMatchObject({
      deployment_id: C.id,
      restored_deployment_id: A.id,
      device_id: w.device,
    });
    const cEvents = (await deployments.events(C.id, { offset: 0, limit: 10 })).rows;
    expect(cEvents).toHaveLength(1);
    expect(cEvents[0]).toMatchObject({ actor_type: 'system', from_target_status: null });
    expect(cEvents[0]!.message).toContain(B.id);
    const bLast = (await deployments.events(B.id, { offset: 0, limit: 100 })).rows.at(-1)!;
    expect(bLast).toMatchObject({ actor_type: 'system', to_error_status: 'failed' });
    expect(bLast.message).toContain(C.id);
    // The agent reports the restored files deployed; A leaves as it always did.
    await deployments.report(C.id, { activity_status: 'deployed' }, agent(w.device));
    await deployments.report(A.id, { activity_status: 'archived' }, agent(w.device));
    expect(state(await reload(C.id))).toBe('deployed/deployed/none');
    // A repeated failure report changes nothing and makes no second rollback.
    const again = await deployments.report(B.id, failure, agent(w.device));
    expect(again).toMatchObject({ changed: false });
    expect(again.rollback).toBeUndefined();
    expect(await lifecycleViolations(store.db, isForward)).toEqual([]);
  });

  it('a failing rollback is not rolled back again', async () => {
    const w = await seedDeploymentWorld(store.db);
    const { B } = await upgrade(w);
    const C = (await deployments.report(B.id, failure, agent(w.device))).rollback!;
    const second = await deployments.report(C.id, failure, agent(w.device));
    expect(state(second.deployment)).toBe('archived/archived/failed');
    expect(second.rollback).toBeUndefined();
  });

  it('a first deployment, or one whose predecessor never reached the robot, has nothing to roll back to', async () => {
    const w = await seedDeploymentWorld(store.db);
    const first = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    expect((await deployments.report(first.id, failure, agent(w.device))).rollback).toBeUndefined();
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    const B = await create(w, w.v1, [w.I4, w.I2], 'deployed');
    expect(state(await reload(A.id))).toBe('archived/queued/none');
    expect((await deployments.report(B.id, failure, agent(w.device))).rollback).toBeUndefined();
  });

  it('turned off by the server setting or by the deployment, nothing is created', async () => {
    const w1 = await seedDeploymentWorld(store.db);
    const off = await upgrade(w1);
    expect((await noRollback.report(off.B.id, failure, agent(w1.device))).rollback).toBeUndefined();
    const w2 = await seedDeploymentWorld(store.db);
    const perDeployment = await upgrade(w2, { auto_rollback: false });
    expect(
      (await deployments.report(perDeployment.B.id, failure, agent(w2.device))).rollback,
    ).toBeUndefined();
    const current = await deployments.list(
      { device_id: [w2.device], target_status: ['deployed'] },
      { offset: 0, limit: 10, order: [], totalCount: false },
    );
    expect(current.rows).toEqual([]);
  });

  it('redeploy deploys an old set again: directly for the current release, staged then deployed otherwise', async () => {
    const w = await seedDeploymentWorld(store.db);
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    await deployments.report(A.id, { activity_status: 'deployed' }, agent(w.device));
    const B = await create(w, w.v2, [w.I3, w.I2], 'staged');
    await deployments.deploy(B.id, user);
    await deployments.report(B.id, { activity_status: 'deployed' }, agent(w.device));
    const again = await deployments.redeploy(A.id, {}, user);
    expect(state(again)).toBe('deployed/queued/none');
    expect(again).toMatchObject({ release_id: w.v1, parent_id: A.id });
    expect((await deployments.instanceIds([again.id])).get(again.id)).toEqual([w.I1, w.I2]);
    expect(state(await reload(B.id))).toBe('archived/deployed/none');
    const patch = await deployments.redeploy(again.id, { description: 'same again' }, user);
    expect(patch).toMatchObject({ description: 'same again', target_status: 'deployed' });
    expect(state(await reload(again.id))).toBe('archived/queued/none');
    expect(await lifecycleViolations(store.db, isForward)).toEqual([]);
  });
});
