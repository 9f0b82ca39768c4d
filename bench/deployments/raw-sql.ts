/**
 * The raw-SQL ceiling of `POST /deployments` on SQLite: the statements one create runs (the API key
 * lookup, the release's validation mode, then the transaction of storage/deployments.ts `create`
 * with the same SQL text, the same transaction shape and the core rules deciding the effects),
 * through better-sqlite3 directly with statements prepared once — no HTTP, no Kysely, no
 * serialisation. What a request costs above this is the server's own overhead.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  becomeCurrentEffects,
  checkCreateTarget,
  checkInstanceSet,
  currentDeployment,
  type DeploymentState,
  deriveStatus,
  initialState,
  newId,
  type StatusChange,
  stagingReplacementEffects,
} from '@bosun/core';
import SQLite from 'better-sqlite3';
import { openStore } from '../../packages/server/src/db/database.ts';
import { DeploymentStore } from '../../packages/server/src/storage/deployments.ts';
import { seedDeploymentWorld } from '../../packages/server/test/support-deployments.ts';
import { createBody } from './workload.ts';

const SQL = {
  auth: 'select * from "api_keys" where "key_hash" = ? and "revoked_at" is null',
  validation: 'select "mode" from "release_validations" where "release_id" = ?',
  lock: 'select "id" from "devices" where "id" = ?',
  release:
    'select "r"."id", "rs"."config_schema_id" from "releases" as "r" left join "release_schemas" as "rs" on "rs"."release_id" = "r"."id" where "r"."id" = ? order by "rs"."position"',
  instances: 'select "id", "config_schema_id" from "config_instances" where "id" in (?, ?)',
  live: 'select "id", "release_id", "target_status", "activity_status", "error_status" from "deployments" where "device_id" = ? and "target_status" in (?, ?)',
  effect:
    'update "deployments" set "target_status" = ?, "activity_status" = ?, "error_status" = ?, "updated_at" = ? where "id" = ?',
  effectArchived:
    'update "deployments" set "target_status" = ?, "activity_status" = ?, "error_status" = ?, "updated_at" = ?, "archived_at" = ? where "id" = ?',
  insert:
    'insert into "deployments" ("id", "description", "device_id", "release_id", "parent_id", "target_status", "activity_status", "error_status", "error_message", "attempts", "staged_at", "current_at", "deployed_at", "archived_at", "created_at", "updated_at") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  instanceRows:
    'insert into "deployment_instances" ("deployment_id", "config_instance_id", "position") values (?, ?, ?), (?, ?, ?)',
  lastEvent:
    'select "occurred_at" from "deployment_events" where "device_id" = ? order by "occurred_at" desc limit ?',
  event:
    'insert into "deployment_events" ("id", "deployment_id", "device_id", "from_target_status", "from_activity_status", "from_error_status", "to_target_status", "to_activity_status", "to_error_status", "actor_type", "actor_id", "message", "attempt", "occurred_at", "observed_at") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  emitted: 'select * from "deployments" where "id" = ?',
  outbox: 'insert into "events" ("id", "type", "data", "created_at") values (?, ?, ?, ?)',
  endpoints: 'select "id", "event_types" from "webhook_endpoints" where "enabled" = ?',
};

export interface RawCeiling {
  creates: number;
  seconds: number;
  rps: number;
  statementsPerCreate: number;
  /** CPU (user + system) of this process per create. */
  cpuUsPerCreate: number;
}

