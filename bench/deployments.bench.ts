/**
 * Deployments: create-deployment throughput and latency over real HTTP, and list latency with
 * N deployments in the database. SQLite always; PostgreSQL too when BOSUN_BENCH_DATABASE_URL
 * (or BOSUN_TEST_DATABASE_URL) is set. Knobs: BENCH_HTTP_SECONDS (5 per measurement),
 * BENCH_DEPLOY_CONCURRENCY (16 clients, 10 devices each), BENCH_LIST_ROWS (100000; 1000000 for the
 * scale figures), BENCH_DEPLOY_PARTS (`http,lists`), BENCH_CPU_PROF=DIR (profile the server),
 * BENCH_BASELINE=DIR (measure another checkout's server alongside, for before/after),
 * BENCH_ENGINES (`sqlite,postgres`: a subset of those available).
 */
import { fork } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CompiledQuery, type Kysely, sql } from 'kysely';
import type { Database } from '../packages/server/src/db/schema.ts';
import { nowIso } from '../packages/server/src/db/time.ts';
import { whereFilters } from '../packages/server/src/storage/list.ts';
import { seedDeploymentWorld } from '../packages/server/test/support-deployments.ts';
import { API_VERSION, startTestServer, type TestServer } from '../test/support/server.ts';
import type { TestEngine } from '../test/support/store.ts';
import { type LoadRequest, type LoadResult, load } from './deployments/load.ts';
import { summarise } from './deployments/profile-summary.ts';
import { rawSqlCeiling } from './deployments/raw-sql.ts';
import { createBody, type World } from './deployments/workload.ts';
import type { Bench, BenchResult } from './run.ts';

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const CLIENTS = Number(process.env.BENCH_DEPLOY_CONCURRENCY ?? 16);
const DEVICES = CLIENTS * 10;
const LIST_ROWS = Number(process.env.BENCH_LIST_ROWS ?? 100_000);
const PARTS = (process.env.BENCH_DEPLOY_PARTS ?? 'http,lists').split(',');
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

interface Child {
  pid: number;
  url: string;
  adminKey: string;
  world: World;
  stop(): Promise<void>;
}

/**
 * Forks bench/deployments/server-child.ts (`bare` or `bosun`), optionally under `--cpu-prof`; from
 * `root`, another checkout of Bosun (BENCH_BASELINE), the file is copied there first.
 */
