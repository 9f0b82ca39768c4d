/**
 * Deployments: create-deployment throughput and latency over real HTTP, and list latency with
 * 1,000,000 deployments in the database. SQLite always; PostgreSQL too when BOSUN_BENCH_DATABASE_URL
 * (or BOSUN_TEST_DATABASE_URL) is set. Knobs: BENCH_DEPLOY_REQUESTS (default 3000),
 * BENCH_DEPLOY_CONCURRENCY (16), BENCH_LIST_ROWS (1000000).
 */
import { type Kysely, sql } from 'kysely';
import type { Database } from '../packages/server/src/db/schema.ts';
import { nowIso } from '../packages/server/src/db/time.ts';
import { seedDeploymentWorld } from '../packages/server/test/support-deployments.ts';
import { startTestServer, type TestServer } from '../test/support/server.ts';
import type { TestEngine } from '../test/support/store.ts';
import type { Bench, BenchResult } from './run.ts';

const REQUESTS = Number(process.env.BENCH_DEPLOY_REQUESTS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_DEPLOY_CONCURRENCY ?? 16);
const LIST_ROWS = Number(process.env.BENCH_LIST_ROWS ?? 1_000_000);
const LIST_SAMPLES = 200;

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const ms = (n: number) => Math.round(n * 100) / 100;

async function timed(t: TestServer, method: string, path: string, body?: unknown): Promise<number> {
  const start = performance.now();
  const res = await t.api(method, path, body === undefined ? {} : { body });
  const elapsed = performance.now() - start;
  if (res.status !== 200) throw new Error(`${method} ${path} → ${res.status} ${res.text}`);
  return elapsed;
}

/**
 * CONCURRENCY clients create deployments across 100 devices: each device first gets a deployed
 * deployment of v1, then staged deployments of v2 and the extra releases, so every create runs the
 * full rule set (instance set, current release, staging replacement with its archive effect).
 */
async function createThroughput(t: TestServer, engine: TestEngine): Promise<BenchResult[]> {
  const w = await seedDeploymentWorld(t.server.app.store.db, { devices: 100, extraReleases: 4 });
  const staged = [w.v2, ...w.extraReleases];
  let next = 0;
  const latencies: number[] = [];
  const request = (i: number) => {
    const device = w.devices[i % w.devices.length]!;
    const first = i < w.devices.length;
    return {
      target_status: first ? 'deployed' : 'staged',
      description: `bench ${i}`,
      release_id: first ? w.v1 : staged[Math.floor(i / w.devices.length) % staged.length],
      device_id: device,
      config_instance_ids: first ? [w.I1, w.I2] : [w.I3, w.I2],
    };
  };
  // The first deployment of every device goes in before the clock starts (it sets the current release).
  for (let i = 0; i < w.devices.length; i++) await timed(t, 'POST', 'deployments', request(next++));
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < REQUESTS + w.devices.length)
        latencies.push(await timed(t, 'POST', 'deployments', request(next++)));
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const note = `${REQUESTS} requests, ${CONCURRENCY} concurrent clients, 100 devices`;
  return [
    {
      metric: `${engine}: create deployment throughput`,
      value: Math.round(REQUESTS / seconds),
      unit: 'req/s',
      note,
    },
    { metric: `${engine}: create deployment p50`, value: ms(quantile(latencies, 0.5)), unit: 'ms' },
    { metric: `${engine}: create deployment p99`, value: ms(quantile(latencies, 0.99)), unit: 'ms' },
  ];
}

/**
 * Generates `total` deployments over 10,000 devices inside the database (a recursive CTE on SQLite,
 * generate_series on PostgreSQL): generations of history per device where the newest is current,
 * the one before is drifted in v2's staging area and everything older is archived (some failed), so
 * the invariants and their partial unique indexes hold for the filler too.
 */
