import {
  assignWaves,
  badRequest,
  checkRolloutAction,
  newId,
  notFound,
  parseTagSelector,
  type RolloutAction,
  type RolloutStatus,
  type RolloutStrategy,
  type StoredTargetState,
  type TargetState,
  targetState,
  type WebhookEventType,
} from '@bosun/core';
import type { Kysely, Selectable } from 'kysely';
import type { RolloutTable, RolloutTargetTable } from '../db/fleet-schema.ts';
import type { Database } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { emitEvent } from '../webhooks/events.ts';
import { type RolloutPlan, type RolloutSelection, toRollout } from '../wire/rollouts.ts';
import { type DeploymentRow, stateOf } from './deployments.ts';
import { inGroups, matchingTags } from './groups.ts';
import { fetchPage, type Page, type PageRequest } from './list.ts';

export type RolloutRow = Selectable<RolloutTable>;
export type RolloutTargetRow = Selectable<RolloutTargetTable>;
export type RolloutEventRow = Selectable<Database['rollout_events']>;

export type { RolloutPlan, RolloutSelection };

export interface CreateRolloutInput {
  description: string;
  release_id: string;
  plan: RolloutPlan;
  selection: RolloutSelection;
  strategy: RolloutStrategy;
  auto_rollback: boolean | null;
}

/** A target with where it stands (from its deployment). */
export interface TargetView extends Omit<RolloutTargetRow, 'state'> {
  state: TargetState;
}

/**
 * Rollouts, their per-device targets and their event history (docs/decisions.md #78). The driver
 * claims a running rollout with a lease in its row (`claim`), so with several replicas on
 * PostgreSQL one replica advances a rollout at a time.
 */
