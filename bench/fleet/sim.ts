/**
 * The fleet simulator: N robots, each the real agent, spread over worker processes, against real
 * `bosun server` processes (one, or several replicas on PostgreSQL + an external broker).
 * Scenarios:
 * - connect storm: every robot enrols and connects within `stormSeconds`;
 * - rollout: a deployment for every robot (N creates), until every robot reports `deployed`;
 * - steady state: N idle connected robots, the server's CPU and RSS;
 * - restart: the server(s) stop and start again with N connected, until every robot is back.
 * Used by `npm run bench -- fleet` (figures) and by an end-to-end test at N = 200 (convergence).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Observation, RobotSpec, ToWorker } from './protocol.ts';
import { ServerProcess } from './server-process.ts';

export type Scenario = 'storm' | 'rollout' | 'steady' | 'restart';

export interface FleetOptions {
  robots: number;
  /** Worker processes running the robots (default: 1 per 500 robots, at least 1, at most 8). */
  workers?: number;
  /** Server replicas (> 1 needs `databaseUrl` and `mqttUrl`). */
  replicas?: number;
  /** PostgreSQL URL; a fresh schema is created in it and dropped afterwards. Default SQLite. */
  databaseUrl?: string | undefined;
  /** External MQTT broker URL; default the embedded broker. */
  mqttUrl?: string | undefined;
  scenarios: Scenario[];
  stormSeconds?: number;
  steadySeconds?: number;
  /** Concurrent create calls of the rollout. */
  createConcurrency?: number;
  /** Give up on a scenario after this long. */
  timeoutMs?: number;
  log?: (line: string) => void;
}

export interface FleetFigures {
  robots: number;
  workers: number;
  replicas: number;
  engine: string;
  broker: string;
  storm?: {
    spreadMs: number;
    allConnectedMs: number;
    failedStarts: number;
    problems: number;
    problemSamples: string[];
  };
  rollout?: {
    createsMs: number;
    createsPerSecond: number;
    allDeployedMs: number;
    p50Ms: number;
    p99Ms: number;
    deployed: number;
    simulatorCpuSeconds: number;
    serverCpuSeconds: number;
  };
  steady?: { seconds: number; serverCpuPercent: number; serverRssMiB: number; simulatorRssMiB: number };
  restart?: { allBackMs: number; lost: number; back: number; problems: number };
}

const API_VERSION = '2026-03-09.tetons';

