import {
  type AgentReport,
  applyAgentReport,
  becomeCurrentEffects,
  type CreateTarget,
  checkArchive,
  checkCreateTarget,
  checkDeploy,
  checkInstanceSet,
  checkParent,
  checkRestage,
  currentDeployment,
  type DeploymentState,
  type DeviceDeployment,
  initialState,
  newId,
  notFound,
  redeployTarget,
  replacedBy,
  rollbackAfterFailure,
  rolledBackMessage,
  type StatusChange,
  stagingReplacementEffects,
} from '@bosun/core';
import { type Kysely, type Selectable, SqliteAdapter, sql } from 'kysely';
import type { ActivityStatus, Database, DeploymentTable, ErrorStatus, TargetStatus } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { emitDeploymentEvents } from '../webhooks/deployment-events.ts';
import { stateOf } from '../wire/deployments.ts';
import { fetchPage, type Page, type PageRequest, rowsById, whereFilters } from './list.ts';

export type DeploymentRow = Selectable<DeploymentTable>;
export type DeploymentEventRow = Selectable<Database['deployment_events']>;

/** Who caused a status change: a platform API key, a device's agent, or the server itself (effects). */
export type Actor = { type: 'api_key'; id: string } | { type: 'agent'; id: string } | { type: 'system' };

export interface DeploymentFilter {
  id?: string[] | undefined;
  target_status?: TargetStatus[] | undefined;
  activity_status?: ActivityStatus[] | undefined;
  error_status?: ErrorStatus[] | undefined;
  device_id?: string[] | undefined;
  release_id?: string[] | undefined;
}

export interface CreateDeploymentInput {
  target_status: CreateTarget;
  description: string;
  release_id: string;
  device_id: string;
  config_instance_ids: string[];
  parent_id?: string | undefined;
  /** Extension: turn the automatic rollback of this deployment on or off (unset: the server's setting). */
  auto_rollback?: boolean | undefined;
  /** The rollout that created it. */
  rollout_id?: string | undefined;
}

export interface DeploymentStoreOptions {
  /** Roll a failed upgrade back automatically (docs/decisions.md #21); `BOSUN_AUTO_ROLLBACK=0` turns it off. */
  autoRollback?: boolean;
}

/** How a caller may name a deployment before it exists, and the message of its creation event. */
export interface CreateOptions {
  id?: string;
  createdAt?: string;
  message?: string | null;
}

export interface ReportResult {
  deployment: DeploymentRow;
  /** False when the report restated the current state and nothing was written. */
  changed: boolean;
  /** The rollback deployment the failure caused, if any (the device must be told). */
  rollback?: DeploymentRow | undefined;
}

type Tx = Kysely<Database>;

/** A status change (or, with `from` equal to `to`, a notice) caused by the caller, for the history. */
interface OwnChange {
  id: string;
  from: DeploymentState | null;
  to: DeploymentState;
  message: string | null;
  attempt?: number | null;
  observed_at?: string | null;
}

/** One agent report as the agent API hands it over (the device comes from the access token). */
export interface AgentReportInput {
  report: AgentReport;
  /** Drift notice recorded as an event of its own (files changed or removed on the robot). */
  notice?: string | undefined;
  /** The agent's report id: a resent report is recognised and changes nothing. */
  reportId?: string | undefined;
  observedAt?: string | undefined;
}

/** How many report ids the ledger keeps per device: far more than an agent's outbox ever resends. */
export const AGENT_REPORT_RETENTION = 1000;

export { stateOf };

const asDevice = (row: DeploymentRow): DeviceDeployment => ({
  id: row.id,
  release_id: row.release_id,
  state: stateOf(row),
});

/**
 * Deployments and their history. Every lifecycle change of one device runs in one transaction that
 * serialises on that device (PostgreSQL: a row lock on the device; SQLite: an immediate transaction,
 * which takes the database's write lock up front), reads the device's deployments, asks the core
 * rules what may happen and what follows, writes it, and records one event per status change. The
 * partial unique indexes of migration 002 back the two invariants up inside the database.
 */
