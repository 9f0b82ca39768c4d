/**
 * `npm run bench -- fleet`: the fleet simulator (bench/fleet/sim.ts). Knobs: FLEET_ROBOTS (1000),
 * FLEET_WORKERS (1 per 500 robots), FLEET_REPLICAS (1), FLEET_SCENARIOS (rollout,steady,restart),
 * FLEET_STORM_SECONDS (10), FLEET_STEADY_SECONDS (30), FLEET_CREATE_CONCURRENCY (16). PostgreSQL and
 * an external broker when BOSUN_BENCH_DATABASE_URL / BOSUN_BENCH_MQTT_URL are set; several replicas
 * need both.
 */
import { type FleetFigures, runFleet, type Scenario } from './fleet/sim.ts';
import type { Bench, BenchResult } from './run.ts';

const env = process.env;
const num = (name: string, fallback?: number) => (env[name] ? Number(env[name]) : fallback);

async function run(): Promise<BenchResult[]> {
  const robots = num('FLEET_ROBOTS', 1000)!;
  const figures: FleetFigures = await runFleet({
    robots,
    workers: num('FLEET_WORKERS'),
    replicas: num('FLEET_REPLICAS', 1),
    databaseUrl: env.BOSUN_BENCH_DATABASE_URL || undefined,
    mqttUrl: env.BOSUN_BENCH_MQTT_URL || undefined,
    scenarios: (env.FLEET_SCENARIOS ?? 'rollout,steady,restart').split(',') as Scenario[],
    stormSeconds: num('FLEET_STORM_SECONDS', 10),
    steadySeconds: num('FLEET_STEADY_SECONDS', 30),
    createConcurrency: num('FLEET_CREATE_CONCURRENCY', 16),
    timeoutMs: num('FLEET_TIMEOUT_MS', 300_000),
    log: (line) => console.log(line),
  });
  const note = `${robots} robots, ${figures.workers} workers, ${figures.replicas} replica(s), ${figures.engine} + ${figures.broker} broker`;
  const out: BenchResult[] = [];
  const add = (metric: string, value: number, unit: string) => out.push({ metric, value, unit, note });
  const { storm, rollout, steady, restart } = figures;
  if (storm) {
    add(`connect storm over ${storm.spreadMs / 1000} s: all connected`, storm.allConnectedMs, 'ms');
    add('connect storm: failed enrolments', storm.failedStarts, 'robots');
    add('connect storm: connection problems logged', storm.problems, 'lines');
  }
  if (rollout) {
    add('rollout: first create → all deployed', rollout.allDeployedMs, 'ms');
    add('rollout: create → deployed p50', rollout.p50Ms, 'ms');
    add('rollout: create → deployed p99', rollout.p99Ms, 'ms');
    add('rollout: create calls', rollout.createsPerSecond, 'req/s');
    add('rollout: server CPU', rollout.serverCpuSeconds, 's');
    add('rollout: simulator CPU', rollout.simulatorCpuSeconds, 's');
  }
  if (steady) {
    add(`steady state (${steady.seconds} s idle): server CPU`, steady.serverCpuPercent, '% of a core');
    add('steady state: server RSS', steady.serverRssMiB, 'MiB');
    add('steady state: simulator RSS (all workers)', steady.simulatorRssMiB, 'MiB');
  }
  if (restart) {
    add('server restart: all robots back', restart.allBackMs, 'ms');
    add('server restart: problems logged', restart.problems, 'lines');
  }
  return out;
}

export default { name: 'fleet', run } satisfies Bench;
