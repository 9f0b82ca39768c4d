import { type AgentReport, BosunError, isForward } from '@bosun/core';
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

async function refusal(p: Promise<unknown>): Promise<BosunError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof BosunError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe.each(storageEngines())('deployment storage on %s', (engine) => {
  let store: Store;
  let db: TestDatabase;
  let deployments: DeploymentStore;

  beforeAll(async () => {
    ({ store, db } = await openTestStore(engine));
    deployments = new DeploymentStore(store.db);
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
    parent?: string,
  ) => createDeployment(deployments, w, release, ids, target, parent ? { parent_id: parent } : {});
  const reload = async (id: string) => state((await deployments.get(id))!);

  it('walks the reference scenario of docs/decisions.md #30 and records every change as an event', async () => {
    const w = await seedDeploymentWorld(store.db);
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    expect(state(A)).toBe('deployed/queued/none');
    await deployments.report(A.id, { activity_status: 'deployed' }, agent(w.device));
    expect(await reload(A.id)).toBe('deployed/deployed/none');

    const B = await create(w, w.v2, [w.I3, w.I2], 'staged');
    expect(state(B)).toBe('staged/staged/none');
    expect((await refusal(create(w, w.v2, [w.I3, w.I2], 'deployed'))).code).toBe('release_not_current');
    expect((await refusal(create(w, w.v2, [w.I3], 'staged'))).params.missing).toEqual([w.S_nav]);
    expect((await refusal(create(w, w.v2, [w.I3, w.I2, w.I1], 'staged'))).params.extra).toEqual([
      { config_instance_id: w.I1, config_schema_id: w.S_mob },
    ]);

    const C = await create(w, w.v1, [w.I4, w.I2], 'deployed', A.id);
    expect(state(C)).toBe('deployed/queued/none');
    expect(C.parent_id).toBe(A.id);
    expect(await reload(A.id)).toBe('archived/deployed/none');
    expect(await reload(B.id)).toBe('staged/drifted/none');
    const drifts = await deployments.drifts((await deployments.get(B.id))!, { offset: 0, limit: 100 });
    expect(drifts.rows.map((d) => d.id)).toEqual([C.id]);
    await deployments.report(A.id, { activity_status: 'archived' }, agent(w.device));
    expect(await reload(A.id)).toBe('archived/archived/none');

    expect((await refusal(deployments.deploy(B.id, user))).code).toBe('deployment_drifted');
    expect(state(await deployments.archive(B.id, user))).toBe('archived/archived/none');

    const E = await create(w, w.v2, [w.I3, w.I2], 'staged');
    expect(state(await deployments.deploy(E.id, user))).toBe('deployed/queued/none');
    expect(await reload(C.id)).toBe('archived/queued/none');
    await deployments.report(E.id, { activity_status: 'deployed' }, agent(w.device));
    await deployments.report(C.id, { activity_status: 'archived' }, agent(w.device));
    expect(await reload(C.id)).toBe('archived/archived/none');

    const failed = await deployments.report(
      E.id,
      { error_status: 'failed', message: 'disk full', attempts: 3 },
      agent(w.device),
    );
    expect(state(failed.deployment)).toBe('archived/archived/failed');
    expect(failed.deployment).toMatchObject({ error_message: 'disk full', attempts: 3 });
    // With its current deployment failed the device has no current release: a deployed create of any release is allowed.
    const F = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    expect(state(F)).toBe('deployed/queued/none');

    const events = await deployments.events(A.id, { offset: 0, limit: 100 });
    expect(
      events.rows.map(
        (e) => `${e.from_target_status ?? '∅'}→${e.to_target_status}/${e.to_activity_status} ${e.actor_type}`,
      ),
    ).toEqual([
      '∅→deployed/queued api_key',
      'deployed→deployed/deployed agent',
      'deployed→archived/deployed system',
      'archived→archived/archived agent',
    ]);
    expect(events.rows[2]!.message).toContain(C.id);
    const eFail = (await deployments.events(E.id, { offset: 0, limit: 100 })).rows.at(-1)!;
    expect(eFail).toMatchObject({
      actor_type: 'agent',
      actor_id: w.device,
      message: 'disk full',
      attempt: 3,
    });
    expect(await lifecycleViolations(store.db, isForward)).toEqual([]);
  });

  it('staging again for the same device and release archives the one that held the place (drifted too)', async () => {
    const w = await seedDeploymentWorld(store.db);
    await create(w, w.v1, [w.I1, w.I2], 'deployed');
    const first = await create(w, w.v2, [w.I3, w.I2], 'staged');
    const second = await create(w, w.v2, [w.I3, w.I2], 'staged', first.id);
    expect(await reload(first.id)).toBe('archived/archived/none');
    expect(second.parent_id).toBe(first.id);
    await create(w, w.v1, [w.I4, w.I2], 'deployed');
    expect(await reload(second.id)).toBe('staged/drifted/none');
    const third = await create(w, w.v2, [w.I3, w.I2], 'staged');
    expect(await reload(second.id)).toBe('archived/archived/none');
    expect(await reload(third.id)).toBe('staged/staged/none');
    const replaced = (await deployments.events(second.id, { offset: 0, limit: 10 })).rows.at(-1)!;
    expect(replaced).toMatchObject({ actor_type: 'system', to_target_status: 'archived' });
    expect(replaced.message).toContain(third.id);
  });

  it('restage makes a drifted deployment deployable and counts drifts afresh', async () => {
    const w = await seedDeploymentWorld(store.db);
    await create(w, w.v1, [w.I1, w.I2], 'deployed');
    const B = await create(w, w.v2, [w.I3, w.I2], 'staged');
    expect((await refusal(deployments.restage(B.id, user))).code).toBe('deployment_not_drifted');
    await create(w, w.v1, [w.I4, w.I2], 'deployed');
    const restaged = await deployments.restage(B.id, user);
    expect(state(restaged)).toBe('staged/staged/none');
    expect((await deployments.drifts(restaged, { offset: 0, limit: 10 })).rows).toEqual([]);
    expect(state(await deployments.deploy(B.id, user))).toBe('deployed/queued/none');
    expect((await refusal(deployments.deploy(B.id, user))).code).toBe('deployment_not_deployable');
    expect((await refusal(deployments.archive(B.id, user))).code).toBe('deployment_not_archivable');
  });

  it('refuses unknown references and a parent of another device, changing nothing', async () => {
    const w = await seedDeploymentWorld(store.db, { devices: 2 });
    const other = await deployments.create(
      {
        target_status: 'staged',
        description: 'x',
        release_id: w.v1,
        device_id: w.devices[1]!,
        config_instance_ids: [w.I1, w.I2],
      },
      user,
    );
    const before = await store.db.selectFrom('deployments').select('id').execute();
    expect((await refusal(create(w, 'rls_nope', [w.I1, w.I2], 'staged'))).status).toBe(404);
    expect((await refusal(create({ ...w, device: 'dvc_nope' }, w.v1, [w.I1, w.I2], 'staged'))).status).toBe(
      404,
    );
    const parent = await refusal(create(w, w.v1, [w.I1, w.I2], 'staged', other.id));
    expect(parent).toMatchObject({ status: 422, code: 'invalid_parent' });
    expect((await refusal(create(w, w.v1, [w.I1, w.I2], 'staged', 'dpl_nope'))).code).toBe('invalid_parent');
    expect((await refusal(deployments.deploy('dpl_nope', user))).status).toBe(404);
    expect(await store.db.selectFrom('deployments').select('id').execute()).toHaveLength(before.length);
  });

  it('agent reports: idempotent, refused when not a transition', async () => {
    const w = await seedDeploymentWorld(store.db);
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    const retry: AgentReport = { error_status: 'retrying', message: 'network unreachable', attempts: 1 };
    expect((await deployments.report(A.id, retry, agent(w.device))).changed).toBe(true);
    expect((await deployments.report(A.id, retry, agent(w.device))).changed).toBe(false);
    expect(await reload(A.id)).toBe('deployed/queued/retrying');
    expect(
      (await refusal(deployments.report(A.id, { activity_status: 'archived' }, agent(w.device)))).code,
    ).toBe('invalid_transition');
    const ok = await deployments.report(A.id, { activity_status: 'deployed' }, agent(w.device));
    expect(ok.deployment).toMatchObject({
      error_status: 'none',
      error_message: null,
      activity_status: 'deployed',
    });
    expect(ok.deployment.deployed_at).not.toBeNull();
    const B = await create(w, w.v2, [w.I3, w.I2], 'staged');
    expect(
      (await refusal(deployments.report(B.id, { activity_status: 'deployed' }, agent(w.device)))).code,
    ).toBe('invalid_transition');
    const chain = (await deployments.events(A.id, { offset: 0, limit: 10 })).rows;
    expect(chain).toHaveLength(3); // created, retrying, deployed: the repeated and refused reports left no trace
  });

  it('the database itself refuses a second current deployment or a second staged one for a release', async () => {
    const w = await seedDeploymentWorld(store.db);
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    const B = await create(w, w.v2, [w.I3, w.I2], 'staged');
    const clone = (row: typeof A) => ({
      ...row,
      id: `${row.id}x`,
      created_at: row.created_at,
      updated_at: row.updated_at,
    });
    await expect(store.db.insertInto('deployments').values(clone(A)).execute()).rejects.toThrow();
    await expect(store.db.insertInto('deployments').values(clone(B)).execute()).rejects.toThrow();
  });

  it('50 concurrent mixed calls on one device keep every invariant', async () => {
    const w = await seedDeploymentWorld(store.db, { extraReleases: 6 });
    const A = await create(w, w.v1, [w.I1, w.I2], 'deployed');
    const releases = [w.v2, ...w.extraReleases];
    const pick = <T>(xs: T[], i: number) => xs[i % xs.length]!;
    const known: string[] = [A.id];
    const outcomes: string[] = [];
    const calls = Array.from({ length: 50 }, (_, i) => async () => {
      const kind = i % 7;
      try {
        if (kind === 0 || kind === 1) {
          known.push((await create(w, pick(releases, i), [w.I3, w.I2], 'staged')).id);
        } else if (kind === 2) {
          known.push((await create(w, w.v1, [pick([w.I1, w.I4], i), w.I2], 'deployed')).id);
        } else if (kind === 3) {
          await deployments.deploy(pick(known, i * 3), user);
        } else if (kind === 4) {
          await deployments.archive(pick(known, i * 5), user);
        } else if (kind === 5) {
          await deployments.restage(pick(known, i), user);
        } else {
          await deployments.report(
            pick(known, i),
            { activity_status: i % 2 ? 'deployed' : 'archived' },
            agent(w.device),
          );
        }
        outcomes.push('ok');
      } catch (err) {
        if (!(err instanceof BosunError) || (err.status !== 409 && err.status !== 422)) throw err;
        outcomes.push(String(err.status));
      }
    });
    await Promise.all(calls.map((c) => c()));
    expect(outcomes).toHaveLength(50);
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThan(10);
    expect(await lifecycleViolations(store.db, isForward)).toEqual([]);
    const current = await store.db
      .selectFrom('deployments')
      .select('id')
      .where('device_id', '=', w.device)
      .where('target_status', '=', 'deployed')
      .execute();
    expect(current.length).toBeLessThanOrEqual(1);
  });
});