export class DeploymentStore {
  private readonly sqlite: boolean;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly opts: DeploymentStoreOptions = {},
  ) {
    this.sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  }

  async get(id: string): Promise<DeploymentRow | undefined> {
    return this.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getMany(ids: readonly string[]): Promise<Map<string, DeploymentRow>> {
    return rowsById(this.db.selectFrom('deployments').selectAll(), 'id', ids);
  }

  async list(filter: DeploymentFilter, page: PageRequest): Promise<Page<DeploymentRow>> {
    const q = whereFilters(this.db.selectFrom('deployments').selectAll(), filter, {
      id: 'id',
      target_status: 'target_status',
      activity_status: 'activity_status',
      error_status: 'error_status',
      device_id: 'device_id',
      release_id: 'release_id',
    });
    return fetchPage(q, page);
  }

  /** Config instance ids of each deployment, in the order of the release's schemas. */
  async instanceIds(deploymentIds: readonly string[]): Promise<Map<string, string[]>> {
    return this.instanceIdsIn(this.db, deploymentIds);
  }

  private async instanceIdsIn(db: Tx, deploymentIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>(deploymentIds.map((id) => [id, []]));
    if (!deploymentIds.length) return out;
    const rows = await db
      .selectFrom('deployment_instances')
      .select(['deployment_id', 'config_instance_id'])
      .where('deployment_id', 'in', [...new Set(deploymentIds)])
      .orderBy('deployment_id')
      .orderBy('position')
      .execute();
    for (const r of rows) out.get(r.deployment_id)!.push(r.config_instance_id);
    return out;
  }

  /**
   * Decision 6: the deployments that became current on the device after `row` entered the staging
   * area (created or last restaged), oldest first. A deployment never staged has no drifts.
   */
  async drifts(row: DeploymentRow, page: { offset: number; limit: number }): Promise<Page<DeploymentRow>> {
    if (!row.staged_at) return { rows: [], hasMore: false };
    const rows = await this.db
      .selectFrom('deployments')
      .selectAll()
      .where('device_id', '=', row.device_id)
      .where('id', '!=', row.id)
      .where('current_at', '>', row.staged_at)
      .orderBy('current_at', 'asc')
      .orderBy('id', 'asc')
      .limit(page.limit + 1)
      .offset(page.offset)
      .execute();
    return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  /** The status history of one deployment, oldest first. */
  async events(
    deploymentId: string,
    page: { offset: number; limit: number },
  ): Promise<Page<DeploymentEventRow>> {
    const rows = await this.db
      .selectFrom('deployment_events')
      .selectAll()
      .where('deployment_id', '=', deploymentId)
      .orderBy('occurred_at', 'asc')
      .orderBy('id', 'asc')
      .limit(page.limit + 1)
      .offset(page.offset)
      .execute();
    return { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  }

  /**
   * `opts.id`/`opts.createdAt` let a caller name the deployment before it exists (custom validation
   * sends both to the validator); `opts.message` is kept on the creation event (the verdict).
   */
  async create(input: CreateDeploymentInput, actor: Actor, opts: CreateOptions = {}): Promise<DeploymentRow> {
    return this.onDevice(input.device_id, this.inserting(input, actor, opts));
  }

  /** Creates a deployment inside a transaction that holds the device's lock. */
  private inserting(input: CreateDeploymentInput, actor: Actor, opts: CreateOptions = {}) {
    return async (tx: Tx): Promise<DeploymentRow> => {
      // One round trip: the release (404 when absent) and its schemas in order.
      const releaseRows = await tx
        .selectFrom('releases as r')
        .leftJoin('release_schemas as rs', 'rs.release_id', 'r.id')
        .select(['r.id', 'rs.config_schema_id'])
        .where('r.id', '=', input.release_id)
        .orderBy('rs.position')
        .execute();
      if (!releaseRows.length) throw notFound('release', input.release_id);
      const schemaIds = releaseRows.flatMap((r) => (r.config_schema_id ? [r.config_schema_id] : []));
      const requested = input.config_instance_ids;
      const found = requested.length
        ? await tx
            .selectFrom('config_instances')
            .select(['id', 'config_schema_id'])
            .where('id', 'in', [...new Set(requested)])
            .execute()
        : [];
      const instanceIds = checkInstanceSet(input.release_id, schemaIds, requested, found);
      if (input.parent_id !== undefined) {
        const parent = await tx
          .selectFrom('deployments')
          .select(['id', 'device_id'])
          .where('id', '=', input.parent_id)
          .executeTakeFirst();
        checkParent(parent, input.parent_id, input.device_id);
      }
      const live = await this.liveDeployments(tx, input.device_id);
      checkCreateTarget(input.target_status, input.release_id, currentDeployment(live)?.release_id ?? null);

      const id = opts.id ?? newId('deployment');
      const state = initialState(input.target_status);
      const effects =
        input.target_status === 'staged'
          ? stagingReplacementEffects(id, input.release_id, live)
          : becomeCurrentEffects(id, live);
      // Effects first: the partial unique indexes would refuse the new row while the old one holds its place.
      const applied = await this.applyEffects(tx, effects);
      const now = opts.createdAt ?? nowIso();
      const row: DeploymentRow = {
        id,
        description: input.description,
        device_id: input.device_id,
        release_id: input.release_id,
        parent_id: input.parent_id ?? null,
        target_status: state.target,
        activity_status: state.activity,
        error_status: state.error,
        error_message: null,
        attempts: 0,
        staged_at: state.target === 'staged' ? now : null,
        current_at: state.target === 'deployed' ? now : null,
        deployed_at: null,
        archived_at: null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('deployments').values(row).execute();
      await tx
        .insertInto('deployment_instances')
        .values(
          instanceIds.map((config_instance_id, position) => ({
            deployment_id: id,
            config_instance_id,
            position,
          })),
        )
        .execute();
      if (input.auto_rollback !== undefined || input.rollout_id !== undefined) {
        const auto_rollback = input.auto_rollback === undefined ? null : input.auto_rollback ? 1 : 0;
        await tx
          .insertInto('deployment_settings')
          .values({ deployment_id: id, auto_rollback, rollout_id: input.rollout_id ?? null })
          .execute();
      }
      await this.recordEvents(
        tx,
        input.device_id,
        [{ id, from: null, to: state, message: opts.message ?? null }],
        actor,
        applied,
      );
      return row;
    };
  }

  /**
   * Extension: deploys the instance set of deployment `id` again, as a new deployment of the same
   * device whose parent is `id` (created deployed, or staged and deployed when its release is not
   * the device's current one), in one transaction.
   */
  async redeploy(
    id: string,
    input: { description?: string | undefined; auto_rollback?: boolean | undefined },
    actor: Actor,
  ): Promise<DeploymentRow> {
    return this.onDeployment(id, async (tx, old) => {
      const instanceIds = (await this.instanceIdsIn(tx, [id])).get(id)!;
      const live = await this.liveDeployments(tx, old.device_id);
      const plan = redeployTarget(old.release_id, currentDeployment(live)?.release_id ?? null);
      const row = await this.inserting(
        {
          target_status: plan.create,
          description: input.description ?? `Redeploy of ${id}.`,
          release_id: old.release_id,
          device_id: old.device_id,
          config_instance_ids: instanceIds,
          parent_id: id,
          auto_rollback: input.auto_rollback,
        },
        actor,
        { message: `Redeploys the config instances of ${id}.` },
      )(tx);
      return plan.thenDeploy ? this.deploying(row.id, actor)(tx, row) : row;
    });
  }

  /**
   * A rollout's deployment to one device (docs/decisions.md #78): `config_instance_ids` for the
   * release, where `keep_current` replaces the instance of each schema the device's current
   * deployment already has an instance of; created deployed, or staged and deployed, in one
   * transaction (so nothing is ever left staged).
   */
  async deployInstanceSet(
    input: Omit<CreateDeploymentInput, 'target_status'> & { keep_current: boolean },
    actor: Actor,
  ): Promise<DeploymentRow> {
    return this.onDevice(input.device_id, async (tx) => {
      const live = await this.liveDeployments(tx, input.device_id);
      const current = currentDeployment(live);
      let ids = input.config_instance_ids;
      if (input.keep_current && current) {
        const kept = (await this.instanceIdsIn(tx, [current.id])).get(current.id)!;
        const schemaOf = new Map(
          (
            await tx
              .selectFrom('config_instances')
              .select(['id', 'config_schema_id'])
              .where('id', 'in', [...new Set([...kept, ...ids, ''])])
              .execute()
          ).map((r) => [r.id, r.config_schema_id]),
        );
        const keptSchemas = new Set(kept.map((k) => schemaOf.get(k)));
        ids = [...kept, ...ids.filter((i) => !keptSchemas.has(schemaOf.get(i)))];
        const releaseSchemas = new Set(
          (
            await tx
              .selectFrom('release_schemas')
              .select('config_schema_id')
              .where('release_id', '=', input.release_id)
              .execute()
          ).map((r) => r.config_schema_id),
        );
        // Kept instances only where the release still has their schema.
        ids = ids.filter((i) => !kept.includes(i) || releaseSchemas.has(schemaOf.get(i)!));
      }
      const plan = redeployTarget(input.release_id, current?.release_id ?? null);
      const row = await this.inserting(
        { ...input, config_instance_ids: ids, target_status: plan.create },
        actor,
      )(tx);
      return plan.thenDeploy ? this.deploying(row.id, actor)(tx, row) : row;
    });
  }

  /** staged → deployed/queued; the deployment becomes current, with its effects (docs/decisions.md #27). */
  async deploy(id: string, actor: Actor): Promise<DeploymentRow> {
    return this.onDeployment(id, this.deploying(id, actor));
  }

  private deploying(id: string, actor: Actor) {
    return async (tx: Tx, row: DeploymentRow): Promise<DeploymentRow> => {
      const to = checkDeploy(asDevice(row));
      const live = await this.liveDeployments(tx, row.device_id);
      const applied = await this.applyEffects(tx, becomeCurrentEffects(id, live));
      const now = nowIso();
      const updated = await this.write(tx, row, to, { current_at: now }, now);
      await this.recordEvents(
        tx,
        row.device_id,
        [{ id, from: stateOf(row), to, message: null }],
        actor,
        applied,
      );
      return updated;
    };
  }

  /** A staged or drifted deployment leaves the staging area for good (docs/decisions.md #27). */
  async archive(id: string, actor: Actor): Promise<DeploymentRow> {
    return this.onDeployment(id, async (tx, row) => {
      const to = checkArchive(asDevice(row));
      const now = nowIso();
      const updated = await this.write(tx, row, to, { archived_at: now }, now);
      await this.recordEvents(tx, row.device_id, [{ id, from: stateOf(row), to, message: null }], actor);
      return updated;
    });
  }

  /** Decision 7: drifted → staged; drifts are counted afresh from now. */
  async restage(id: string, actor: Actor): Promise<DeploymentRow> {
    return this.onDeployment(id, async (tx, row) => {
      const to = checkRestage(asDevice(row));
      const now = nowIso();
      const updated = await this.write(tx, row, to, { staged_at: now }, now);
      await this.recordEvents(
        tx,
        row.device_id,
        [{ id, from: stateOf(row), to, message: 'Restaged after review.' }],
        actor,
      );
      return updated;
    });
  }

  /**
   * An agent's report about one deployment (docs/decisions.md #28), in one transaction serialised on
   * the device: the deployment is read under the lock (another device's is a 404), a report id already
   * in the ledger changes nothing, the core rules decide the new state (a repeated report is a no-op,
   * one they do not allow is a 409 and changes nothing), the status change and the drift notice become
   * events with distinct, ordered times, the report id is remembered and the device's ledger pruned.
   * `answer` reads the reply inside the same transaction, so it shows exactly what was committed.
   */
  async agentReport<T>(
    deviceId: string,
    id: string,
    input: AgentReportInput,
    answer: (tx: Tx, outcome: { rollback?: DeploymentRow | undefined }) => Promise<T>,
  ): Promise<T> {
    return this.onDevice(deviceId, async (tx) => {
      const row = await tx
        .selectFrom('deployments')
        .selectAll()
        .where('id', '=', id)
        .where('device_id', '=', deviceId)
        .executeTakeFirst();
      if (!row) throw notFound('deployment', id);
      if (input.reportId !== undefined && (await reportSeen(tx, deviceId, input.reportId)))
        return answer(tx, {});
      const actor: Actor = { type: 'agent', id: deviceId };
      const events = this.reportChanges(row, input.report, input.observedAt);
      const updated = events.length ? events[events.length - 1]!.row : row;
      if (input.notice !== undefined) {
        const state = stateOf(updated);
        events.push({
          row: updated,
          change: {
            id,
            from: state,
            to: state,
            message: input.notice,
            observed_at: input.observedAt ?? null,
          },
        });
      }
      if (updated !== row) await this.writeRow(tx, row, updated);
      if (events.length)
        await this.recordEvents(
          tx,
          deviceId,
          events.map((e) => e.change),
          actor,
        );
      // docs/decisions.md #21: a failure may be answered by a rollback, in this same transaction.
      const rollback =
        updated !== row ? await this.rollBackAfterFailure(tx, row, stateOf(updated)) : undefined;
      if (input.reportId !== undefined) await rememberReport(tx, deviceId, input.reportId, id);
      return answer(tx, { rollback });
    });
  }

  /** The platform side of a report (tests and tools): the same rules, no ledger, no notice. */
  async report(id: string, report: AgentReport, actor: Actor, observedAt?: string): Promise<ReportResult> {
    return this.onDeployment(id, async (tx, row) => {
      const [event] = this.reportChanges(row, report, observedAt);
      if (!event) return { deployment: row, changed: false };
      await this.writeRow(tx, row, event.row);
      await this.recordEvents(tx, row.device_id, [event.change], actor);
      const rollback = await this.rollBackAfterFailure(tx, row, stateOf(event.row));
      return { deployment: event.row, changed: true, rollback };
    });
  }

  /**
   * docs/decisions.md #21: when `failed` has just failed as the device's current deployment, a
   * rollback deployment restores the set of the deployment it replaced (target deployed; the device
   * has no current release any more), in the same transaction as the failure. Both histories name
   * the other deployment and `deployment_rollbacks` links the three.
   */
  private async rollBackAfterFailure(
    tx: Tx,
    failed: DeploymentRow,
    to: DeploymentState,
  ): Promise<DeploymentRow | undefined> {
    if (to.error !== 'failed' || failed.error_status === 'failed') return undefined;
    const history = await tx
      .selectFrom('deployments')
      .select([
        'id',
        'release_id',
        'target_status',
        'activity_status',
        'error_status',
        'current_at',
        'deployed_at',
      ])
      .where('device_id', '=', failed.device_id)
      .where('current_at', 'is not', null)
      .execute();
    const previous = replacedBy(
      failed,
      history.map((r) => ({ ...r, state: stateOf(r) })),
    );
    const setting = await tx
      .selectFrom('deployment_settings')
      .select('auto_rollback')
      .where('deployment_id', '=', failed.id)
      .executeTakeFirst();
    const decision = rollbackAfterFailure({
      failedId: failed.id,
      from: stateOf(failed),
      to,
      previous,
      enabled: (this.opts.autoRollback ?? true) && setting?.auto_rollback !== 0,
    });
    if (!decision.rollback) return undefined;
    const system: Actor = { type: 'system' };
    const restored = await this.instanceIdsIn(tx, [decision.restore_id]);
    const rollback = await this.inserting(
      {
        target_status: 'deployed',
        description: decision.description,
        release_id: decision.release_id,
        device_id: failed.device_id,
        config_instance_ids: restored.get(decision.restore_id)!,
        parent_id: decision.restore_id,
      },
      system,
      { message: decision.message },
    )(tx);
    await tx
      .insertInto('deployment_rollbacks')
      .values({
        deployment_id: rollback.id,
        failed_deployment_id: failed.id,
        restored_deployment_id: decision.restore_id,
        device_id: failed.device_id,
        created_at: rollback.created_at,
      })
      .execute();
    await this.recordEvents(
      tx,
      failed.device_id,
      [{ id: failed.id, from: to, to, message: rolledBackMessage(rollback.id, decision.restore_id) }],
      system,
    );
    return rollback;
  }

  /** The rollback a failed deployment caused, with the deployment it restored. */
  async rollbackOf(failedId: string) {
    return this.db
      .selectFrom('deployment_rollbacks')
      .selectAll()
      .where('failed_deployment_id', '=', failedId)
      .executeTakeFirst();
  }

  /** What the core rules make of a report: nothing (no-op), or the new row and its event. */
  private reportChanges(
    row: DeploymentRow,
    report: AgentReport,
    observedAt: string | undefined,
  ): { row: DeploymentRow; change: OwnChange }[] {
    const outcome = applyAgentReport(
      { state: stateOf(row), error_message: row.error_message, attempts: row.attempts },
      report,
    );
    if (outcome.noop) return [];
    const now = nowIso();
    const to = outcome.state;
    const updated: DeploymentRow = {
      ...row,
      target_status: to.target,
      activity_status: to.activity,
      error_status: to.error,
      error_message: outcome.error_message,
      attempts: outcome.attempts,
      updated_at: now,
      ...(to.activity === 'deployed' && row.activity_status !== 'deployed' ? { deployed_at: now } : {}),
      ...(to.activity === 'archived' && row.activity_status !== 'archived' ? { archived_at: now } : {}),
    };
    const change: OwnChange = {
      id: row.id,
      from: stateOf(row),
      to,
      message: report.message ?? null,
      attempt: report.attempts ?? null,
      observed_at: observedAt ?? null,
    };
    return [{ row: updated, change }];
  }

  // ----- transaction plumbing --------------------------------------------------------------------

  /** Locks the deployment's device, re-reads the deployment inside the transaction and runs `fn`. */
  private async onDeployment<T>(id: string, fn: (tx: Tx, row: DeploymentRow) => Promise<T>): Promise<T> {
    const outside = await this.db
      .selectFrom('deployments')
      .select('device_id')
      .where('id', '=', id)
      .executeTakeFirst();
    if (!outside) throw notFound('deployment', id);
    return this.onDevice(outside.device_id, async (tx) => {
      const row = await tx
        .selectFrom('deployments')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
      return fn(tx, row);
    });
  }

  /**
   * Runs `fn` in a transaction that serialises every lifecycle change of one device: concurrent calls
   * for the same device run one after another and each sees the other's committed result.
   */
  private async onDevice<T>(deviceId: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    if (this.sqlite) {
      // Kysely's SQLite driver hands out its single connection under a mutex; BEGIN IMMEDIATE also takes
      // the write lock at the start, so another process (CLI, second server) waits instead of failing
      // with SQLITE_BUSY when upgrading a read transaction.
      return this.db.connection().execute(async (conn) => {
        await sql`begin immediate`.execute(conn);
        try {
          await this.lockDevice(conn, deviceId);
          const result = await fn(conn);
          await sql`commit`.execute(conn);
          return result;
        } catch (err) {
          await sql`rollback`.execute(conn);
          throw err;
        }
      });
    }
    return this.db.transaction().execute(async (tx) => {
      await this.lockDevice(tx, deviceId);
      return fn(tx);
    });
  }

  private async lockDevice(tx: Tx, deviceId: string): Promise<void> {
    const device = await tx
      .selectFrom('devices')
      .select('id')
      .where('id', '=', deviceId)
      .$if(!this.sqlite, (q) => q.forUpdate())
      .executeTakeFirst();
    if (!device) throw notFound('device', deviceId);
  }

  /** The device's deployments that can still be affected by a change: target staged or deployed. */
  private async liveDeployments(tx: Tx, deviceId: string): Promise<DeviceDeployment[]> {
    const rows = await tx
      .selectFrom('deployments')
      .select(['id', 'release_id', 'target_status', 'activity_status', 'error_status'])
      .where('device_id', '=', deviceId)
      .where('target_status', 'in', ['staged', 'deployed'])
      .execute();
    return rows.map((r) => ({ id: r.id, release_id: r.release_id, state: stateOf(r) }));
  }

  private async applyEffects(tx: Tx, effects: StatusChange[]): Promise<StatusChange[]> {
    for (const change of effects) {
      const now = nowIso();
      await tx
        .updateTable('deployments')
        .set({
          target_status: change.to.target,
          activity_status: change.to.activity,
          error_status: change.to.error,
          updated_at: now,
          ...(change.to.activity === 'archived' && change.from.activity !== 'archived'
            ? { archived_at: now }
            : {}),
        })
        .where('id', '=', change.id)
        .execute();
    }
    return effects;
  }

  /** Writes what a report may change: the statuses, error, attempts and the times they set. */
  private async writeRow(tx: Tx, row: DeploymentRow, next: DeploymentRow): Promise<void> {
    await tx
      .updateTable('deployments')
      .set({
        target_status: next.target_status,
        activity_status: next.activity_status,
        error_status: next.error_status,
        error_message: next.error_message,
        attempts: next.attempts,
        deployed_at: next.deployed_at,
        archived_at: next.archived_at,
        updated_at: next.updated_at,
      })
      .where('id', '=', row.id)
      .execute();
  }

  private async write(
    tx: Tx,
    row: DeploymentRow,
    to: DeploymentState,
    extra: Partial<DeploymentRow>,
    now: string,
  ): Promise<DeploymentRow> {
    const set = {
      target_status: to.target,
      activity_status: to.activity,
      error_status: to.error,
      updated_at: now,
      ...extra,
    };
    await tx.updateTable('deployments').set(set).where('id', '=', row.id).execute();
    return { ...row, ...set };
  }

  /**
   * One `deployment_events` row per status change, in one statement: the caller's own changes with
   * its actor, then the effects they caused with the system as actor. Each row gets its own time, one
   * millisecond after the previous one, so a device's history sorted by time is the order of events.
   */
  private async recordEvents(
    tx: Tx,
    deviceId: string,
    own: OwnChange[],
    actor: Actor,
    effects: StatusChange[] = [],
  ): Promise<void> {
    const first = Date.parse(await nextEventTime(tx, deviceId));
    let index = 0;
    const row = (change: OwnChange, by: Actor) => ({
      id: newId('event'),
      deployment_id: change.id,
      device_id: deviceId,
      from_target_status: change.from?.target ?? null,
      from_activity_status: change.from?.activity ?? null,
      from_error_status: change.from?.error ?? null,
      to_target_status: change.to.target,
      to_activity_status: change.to.activity,
      to_error_status: change.to.error,
      actor_type: by.type,
      actor_id: by.type === 'system' ? null : by.id,
      message: change.message,
      attempt: change.attempt ?? null,
      occurred_at: new Date(first + index++).toISOString(),
      observed_at: change.observed_at ?? null,
    });
    const rows = [...own.map((c) => row(c, actor)), ...effects.map((c) => row(c, { type: 'system' }))];
    await tx.insertInto('deployment_events').values(rows).execute();
    await emitDeploymentEvents(tx, [...own, ...effects]);
  }
}

/**
 * Event times strictly increase per device, even across server processes or replicas whose clocks
 * tie or drift: every change of a device runs under its lock, so "after the device's last event" is
 * well defined, and ordering a device's history by time is its true order.
 */
async function nextEventTime(tx: Tx, deviceId: string): Promise<string> {
  const now = nowIso();
  const last = await tx
    .selectFrom('deployment_events')
    .select('occurred_at')
    .where('device_id', '=', deviceId)
    .orderBy('occurred_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (!last || now > last.occurred_at) return now;
  return new Date(Date.parse(last.occurred_at) + 1).toISOString();
}

/** True when this device already sent a report with this id (a resend from its offline outbox). */
async function reportSeen(tx: Tx, deviceId: string, reportId: string): Promise<boolean> {
  const row = await tx
    .selectFrom('agent_reports')
    .select('report_id')
    .where('device_id', '=', deviceId)
    .where('report_id', '=', reportId)
    .executeTakeFirst();
  return row !== undefined;
}

/** Remembers a report id, then drops the device's ids beyond the newest `AGENT_REPORT_RETENTION`. */
async function rememberReport(tx: Tx, deviceId: string, reportId: string, deploymentId: string) {
  await tx
    .insertInto('agent_reports')
    .values({ device_id: deviceId, report_id: reportId, deployment_id: deploymentId, received_at: nowIso() })
    .execute();
  const oldestKept = await tx
    .selectFrom('agent_reports')
    .select('received_at')
    .where('device_id', '=', deviceId)
    .orderBy('received_at', 'desc')
    .orderBy('report_id', 'desc')
    .offset(AGENT_REPORT_RETENTION - 1)
    .limit(1)
    .executeTakeFirst();
  if (oldestKept) {
    await tx
      .deleteFrom('agent_reports')
      .where('device_id', '=', deviceId)
      .where('received_at', '<', oldestKept.received_at)
      .execute();
  }
}