export class RolloutStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Devices of a selection, in creation order: explicit ids, and devices matching groups and tags. */
  async selectDevices(selection: RolloutSelection, groupIds: string[]): Promise<string[]> {
    const byRule =
      selection.group_ids.length || selection.tag_selector
        ? await this.db
            .selectFrom('devices')
            .select(['id', 'created_at'])
            .$if(selection.group_ids.length > 0, (q) => q.where(inGroups(groupIds)))
            .$if(!!selection.tag_selector, (q) =>
              q.where(matchingTags(parseTagSelector(selection.tag_selector!))),
            )
            .orderBy('created_at')
            .orderBy('id')
            .execute()
        : [];
    const explicit = selection.device_ids.length
      ? await this.db.selectFrom('devices').select('id').where('id', 'in', selection.device_ids).execute()
      : [];
    const found = new Set(explicit.map((d) => d.id));
    const missing = selection.device_ids.find((id) => !found.has(id));
    if (missing) throw notFound('device', missing);
    return [...new Set([...selection.device_ids, ...byRule.map((d) => d.id)])];
  }

  async create(input: CreateRolloutInput, deviceIds: string[]): Promise<RolloutRow> {
    if (!deviceIds.length)
      throw badRequest('empty_selection', 'The selection names no device.', { field: 'selection' });
    return this.db.transaction().execute(async (tx) => {
      const now = nowIso();
      const row: RolloutRow = {
        id: newId('rollout'),
        description: input.description,
        release_id: input.release_id,
        plan: JSON.stringify(input.plan),
        selector: JSON.stringify(input.selection),
        strategy: JSON.stringify(input.strategy),
        status: 'running',
        status_reason: null,
        auto_rollback: input.auto_rollback === null ? null : input.auto_rollback ? 1 : 0,
        current_wave: 0,
        wave_started_at: now,
        soak_until: null,
        lease_owner: null,
        lease_until: null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('rollouts').values(row).execute();
      const waves = assignWaves(deviceIds, input.strategy.waves);
      for (let i = 0; i < deviceIds.length; i += 500) {
        await tx
          .insertInto('rollout_targets')
          .values(
            deviceIds.slice(i, i + 500).map((device_id) => ({
              rollout_id: row.id,
              device_id,
              wave: waves.get(device_id)!,
              deployment_id: null,
              state: 'pending',
              updated_at: now,
            })),
          )
          .execute();
      }
      await this.event(
        tx,
        row.id,
        'created',
        null,
        `Rollout of ${deviceIds.length} devices in ${input.strategy.waves.length} waves created.`,
      );
      return row;
    });
  }

  /** The schema ids of a release, in order. */
  async releaseSchemaIds(releaseId: string): Promise<string[]> {
    const rows = await this.db
      .selectFrom('release_schemas')
      .select('config_schema_id')
      .where('release_id', '=', releaseId)
      .orderBy('position')
      .execute();
    return rows.map((r) => r.config_schema_id);
  }

  async get(id: string): Promise<RolloutRow | undefined> {
    return this.db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(
    filter: { id?: string[] | undefined; status?: RolloutStatus[] | undefined },
    page: PageRequest,
  ): Promise<Page<RolloutRow>> {
    let q = this.db.selectFrom('rollouts').selectAll();
    if (filter.id?.length) q = q.where('id', 'in', filter.id);
    if (filter.status?.length) q = q.where('status', 'in', filter.status);
    return fetchPage(q, page);
  }

  async runningIds(): Promise<string[]> {
    return (await this.db.selectFrom('rollouts').select('id').where('status', '=', 'running').execute()).map(
      (r) => r.id,
    );
  }

  /** Targets of rollouts with where each stands now. */
  async targets(rolloutIds: readonly string[], db: Kysely<Database> = this.db): Promise<TargetView[]> {
    if (!rolloutIds.length) return [];
    const rows = await db
      .selectFrom('rollout_targets as t')
      .leftJoin('deployments as d', 'd.id', 't.deployment_id')
      .select([
        't.rollout_id',
        't.device_id',
        't.wave',
        't.deployment_id',
        't.state',
        't.updated_at',
        'd.target_status',
        'd.activity_status',
        'd.error_status',
        'd.deployed_at',
      ])
      .where('t.rollout_id', 'in', [...rolloutIds])
      .orderBy('t.wave')
      .orderBy('t.device_id')
      .execute();
    return rows.map((r) => ({
      rollout_id: r.rollout_id,
      device_id: r.device_id,
      wave: r.wave,
      deployment_id: r.deployment_id,
      state: targetState(r.state, deploymentOf(r)),
      updated_at: r.updated_at,
    }));
  }

  async events(id: string, page: { offset: number; limit: number }): Promise<Page<RolloutEventRow>> {
    const rows = await this.db
      .selectFrom('rollout_events')
      .selectAll()
      .where('rollout_id', '=', id)
      .orderBy('occurred_at')
      .orderBy('id')
      .limit(page.limit + 1)
      .offset(page.offset)
      .execute();
    return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  /**
   * Takes the driver's lease on a running rollout for `ms`, unless another driver holds an unexpired
   * one. One conditional update: only one replica can win it.
   */
  async claim(id: string, owner: string, ms: number): Promise<boolean> {
    const now = nowIso();
    const result = await this.db
      .updateTable('rollouts')
      .set({ lease_owner: owner, lease_until: new Date(Date.now() + ms).toISOString() })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where((eb) =>
        eb.or([eb('lease_owner', 'is', null), eb('lease_until', '<', now), eb('lease_owner', '=', owner)]),
      )
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async release(id: string, owner: string): Promise<void> {
    await this.db
      .updateTable('rollouts')
      .set({ lease_owner: null, lease_until: null })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /** Driver changes apply only while the rollout is still running (an operator may have paused it). */
  async advance(
    id: string,
    set: Partial<
      Pick<RolloutRow, 'current_wave' | 'soak_until' | 'wave_started_at' | 'status' | 'status_reason'>
    >,
    event?: { type: string; wave: number | null; message: string },
  ): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      const r = await tx
        .updateTable('rollouts')
        .set({ ...set, updated_at: nowIso() })
        .where('id', '=', id)
        .where('status', '=', 'running')
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      if (event) await this.event(tx, id, event.type, event.wave, event.message);
      return true;
    });
  }

  async addTargets(id: string, wave: number, deviceIds: string[]): Promise<void> {
    if (!deviceIds.length) return;
    const now = nowIso();
    await this.db
      .insertInto('rollout_targets')
      .values(
        deviceIds.map((device_id) => ({
          rollout_id: id,
          device_id,
          wave,
          deployment_id: null,
          state: 'pending',
          updated_at: now,
        })),
      )
      .onConflict((oc) => oc.doNothing())
      .execute();
    await this.event(
      this.db,
      id,
      'devices_added',
      wave,
      `${deviceIds.length} devices joined the selection and were added to wave ${wave + 1}.`,
    );
  }

  async setTarget(
    id: string,
    deviceId: string,
    set: { state: StoredTargetState; deployment_id: string | null },
  ): Promise<void> {
    await this.db
      .updateTable('rollout_targets')
      .set({ ...set, updated_at: nowIso() })
      .where('rollout_id', '=', id)
      .where('device_id', '=', deviceId)
      .execute();
  }

  async recordEvent(id: string, type: string, wave: number | null, message: string): Promise<void> {
    await this.event(this.db, id, type, wave, message);
  }

  /**
   * pause, resume or abort (core rule `checkRolloutAction`). Resume puts the failed devices back to
   * pending (they get a new deployment); abort skips the devices not started yet.
   */
  async act(
    id: string,
    action: RolloutAction,
    reason: string | null,
  ): Promise<{ row: RolloutRow; retried: number }> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('rollout', id);
      const to = checkRolloutAction(id, row.status, action);
      const now = nowIso();
      let retried = 0;
      if (action === 'resume') {
        const failed = (await this.targets([id], tx)).filter(
          (t) => t.state === 'failed' && t.wave <= row.current_wave,
        );
        for (const t of failed)
          await tx
            .updateTable('rollout_targets')
            .set({ state: 'pending', deployment_id: null, updated_at: now })
            .where('rollout_id', '=', id)
            .where('device_id', '=', t.device_id)
            .execute();
        retried = failed.length;
      }
      if (action === 'abort') {
        const targets = await this.targets([id], tx);
        const notStarted = targets.filter((t) => t.state === 'pending').map((t) => t.device_id);
        if (notStarted.length)
          await tx
            .updateTable('rollout_targets')
            .set({ state: 'skipped', updated_at: now })
            .where('rollout_id', '=', id)
            .where('device_id', 'in', notStarted)
            .execute();
      }
      const status_reason =
        action === 'pause'
          ? (reason ?? 'Paused by an operator.')
          : action === 'abort'
            ? (reason ?? 'Aborted by an operator.')
            : null;
      await tx
        .updateTable('rollouts')
        .set({ status: to, status_reason, updated_at: now, lease_owner: null, lease_until: null })
        .where('id', '=', id)
        .execute();
      const message =
        action === 'resume'
          ? `Resumed${retried ? `; ${retried} failed devices get a new deployment` : ''}.`
          : status_reason!;
      await this.event(
        tx,
        id,
        action === 'pause' ? 'paused' : action === 'resume' ? 'resumed' : 'aborted',
        row.current_wave,
        message,
      );
      return { row: { ...row, status: to, status_reason, updated_at: now }, retried };
    });
  }

  /**
   * A line of the rollout's history; the six lifecycle lines (created, wave_started, paused,
   * resumed, completed, aborted) are also platform events, `rollout.<type>`, emitted in the same
   * transaction with the rollout as the API renders it after the change (docs/decisions.md #87).
   */
  private async event(db: Kysely<Database>, id: string, type: string, wave: number | null, message: string) {
    await db
      .insertInto('rollout_events')
      .values({ id: newId('event'), rollout_id: id, type, wave, message, occurred_at: nowIso() })
      .execute();
    const platform = ROLLOUT_PLATFORM_EVENTS[type];
    if (!platform) return;
    const row = await db.selectFrom('rollouts').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    const data: Record<string, unknown> = { rollout: toRollout(row, await this.targets([id], db)) };
    if (type === 'wave_started' && wave !== null) data.wave = wave + 1;
    if (type === 'paused' || type === 'aborted') data.reason = message;
    await emitEvent(db, platform, data);
  }
}

/** Which lines of a rollout's history are platform events. */
const ROLLOUT_PLATFORM_EVENTS: Record<string, WebhookEventType | undefined> = {
  created: 'rollout.created',
  wave_started: 'rollout.wave_started',
  paused: 'rollout.paused',
  resumed: 'rollout.resumed',
  completed: 'rollout.completed',
  aborted: 'rollout.aborted',
};

/** The target's deployment from the left join: every status column set, or none (no deployment yet). */
function deploymentOf(r: {
  target_status: DeploymentRow['target_status'] | null;
  activity_status: DeploymentRow['activity_status'] | null;
  error_status: DeploymentRow['error_status'] | null;
  deployed_at: string | null;
}) {
  const { target_status, activity_status, error_status } = r;
  if (target_status === null || activity_status === null || error_status === null) return null;
  return { state: stateOf({ target_status, activity_status, error_status }), deployed_at: r.deployed_at };
}