async function spawnServer(
  mode: 'bare' | 'bosun',
  engine: TestEngine,
  opts: { profDir?: string | undefined; root?: string } = {},
): Promise<Child> {
  const execArgv = ['--conditions=source', '--import', 'tsx'];
  if (opts.profDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${opts.profDir}`);
  let script = join(import.meta.dirname, 'deployments', 'server-child.ts');
  if (opts.root) {
    const copy = join(opts.root, 'bench', 'deployments', 'server-child.ts');
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(script, copy);
    script = copy;
  }
  const child = fork(script, [mode, engine, String(DEVICES)], {
    execArgv,
    ...(opts.root ? { cwd: opts.root } : {}),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const info = await new Promise<Omit<Child, 'stop'>>((resolve, reject) => {
    child.once('message', (m) => resolve(m as Omit<Child, 'stop'>));
    child.once('exit', (code) => reject(new Error(`server child (${mode}) exited with ${code}`)));
  });
  return {
    ...info,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.send('stop');
      await exited;
    },
  };
}

/**
 * Request rates over real HTTP against servers in their own processes, each next to the ceiling
 * measured in the same run: a bare Fastify for the GETs (measured before and after them, the mean
 * is the ceiling), and the same statements through better-sqlite3 directly
 * (bench/deployments/raw-sql.ts) for the creates. BENCH_BASELINE=DIR (another checkout, e.g. the
 * commit before a change, with node_modules) runs its server too, each measurement alternating
 * between the two, so before/after come from the same run. BENCH_CPU_PROF=DIR runs this checkout's
 * server under `--cpu-prof` and prints its profile per module.
 */
async function httpThroughput(engine: TestEngine): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  /** Server CPU µs per request of each metric: the load-independent measure on a shared machine. */
  const cpu: Record<string, number> = {};
  const rate = (metric: string, r: LoadResult, note = '') => {
    if (r.errors) throw new Error(`${metric}: ${r.errors} errors, first: ${r.firstError}`);
    const perRequest =
      r.serverCpuMs === undefined ? undefined : Math.round((r.serverCpuMs * 1000) / r.requests);
    if (perRequest !== undefined) cpu[metric] = perRequest;
    results.push({
      metric: `${engine}: ${metric}`,
      value: r.rps,
      unit: 'req/s',
      note: `p50 ${r.p50} ms, p99 ${r.p99} ms${perRequest === undefined ? '' : `, server CPU ${perRequest} µs/req`}${note}`,
    });
    return r.rps;
  };
  const run = (
    child: { url: string; pid: number },
    make: (conn: number, i: number) => LoadRequest,
    seconds = SECONDS,
  ) => load({ url: child.url, pid: child.pid, connections: CLIENTS, seconds, make });
  const profDir = process.env.BENCH_CPU_PROF;
  const baseline = process.env.BENCH_BASELINE;

  const bare = await spawnServer('bare', engine);
  const servers: { label: string; child: Child }[] = [];
  try {
    servers.push({ label: '', child: await spawnServer('bosun', engine, { profDir }) });
    if (baseline)
      servers.push({ label: ' [baseline]', child: await spawnServer('bosun', engine, { root: baseline }) });
    const bareGet = () => ({ method: 'GET', path: '/ok' });
    await run(bare, bareGet, 1);
    const before = rate('bare Fastify GET (ceiling, before)', await run(bare, bareGet));
    const gets: Record<string, { principal: number; devices: number }> = {};
    for (const { child } of servers) {
      const headers = { 'miru-version': API_VERSION, 'x-api-key': child.adminKey };
      await run(child, () => ({ method: 'GET', path: '/beta/principal', headers }), 1);
    }
    const paths = { healthz: '/healthz', principal: '/beta/principal', devices: '/beta/devices?limit=10' };
    for (const [name, path] of Object.entries(paths)) {
      const measured = await abba(servers, async ({ child }) => {
        const headers = { 'miru-version': API_VERSION, 'x-api-key': child.adminKey };
        return run(child, () => ({ method: 'GET', path, headers }), SECONDS / 2);
      });
      for (const { label } of servers) {
        const rps = rate(`GET ${path}${label}`, measured.get(label)!);
        gets[label] = { ...(gets[label] ?? { principal: 0, devices: 0 }), [name]: rps };
      }
    }
    const after = rate('bare Fastify GET (ceiling, after)', await run(bare, bareGet));
    const ceiling = (before + after) / 2;
    const bareCpu =
      ((cpu['bare Fastify GET (ceiling, before)'] ?? 0) + (cpu['bare Fastify GET (ceiling, after)'] ?? 0)) /
      2;
    for (const { label } of servers)
      results.push(
        {
          metric: `${engine}: GET /principal ÷ bare, CPU basis${label}`,
          value: ratio(bareCpu, cpu[`GET /beta/principal${label}`]!),
          unit: '×',
          note: 'bare server CPU per request ÷ this one',
        },
        {
          metric: `${engine}: GET /devices ÷ bare, CPU basis${label}`,
          value: ratio(bareCpu, cpu[`GET /beta/devices?limit=10${label}`]!),
          unit: '×',
        },
        {
          metric: `${engine}: GET /principal ÷ bare ceiling${label}`,
          value: ratio(gets[label]!.principal, ceiling),
          unit: '×',
        },
        {
          metric: `${engine}: GET /devices ÷ bare ceiling${label}`,
          value: ratio(gets[label]!.devices, ceiling),
          unit: '×',
        },
      );

    const creates: Record<string, number> = {};
    for (const target of ['staged', 'deployed'] as const) {
      if (target === 'staged')
        for (const { child } of servers) {
          // Every device gets its current v1 deployment first (not timed), as the workload assumes.
          for (let i = 0; i < child.world.devices.length; i++) {
            const body = JSON.stringify(
              createBody(child.world, CLIENTS, i % CLIENTS, Math.floor(i / CLIENTS), 'deployed'),
            );
            const res = await fetch(`${child.url}/beta/deployments`, {
              method: 'POST',
              headers: {
                'miru-version': API_VERSION,
                'x-api-key': child.adminKey,
                'content-type': 'application/json',
              },
              body,
            });
            if (res.status !== 200) throw new Error(`setup create → ${res.status} ${await res.text()}`);
          }
        }
      // Each server's client `conn` continues its own sequence across the two halves.
      const sent = new Map<string, number[]>(servers.map(({ label }) => [label, Array(CLIENTS).fill(0)]));
      const measured = await abba(servers, ({ label, child }) => {
        const headers = { 'miru-version': API_VERSION, 'x-api-key': child.adminKey };
        const next = sent.get(label)!;
        return run(
          child,
          (conn) => ({
            method: 'POST',
            path: '/beta/deployments',
            headers,
            body: JSON.stringify(createBody(child.world, CLIENTS, conn, next[conn]!++, target)),
          }),
          SECONDS / 2,
        );
      });
      for (const { label } of servers)
        creates[`${target}${label}`] = rate(
          `POST /deployments ${target}${label}`,
          measured.get(label)!,
          `, ${CLIENTS} clients, ${DEVICES} devices`,
        );
      if (engine === 'sqlite') {
        const raw = await rawSqlCeiling({ clients: CLIENTS, devices: DEVICES, seconds: SECONDS, target });
        results.push({
          metric: `sqlite: raw-SQL ceiling, ${target} create`,
          value: raw.rps,
          unit: 'creates/s',
          note: `better-sqlite3, ${raw.statementsPerCreate} statements per create, ${raw.cpuUsPerCreate} µs CPU per create`,
        });
        for (const { label } of servers)
          results.push(
            {
              metric: `sqlite: POST ${target} ÷ raw-SQL ceiling${label}`,
              value: ratio(creates[`${target}${label}`]!, raw.rps),
              unit: '×',
            },
            {
              metric: `sqlite: POST ${target} ÷ raw-SQL, CPU basis${label}`,
              value: ratio(raw.cpuUsPerCreate, cpu[`POST /deployments ${target}${label}`]!),
              unit: '×',
              note: 'raw CPU per create ÷ server CPU per request',
            },
          );
      }
    }
  } finally {
    for (const { child } of servers) await child.stop();
    await bare.stop();
  }
  if (profDir) {
    const latest = readdirSync(profDir)
      .filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
      .map((f) => join(profDir, f))
      .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)[0];
    if (latest) console.log(`\nserver profile ${latest}\n${summarise(latest, 20)}`);
  }
  return results;
}

/**
 * Measures every server twice, in the order A B B A (halves of the time each), so a change of the
 * machine's load during the run weighs on both alike; returns the two halves merged per server.
 */
async function abba<S extends { label: string }>(
  servers: S[],
  measure: (server: S) => Promise<LoadResult>,
): Promise<Map<string, LoadResult>> {
  const halves = new Map<string, LoadResult[]>();
  for (const server of [...servers, ...[...servers].reverse()]) {
    const r = await measure(server);
    halves.set(server.label, [...(halves.get(server.label) ?? []), r]);
  }
  const merged = new Map<string, LoadResult>();
  for (const [label, rs] of halves) {
    const requests = rs.reduce((n, r) => n + r.requests, 0);
    const seconds = rs.reduce((n, r) => n + r.seconds, 0);
    const mean = (f: (r: LoadResult) => number) =>
      Math.round((rs.reduce((n, r) => n + f(r), 0) / rs.length) * 100) / 100;
    const firstError = rs.find((r) => r.firstError)?.firstError;
    const cpus = rs.map((r) => r.serverCpuMs).filter((c) => c !== undefined);
    merged.set(label, {
      requests,
      seconds,
      rps: Math.round(requests / seconds),
      p50: mean((r) => r.p50),
      p99: mean((r) => r.p99),
      errors: rs.reduce((n, r) => n + r.errors, 0),
      ...(firstError ? { firstError } : {}),
      ...(cpus.length ? { serverCpuMs: cpus.reduce((a, b) => a + b, 0) } : {}),
    });
  }
  return merged;
}

const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

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

/**
 * Prints the plan of each list query as DeploymentStore.list builds it (same filters, order and
 * page), EXPLAIN QUERY PLAN on SQLite and EXPLAIN ANALYZE on PostgreSQL, so a slow list can be
 * traced to a missing index.
 */
async function explainLists(
  db: Kysely<Database>,
  engine: TestEngine,
  ids: { device: string; release: string },
): Promise<void> {
  const filters: [string, Record<string, string[]>][] = [
    ['no filter', {}],
    ['device_id', { device_id: [ids.device] }],
    ['release_id + target_status', { release_id: [ids.release], target_status: ['staged'] }],
    ['error_status', { error_status: ['failed'] }],
    ['target_status', { target_status: ['staged'] }],
    ['activity_status', { activity_status: ['drifted'] }],
  ];
  const columns = {
    target_status: 'target_status',
    activity_status: 'activity_status',
    error_status: 'error_status',
    device_id: 'device_id',
    release_id: 'release_id',
  };
  for (const [label, filter] of filters) {
    const compiled = whereFilters(db.selectFrom('deployments').selectAll(), filter, columns)
      .orderBy(sql.ref('created_at'), 'desc')
      .orderBy(sql.ref('id'), 'asc')
      .limit(11)
      .offset(0)
      .compile();
    const prefix = engine === 'sqlite' ? 'explain query plan ' : 'explain (analyze, costs off) ';
    const plan = await db.executeQuery(CompiledQuery.raw(prefix + compiled.sql, [...compiled.parameters]));
    const lines = (plan.rows as Record<string, unknown>[]).map((r) =>
      String(r.detail ?? r['QUERY PLAN'] ?? JSON.stringify(r)),
    );
    console.log(`  plan (${engine}, ${label}): ${lines.join(' | ')}`);
  }
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
    ['filter target_status=staged', 'deployments?target_status=staged'],
    ['filter activity_status=drifted', 'deployments?activity_status=drifted'],
    ['expand=device,total_count', 'deployments?expand=device&expand=total_count'],
  ];
  if (process.env.BENCH_EXPLAIN !== '0') await explainLists(db, engine, { device, release });
  const results: BenchResult[] = [
    {
      metric: `${engine}: bulk insert of list rows`,
      value: fillSeconds,
      unit: 's',
      note: `${count} deployments, 10,000 devices`,
    },
  ];
  // The floor of any authenticated request at this moment: a list is compared with it.
  queries.unshift(['(floor) GET /principal', '/beta/principal']);
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
    const available: TestEngine[] = process.env.BOSUN_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
    const only = process.env.BENCH_ENGINES?.split(',');
    const engines = available.filter((e) => !only || only.includes(e));
    const results: BenchResult[] = [];
    for (const engine of engines) {
      if (PARTS.includes('http')) results.push(...(await httpThroughput(engine)));
      if (PARTS.includes('lists')) {
        const t = await startTestServer({ engine });
        try {
          results.push(...(await listLatency(t, engine)));
        } finally {
          await t.close();
        }
      }
    }
    return results;
  },
};
export default bench;
