import { createHash } from 'node:crypto';
import { newId, randomBase62 } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database } from '../src/db/schema.ts';
import { nowIso } from '../src/db/time.ts';
import type { Actor, DeploymentStore } from '../src/storage/deployments.ts';

/**
 * Rows for deployment tests, inserted directly (the storage suite does not depend on the config
 * schema / instance / release routes): the world of docs/decisions.md #30 — releases v1 {S_mob, S_nav}
 * and v2 {S_mob2, S_nav}, instances I1(S_mob), I2(S_nav), I3(S_mob2), I4(S_mob) — plus extra
 * releases v3… {S_mob2, S_nav} for tests that need many, and one device.
 */
export interface DeploymentWorld {
  device: string;
  v1: string;
  v2: string;
  extraReleases: string[];
  S_mob: string;
  S_nav: string;
  S_mob2: string;
  I1: string;
  I2: string;
  I3: string;
  I4: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export async function seedDeploymentWorld(
  db: Kysely<Database>,
  opts: { extraReleases?: number; devices?: number } = {},
): Promise<DeploymentWorld & { devices: string[] }> {
  const tag = randomBase62(8);
  const now = nowIso();
  const types = { mob: newId('configType'), nav: newId('configType') };
  await db
    .insertInto('config_types')
    .values([
      {
        id: types.mob,
        name: `Mobility ${tag}`,
        slug: `mobility-${tag.toLowerCase()}`,
        created_at: now,
        updated_at: now,
      },
      {
        id: types.nav,
        name: `Navigation ${tag}`,
        slug: `navigation-${tag.toLowerCase()}`,
        created_at: now,
        updated_at: now,
      },
    ])
    .execute();
  const schema = (type: string, path: string) => ({
    id: newId('configSchema'),
    config_type_id: type,
    language: 'jsonschema' as const,
    format: 'json' as const,
    instance_filepath: path,
    digest: sha(`${tag}${path}`),
    identity_key: sha(`${tag}${type}${path}`),
    git_commit_id: null,
    created_at: now,
    updated_at: now,
  });
  const S_mob = schema(types.mob, '/srv/bosun/mobility.json');
  const S_nav = schema(types.nav, '/srv/bosun/navigation.json');
  const S_mob2 = schema(types.mob, '/srv/bosun/mobility-v2.json');
  await db.insertInto('config_schemas').values([S_mob, S_nav, S_mob2]).execute();
  const instance = (s: typeof S_mob, data: string) => ({
    id: newId('configInstance'),
    config_schema_id: s.id,
    config_type_id: s.config_type_id,
    filepath: s.instance_filepath,
    format: 'json' as const,
    data,
    content_digest: `sha256:${sha(data)}`,
    created_at: nowIso(),
  });
  const I1 = instance(S_mob, '{"max_speed": 1.0}');
  const I2 = instance(S_nav, '{"planner": "teb"}');
  const I3 = instance(S_mob2, '{"max_speed": 1.5, "accel": 0.5}');
  const I4 = instance(S_mob, '{"max_speed": 1.2}');
  await db.insertInto('config_instances').values([I1, I2, I3, I4]).execute();
  const release = async (version: string, schemas: (typeof S_mob)[]) => {
    const id = newId('release');
    const t = nowIso();
    await db
      .insertInto('releases')
      .values({
        id,
        version,
        version_key: version.replace(/^v/, ''),
        git_commit_id: null,
        created_at: t,
        updated_at: t,
      })
      .execute();
    await db
      .insertInto('release_schemas')
      .values(
        schemas.map((s, position) => ({
          release_id: id,
          config_schema_id: s.id,
          config_type_id: s.config_type_id,
          instance_filepath: s.instance_filepath,
          position,
        })),
      )
      .execute();
    return id;
  };
  const v1 = await release(`v1.0.0-${tag}`, [S_mob, S_nav]);
  const v2 = await release(`v2.0.0-${tag}`, [S_mob2, S_nav]);
  const extraReleases: string[] = [];
  for (let i = 0; i < (opts.extraReleases ?? 0); i++)
    extraReleases.push(await release(`v3.${i}.0-${tag}`, [S_mob2, S_nav]));
  const devices: string[] = [];
  for (let i = 0; i < (opts.devices ?? 1); i++) {
    const id = newId('device');
    const t = nowIso();
    await db
      .insertInto('devices')
      .values({
        id,
        name: `robot-${tag}-${i}`,
        status: 'online',
        agent_version: 'v0.1.0',
        last_connected_at: t,
        last_disconnected_at: null,
        created_at: t,
        updated_at: t,
      })
      .execute();
    devices.push(id);
  }
  return {
    device: devices[0]!,
    devices,
    v1,
    v2,
    extraReleases,
    S_mob: S_mob.id,
    S_nav: S_nav.id,
    S_mob2: S_mob2.id,
    I1: I1.id,
    I2: I2.id,
    I3: I3.id,
    I4: I4.id,
  };
}

/**
 * Checks every lifecycle invariant over the whole database and returns the violations (empty when
 * all hold): ≤1 target `deployed` per device, ≤1 staged-or-drifted per device and release, every
 * deployment's events form one forward-only chain from creation to its current state, and every
 * deployment holds one instance per schema of its release.
 */
export async function lifecycleViolations(
  db: Kysely<Database>,
  isForward: (a: any, b: any) => boolean,
): Promise<string[]> {
  const problems: string[] = [];
  const deployments = await db.selectFrom('deployments').selectAll().execute();
  const current = new Map<string, number>();
  const staging = new Map<string, number>();
  for (const d of deployments) {
    if (d.target_status === 'deployed') current.set(d.device_id, (current.get(d.device_id) ?? 0) + 1);
    if (d.target_status === 'staged' && (d.activity_status === 'staged' || d.activity_status === 'drifted')) {
      const k = `${d.device_id}/${d.release_id}`;
      staging.set(k, (staging.get(k) ?? 0) + 1);
    }
  }
  for (const [device, n] of current)
    if (n > 1) problems.push(`${device} has ${n} deployments with target deployed`);
  for (const [k, n] of staging) if (n > 1) problems.push(`${k} has ${n} staged-or-drifted deployments`);

  const events = await db
    .selectFrom('deployment_events')
    .selectAll()
    .orderBy('occurred_at', 'asc')
    .orderBy('id', 'asc')
    .execute();
  const byDeployment = new Map<string, typeof events>();
  for (const e of events)
    byDeployment.set(e.deployment_id, [...(byDeployment.get(e.deployment_id) ?? []), e]);
  for (const d of deployments) {
    const chain = byDeployment.get(d.id) ?? [];
    if (!chain.length || chain[0]!.from_target_status !== null) {
      problems.push(`${d.id} has no creation event`);
      continue;
    }
    for (let i = 1; i < chain.length; i++) {
      const prev = chain[i - 1]!;
      const e = chain[i]!;
      const from = {
        target: e.from_target_status,
        activity: e.from_activity_status,
        error: e.from_error_status,
      };
      const prevTo = {
        target: prev.to_target_status,
        activity: prev.to_activity_status,
        error: prev.to_error_status,
      };
      if (JSON.stringify(from) !== JSON.stringify(prevTo))
        problems.push(`${d.id} event ${e.id} does not follow ${prev.id}`);
      if (
        !isForward(from, {
          target: e.to_target_status,
          activity: e.to_activity_status,
          error: e.to_error_status,
        })
      )
        problems.push(`${d.id} event ${e.id} moves backwards`);
    }
    const last = chain[chain.length - 1]!;
    if (
      last.to_target_status !== d.target_status ||
      last.to_activity_status !== d.activity_status ||
      last.to_error_status !== d.error_status
    )
      problems.push(`${d.id}'s last event does not match its state`);
  }
  const counts = await db
    .selectFrom('deployments as d')
    .select(['d.id', 'd.release_id'])
    .select((eb) => [
      eb
        .selectFrom('deployment_instances as di')
        .innerJoin('config_instances as ci', 'ci.id', 'di.config_instance_id')
        .innerJoin('release_schemas as rs', (j) =>
          j
            .onRef('rs.config_schema_id', '=', 'ci.config_schema_id')
            .onRef('rs.release_id', '=', 'd.release_id'),
        )
        .whereRef('di.deployment_id', '=', 'd.id')
        .select((e) => e.fn.count<number>('rs.config_schema_id').distinct().as('n'))
        .as('covered'),
      eb
        .selectFrom('release_schemas as rs2')
        .whereRef('rs2.release_id', '=', 'd.release_id')
        .select((e) => e.fn.countAll<number>().as('n'))
        .as('needed'),
      eb
        .selectFrom('deployment_instances as di2')
        .whereRef('di2.deployment_id', '=', 'd.id')
        .select((e) => e.fn.countAll<number>().as('n'))
        .as('held'),
    ])
    .execute();
  for (const c of counts) {
    if (Number(c.covered) !== Number(c.needed) || Number(c.held) !== Number(c.needed))
      problems.push(`${c.id} does not hold exactly one instance per schema of its release`);
  }
  return problems;
}

/** The API key the storage suites act as, and the agent of a device. */
export const user: Actor = { type: 'api_key', id: 'api_key_test' };
export const agent = (device: string): Actor => ({ type: 'agent', id: device });
/** A deployment's three status fields as `target/activity/error`. */
export const state = (d: { target_status: string; activity_status: string; error_status: string }) =>
  `${d.target_status}/${d.activity_status}/${d.error_status}`;

/** A deployment of the world's device created by `user` (described by its target and release). */
export function createDeployment(
  deployments: DeploymentStore,
  w: DeploymentWorld,
  release: string,
  ids: string[],
  target: 'staged' | 'deployed',
  extra: { parent_id?: string; auto_rollback?: boolean } = {},
) {
  return deployments.create(
    {
      target_status: target,
      description: `${target} ${release}`,
      release_id: release,
      device_id: w.device,
      config_instance_ids: ids,
      ...extra,
    },
    user,
  );
}