/** Runs fn over items with at most `limit` in flight. */
async function mapLimit<T, R>(
  items: T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** Platform API calls as the admin; a POST is retried (same idempotency key) only if no answer came. */
class Api {
  constructor(
    readonly url: string,
    private readonly key: string,
  ) {}
  async call<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    // The server replays the first answer for the same key, so a retried create creates once.
    const idempotencyKey = randomUUID();
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${this.url}/beta/${path}`, {
          method,
          headers: {
            'miru-version': API_VERSION,
            'x-api-key': this.key,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(method === 'POST' ? { 'idempotency-key': idempotencyKey } : {}),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      } catch (err) {
        if (attempt >= 5) throw err;
        await new Promise((r) => setTimeout(r, 100 * attempt));
        continue;
      }
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
      return JSON.parse(text) as T;
    }
  }
}

export class Fleet {
  readonly adminKey = `bsn_${randomBytes(24).toString('base64url').replace(/[-_]/g, 'x').slice(0, 32)}`;
  readonly servers: ServerProcess[] = [];
  private readonly scratch = mkdtempSync(
    join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'bosun-fleet-'),
  );
  private workers: ChildProcess[] = [];
  private pgSchema: string | undefined;
  private readonly listeners = new Set<(o: Observation) => void>();
  readonly deviceIds: string[] = [];
  private release!: { id: string };
  private instance!: { id: string };
  private readonly log: (line: string) => void;

  constructor(readonly opts: FleetOptions) {
    this.log = opts.log ?? (() => {});
    const replicas = opts.replicas ?? 1;
    if (replicas > 1 && !(opts.databaseUrl && opts.mqttUrl))
      throw new Error('several replicas need PostgreSQL (databaseUrl) and an external broker (mqttUrl)');
  }

  private get workerCount(): number {
    return this.opts.workers ?? Math.min(8, Math.max(1, Math.ceil(this.opts.robots / 500)));
  }

  private api(i = 0) {
    const server = this.servers[i % this.servers.length]!;
    return new Api(server.url, this.adminKey);
  }

  async setUp(): Promise<void> {
    let databaseUrl = this.opts.databaseUrl;
    if (databaseUrl) {
      this.pgSchema = `bosun_fleet_${randomBytes(5).toString('hex')}`;
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`create schema ${this.pgSchema}`);
      await client.end();
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${this.pgSchema}`);
      databaseUrl = url.toString();
    }
    const replicas = this.opts.replicas ?? 1;
    for (let r = 0; r < replicas; r++) {
      const server = new ServerProcess({
        dataDir: join(this.scratch, `server-${r}`),
        adminKey: this.adminKey,
        databaseUrl,
        mqttUrl: this.opts.mqttUrl,
      });
      // One at a time: the first migrates an empty database.
      await server.start();
      this.servers.push(server);
    }
    const api = this.api();
    const type = await api.call('POST', 'config_types', { name: 'Mobility', slug: 'mobility' });
    const schema = await this.api().call('POST', 'config_schemas', {
      config_type_ref: { id: type.id },
      instance_filepath: '/srv/bosun/configs/mobility.json',
      language: 'jsonschema',
      format: 'json',
      documents: [{ name: 'schema.json', data: '{"type":"object","required":["max_speed"]}' }],
    });
    this.release = await this.api().call('POST', 'releases', {
      version: '1.0.0',
      config_schema_ids: [schema.id],
    });
    this.instance = await this.api().call('POST', 'config_instances', {
      config_schema_id: schema.id,
      content: { format: 'json', data: JSON.stringify({ max_speed: 1.2, zones: Array(50).fill('aisle') }) },
    });
  }

  private observe(fn: (o: Observation) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private waitFor<T>(
    what: string | (() => string),
    check: () => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    return new Promise((resolve, reject) => {
      const done = (value: T) => {
        clearTimeout(timer);
        stop();
        resolve(value);
      };
      const timer = setTimeout(() => {
        stop();
        // A function describes the progress at the moment of the timeout, not at the start.
        reject(new Error(`fleet: timed out waiting for ${typeof what === 'function' ? what() : what}`));
      }, timeoutMs);
      let settled = false;
      // Checked after every listener has seen the observation (listeners run in insertion order).
      const stop = this.observe(() =>
        queueMicrotask(() => {
          if (settled) return;
          const v = check();
          if (v !== undefined) {
            settled = true;
            done(v);
          }
        }),
      );
      const v = check();
      if (v !== undefined) done(v);
    });
  }

  /** Connect storm: devices and tokens are created first; then every robot enrols and connects. */
  async storm(): Promise<NonNullable<FleetFigures['storm']>> {
    const n = this.opts.robots;
    const specs = await mapLimit(
      Array.from({ length: n }, (_, i) => i),
      16,
      async (i) => {
        const api = this.api(i);
        const device = await api.call('POST', 'devices', { name: `sim-${String(i).padStart(5, '0')}` });
        const { token } = await this.api(i).call('POST', `devices/${device.id}/activation_token`, {});
        this.deviceIds[i] = device.id;
        return { index: i, server: api.url, token } satisfies RobotSpec;
      },
    );
    this.log(`  ${n} devices and activation tokens created`);
    const workers = this.workerCount;
    for (let w = 0; w < workers; w++) {
      const child = fork(join(import.meta.dirname, 'robot-worker.ts'), [], {
        // The agent runs compiled (`@bosun/agent` resolves to dist/); tsx only loads this worker file.
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: Observation | { type: 'batch'; messages: Observation[] }) => {
        for (const o of m.type === 'batch' ? m.messages : [m]) for (const l of this.listeners) l(o);
      });
      this.workers.push(child);
    }
    let ready = 0;
    // Counted before the wait below checks, since listeners run in the order they were added.
    const stopReady = this.observe((o) => {
      if (o.type === 'ready') ready++;
    });
    await this.waitFor('workers', () => (ready === workers ? true : undefined), 60_000);
    stopReady();

    const connected = new Set<number>();
    let failedStarts = 0;
    let problems = 0;
    const samples: string[] = [];
    const stop = this.observe((o) => {
      if (o.type === 'connected') connected.add(o.index);
      else if (o.type === 'failed') {
        failedStarts++;
        if (samples.length < 5) samples.push(o.message);
      } else if (o.type === 'problem' || o.type === 'lost') {
        problems++;
        if (samples.length < 5 && o.type === 'problem') samples.push(o.message);
      }
    });
    const spreadMs = (this.opts.stormSeconds ?? 10) * 1000;
    const scratch = join(this.scratch, 'robots');
    mkdirSync(scratch, { recursive: true });
    const began = Date.now();
    this.workers.forEach((child, w) => {
      const robots = specs.filter((_, i) => i % workers === w);
      child.send({ type: 'start', robots, scratch, spreadMs } satisfies ToWorker);
    });
    const last = await this.waitFor(
      () => `${n} robots connected (${connected.size} so far, ${failedStarts} failed)`,
      () => (connected.size + failedStarts >= n ? Date.now() : undefined),
      spreadMs + (this.opts.timeoutMs ?? 120_000),
    );
    stop();
    return {
      spreadMs,
      allConnectedMs: last - began,
      failedStarts,
      problems,
      problemSamples: samples,
    };
  }

  private async workerCpuSeconds(): Promise<{ cpu: number; rssMiB: number }> {
    const answers: Array<{ cpu: number; rss: number }> = [];
    const got = this.waitFor(
      'worker cpu',
      () => (answers.length === this.workers.length ? true : undefined),
      30_000,
    );
    const stop = this.observe((o) => {
      if (o.type === 'cpu') answers.push({ cpu: (o.cpu.user + o.cpu.system) / 1e6, rss: o.rss });
    });
    for (const w of this.workers) w.send({ type: 'cpu' } satisfies ToWorker);
    await got;
    stop();
    return {
      cpu: answers.reduce((s, a) => s + a.cpu, 0),
      rssMiB: answers.reduce((s, a) => s + a.rss, 0) / 2 ** 20,
    };
  }

  private serverCpuSeconds(): number {
    return this.servers.reduce((s, srv) => s + srv.cpuSeconds(), 0);
  }

  /** A deployment for every robot (N create calls), until every robot reported it `deployed`. */
  async rollout(): Promise<NonNullable<FleetFigures['rollout']>> {
    const n = this.deviceIds.length;
    const createdAt: number[] = [];
    const target: string[] = [];
    const deployedAt = new Map<number, number>();
    const early: Observation[] = [];
    const stop = this.observe((o) => {
      if (o.type !== 'reported' || o.status !== 'deployed') return;
      if (target[o.index] === undefined) early.push(o);
      else if (o.deploymentId === target[o.index] && !deployedAt.has(o.index)) deployedAt.set(o.index, o.at);
    });
    const simCpu0 = (await this.workerCpuSeconds()).cpu;
    const srvCpu0 = this.serverCpuSeconds();
    const began = Date.now();
    await mapLimit(this.deviceIds, this.opts.createConcurrency ?? 16, async (deviceId, i) => {
      createdAt[i] = Date.now();
      const deployment = await this.api(i).call('POST', 'deployments', {
        target_status: 'deployed',
        description: 'fleet rollout',
        release_id: this.release.id,
        device_id: deviceId,
        config_instance_ids: [this.instance.id],
      });
      target[i] = deployment.id;
      // The robot may have reported before this call returned.
      for (const o of early.splice(0)) {
        if (o.type === 'reported' && target[o.index] !== undefined && o.deploymentId === target[o.index])
          deployedAt.set(o.index, o.at);
        else early.push(o);
      }
    });
    const createsMs = Date.now() - began;
    const last = await this.waitFor(
      () => `every robot deployed (${deployedAt.size}/${n})`,
      () => (deployedAt.size === n ? Math.max(...deployedAt.values()) : undefined),
      this.opts.timeoutMs ?? 120_000,
    );
    stop();
    const simCpu = (await this.workerCpuSeconds()).cpu - simCpu0;
    const latencies = [...deployedAt.entries()].map(([i, at]) => at - createdAt[i]!).sort((a, b) => a - b);
    return {
      createsMs,
      createsPerSecond: Math.round((n / createsMs) * 1000),
      allDeployedMs: last - began,
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      deployed: deployedAt.size,
      simulatorCpuSeconds: Math.round(simCpu * 10) / 10,
      serverCpuSeconds: Math.round((this.serverCpuSeconds() - srvCpu0) * 10) / 10,
    };
  }

  /** N idle connected robots: the server's share of one core and its RSS. */
  async steady(): Promise<NonNullable<FleetFigures['steady']>> {
    const seconds = this.opts.steadySeconds ?? 30;
    await new Promise((r) => setTimeout(r, 3000));
    const cpu0 = this.serverCpuSeconds();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const cpu = this.serverCpuSeconds() - cpu0;
    const elapsed = (Date.now() - t0) / 1000;
    return {
      seconds,
      serverCpuPercent: Math.round((cpu / elapsed) * 1000) / 10,
      serverRssMiB: Math.round(this.servers.reduce((s, srv) => s + srv.rssMiB(), 0)),
      simulatorRssMiB: Math.round((await this.workerCpuSeconds()).rssMiB),
    };
  }

  /**
   * The server(s) stop and start again while N robots are connected, until every robot that lost its
   * push connection has it back. On the embedded broker that is every robot (the broker stops with
   * the server); on an external broker the robots keep their broker connections, so it is the time
   * until the server is back.
   */
  async restart(): Promise<NonNullable<FleetFigures['restart']>> {
    const lost = new Set<number>();
    const back = new Set<number>();
    let problems = 0;
    let serversUp = false;
    const stop = this.observe((o) => {
      if (o.type === 'lost') lost.add(o.index);
      else if (o.type === 'connected' && lost.has(o.index)) back.add(o.index);
      else if (o.type === 'problem') problems++;
    });
    const began = Date.now();
    for (const server of this.servers) await server.stop();
    for (const server of this.servers) await server.start();
    serversUp = true;
    const last = await this.waitFor(
      () => `every robot back (${back.size}/${lost.size})`,
      () => (serversUp && [...lost].every((i) => back.has(i)) ? Date.now() : undefined),
      this.opts.timeoutMs ?? 120_000,
    );
    stop();
    return { allBackMs: last - began, lost: lost.size, back: back.size, problems };
  }

  async run(): Promise<FleetFigures> {
    const figures: FleetFigures = {
      robots: this.opts.robots,
      workers: this.workerCount,
      replicas: this.opts.replicas ?? 1,
      engine: this.opts.databaseUrl ? 'postgres' : 'sqlite',
      broker: this.opts.mqttUrl ? 'external' : 'embedded',
    };
    await this.setUp();
    // Every other scenario needs the fleet enrolled and connected.
    figures.storm = await this.storm();
    this.log(`  storm: ${JSON.stringify(figures.storm)}`);
    for (const scenario of this.opts.scenarios) {
      if (scenario === 'rollout') figures.rollout = await this.rollout();
      else if (scenario === 'steady') figures.steady = await this.steady();
      else if (scenario === 'restart') figures.restart = await this.restart();
      else continue;
      this.log(`  ${scenario}: ${JSON.stringify(figures[scenario])}`);
    }
    return figures;
  }

  async close(): Promise<void> {
    await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.exitCode !== null) return resolve();
            const timer = setTimeout(() => w.kill('SIGKILL'), 15_000);
            w.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            w.send({ type: 'stop' } satisfies ToWorker);
          }),
      ),
    );
    for (const server of this.servers) await server.stop();
    if (this.pgSchema && this.opts.databaseUrl) {
      const client = new pg.Client({ connectionString: this.opts.databaseUrl });
      await client.connect();
      await client.query(`drop schema if exists ${this.pgSchema} cascade`);
      await client.end();
    }
    rmSync(this.scratch, { recursive: true, force: true });
  }
}

/** Runs the scenarios and always cleans up (processes, tmpfs, PostgreSQL schema). */
export async function runFleet(opts: FleetOptions): Promise<FleetFigures> {
  const fleet = new Fleet(opts);
  try {
    return await fleet.run();
  } finally {
    await fleet.close();
  }
}