async function fillDeployments(
  db: Kysely<Database>,
  engine: TestEngine,
  total: number,
): Promise<{ device: string; release: string }> {
  const w = await seedDeploymentWorld(db, { devices: 1 });
  const devices = 10_000;
  const last = Math.ceil(total / devices) - 1;
  const now = nowIso();
  const seq = (count: number) =>
    engine === 'sqlite'
      ? sql`with recursive seq(n) as (select 0 union all select n + 1 from seq where n < ${sql.lit(count - 1)})`
      : sql`with seq(n) as (select generate_series(0, ${sql.lit(count - 1)}))`;
  const ts =
    engine === 'sqlite'
      ? sql`strftime('%Y-%m-%dT%H:%M:%fZ', 1735689600 + n, 'unixepoch')`
      : sql`to_timestamp(1735689600 + n)`;
  const stamp = engine === 'sqlite' ? sql`${now}` : sql`${now}::timestamptz`;
  await sql`${seq(devices)}
    insert into devices (id, name, status, agent_version, last_connected_at, last_disconnected_at, created_at, updated_at)
    select 'dvc_bench_' || n, 'bench-' || n, 'online', 'v0.1.0', ${stamp}, null, ${stamp}, ${stamp} from seq`.execute(
    db,
  );
  // Numbers are inlined: better-sqlite3 binds JS numbers as REAL, which would make n / devices fractional.
  const gen = sql`(n / ${sql.lit(devices)})`;
  const [cur, prev] = [sql.lit(last), sql.lit(last - 1)];
  await sql`${seq(total)}
    insert into deployments (id, description, device_id, release_id, parent_id, target_status, activity_status,
      error_status, error_message, attempts, staged_at, current_at, deployed_at, archived_at, created_at, updated_at)
    select 'dpl_bench_' || n, 'history ' || n, 'dvc_bench_' || (n % ${sql.lit(devices)}),
      case when ${gen} = ${prev} then ${w.v2} else ${w.v1} end, null,
      case when ${gen} = ${cur} then 'deployed' when ${gen} = ${prev} then 'staged' else 'archived' end,
      case when ${gen} = ${cur} then 'deployed' when ${gen} = ${prev} then 'drifted' else 'archived' end,
      case when ${gen} < ${prev} and n % 997 = 0 then 'failed' else 'none' end, null, 0,
      ts, case when ${gen} = ${cur} then ts end, null, null, ts, ts
    from (select n, ${ts} as ts from seq) s`.execute(db);
  await sql`analyze`.execute(db);
  return { device: 'dvc_bench_42', release: w.v2 };
}

async function listLatency(t: TestServer, engine: TestEngine): Promise<BenchResult[]> {
  const db = t.server.app.store.db;
  const fillStart = performance.now();
  const { device, release } = await fillDeployments(db, engine, LIST_ROWS);
  const fillSeconds = Math.round((performance.now() - fillStart) / 100) / 10;
  const count = Number(
    (
      await db
        .selectFrom('deployments')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );
  const queries: [string, string][] = [
    ['first page (created_at desc)', 'deployments'],
    ['page at offset 10,000', 'deployments?offset=10000&limit=100'],
    ['filter device_id', `deployments?device_id=${device}`],
    ['filter release_id + target_status', `deployments?release_id=${release}&target_status=staged`],
    ['filter error_status=failed', 'deployments?error_status=failed'],
    ['expand=device,total_count', 'deployments?expand=device&expand=total_count'],
  ];
  const results: BenchResult[] = [
    {
      metric: `${engine}: bulk insert of list rows`,
      value: fillSeconds,
      unit: 's',
      note: `${count} deployments, 10,000 devices`,
    },
  ];
  for (const [label, path] of queries) {
    for (let i = 0; i < 5; i++) await timed(t, 'GET', path); // warm caches
    const samples: number[] = [];
    for (let i = 0; i < LIST_SAMPLES; i++) samples.push(await timed(t, 'GET', path));
    samples.sort((a, b) => a - b);
    results.push({
      metric: `${engine}: list ${label}`,
      value: ms(quantile(samples, 0.5)),
      unit: 'ms p50',
      note: `p99 ${ms(quantile(samples, 0.99))} ms`,
    });
  }
  return results;
}

const bench: Bench = {
  name: 'deployments',
  async run() {
    // The test harness reads BOSUN_TEST_DATABASE_URL (assigning undefined to process.env would store "undefined").
    if (process.env.BOSUN_BENCH_DATABASE_URL)
      process.env.BOSUN_TEST_DATABASE_URL = process.env.BOSUN_BENCH_DATABASE_URL;
    const engines: TestEngine[] = process.env.BOSUN_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
    const results: BenchResult[] = [];
    for (const engine of engines) {
      for (const part of [createThroughput, listLatency]) {
        const t = await startTestServer({ engine });
        try {
          results.push(...(await part(t, engine)));
        } finally {
          await t.close();
        }
      }
    }
    return results;
  },
};
export default bench;