export async function rawSqlCeiling(opts: {
  clients: number;
  devices: number;
  seconds: number;
  target: 'staged' | 'deployed';
}): Promise<RawCeiling> {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-raw-'));
  try {
    const store = await openStore({ dataDir: dir });
    const w = await seedDeploymentWorld(store.db, { devices: opts.devices, extraReleases: 4 });
    const setup = new DeploymentStore(store.db);
    for (const device of w.devices)
      await setup.create({ ...createBody(w, 1, 0, 0, 'deployed'), device_id: device }, { type: 'system' });
    await store.close();

    const db = new SQLite(join(dir, 'bosun.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    const s = Object.fromEntries(Object.entries(SQL).map(([k, q]) => [k, db.prepare(q)])) as Record<
      keyof typeof SQL,
      SQLite.Statement
    >;
    const keyHash = createHash('sha256').update('bsn_not_a_key').digest('hex');
    let statements = 0;
    const run = (st: SQLite.Statement, ...args: unknown[]) => {
      statements++;
      return st.reader ? st.all(...args) : st.run(...args);
    };
    const actorId = 'key_bench';

    const create = (body: ReturnType<typeof createBody>) => {
      run(s.auth, keyHash);
      run(s.validation, body.release_id);
      statements++;
      db.exec('begin immediate');
      try {
        if (!(run(s.lock, body.device_id) as unknown[]).length) throw new Error('no device');
        const releaseRows = run(s.release, body.release_id) as { id: string; config_schema_id: string }[];
        const found = run(s.instances, ...body.config_instance_ids) as {
          id: string;
          config_schema_id: string;
        }[];
        const schemaIds = releaseRows.map((r) => r.config_schema_id);
        checkInstanceSet(body.release_id, schemaIds, body.config_instance_ids, found);
        const live = (
          run(s.live, body.device_id, 'staged', 'deployed') as {
            id: string;
            release_id: string;
            target_status: DeploymentState['target'];
            activity_status: DeploymentState['activity'];
            error_status: DeploymentState['error'];
          }[]
        ).map((r) => ({
          id: r.id,
          release_id: r.release_id,
          state: { target: r.target_status, activity: r.activity_status, error: r.error_status },
        }));
        checkCreateTarget(body.target_status, body.release_id, currentDeployment(live)?.release_id ?? null);
        const id = newId('deployment');
        const state = initialState(body.target_status);
        const effects: StatusChange[] =
          body.target_status === 'staged'
            ? stagingReplacementEffects(id, body.release_id, live)
            : becomeCurrentEffects(id, live);
        const now = new Date().toISOString();
        for (const e of effects) {
          if (e.to.activity === 'archived' && e.from.activity !== 'archived')
            run(s.effectArchived, e.to.target, e.to.activity, e.to.error, now, now, e.id);
          else run(s.effect, e.to.target, e.to.activity, e.to.error, now, e.id);
        }
        run(
          s.insert,
          id,
          body.description,
          body.device_id,
          body.release_id,
          null,
          state.target,
          state.activity,
          state.error,
          null,
          0,
          state.target === 'staged' ? now : null,
          state.target === 'deployed' ? now : null,
          null,
          null,
          now,
          now,
        );
        run(s.instanceRows, id, body.config_instance_ids[0], 0, id, body.config_instance_ids[1], 1);
        run(s.lastEvent, body.device_id, 1);
        const changes = [{ id, from: null as DeploymentState | null, to: state }, ...effects];
        for (const c of changes) {
          // One multi-row insert in the server; one row per execution here (same work for SQLite).
          statements--;
          run(
            s.event,
            newId('event'),
            c.id,
            body.device_id,
            c.from?.target ?? null,
            c.from?.activity ?? null,
            c.from?.error ?? null,
            c.to.target,
            c.to.activity,
            c.to.error,
            c.from ? 'system' : 'api_key',
            c.from ? null : actorId,
            null,
            null,
            now,
            null,
          );
        }
        statements++;
        for (const c of changes) {
          statements--;
          const row = (run(s.emitted, c.id) as Record<string, string>[])[0]!;
          const data = JSON.stringify({
            deployment: {
              object: 'deployment',
              id: row.id,
              description: row.description,
              status: deriveStatus({
                activity: row.activity_status as DeploymentState['activity'],
                error: row.error_status as DeploymentState['error'],
              }),
              device_id: row.device_id,
              release_id: row.release_id,
              created_at: row.created_at,
              updated_at: row.updated_at,
            },
          });
          run(
            s.outbox,
            newId('event'),
            c.from ? 'deployment.status_changed' : 'deployment.created',
            data,
            now,
          );
          run(s.endpoints, 1);
        }
        statements++;
        statements++;
        db.exec('commit');
      } catch (err) {
        db.exec('rollback');
        throw err;
      }
    };

    // Same order as the HTTP run: client `conn`'s i-th request, clients interleaved.
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const deadline = started + opts.seconds * 1000;
    let creates = 0;
    for (let i = 0; performance.now() < deadline; i++)
      for (let conn = 0; conn < opts.clients; conn++) {
        create(createBody(w, opts.clients, conn, i, opts.target));
        creates++;
      }
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpuBefore);
    db.close();
    return {
      creates,
      seconds,
      rps: Math.round(creates / seconds),
      statementsPerCreate: Math.round((statements / creates) * 10) / 10,
      cpuUsPerCreate: Math.round((used.user + used.system) / creates),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
