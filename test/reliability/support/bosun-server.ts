import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createRepositories, generateApiKeySecret, openStore, type Store } from '@bosun/server';
import { sql } from 'kysely';
import { createTestDatabase, type TestDatabase, type TestEngine } from '../../support/store.ts';

/**
 * The real `bosun server` binary as a child process that can be SIGKILLed and started again on the
 * same port and database, plus a store of our own on that database (same schema) to create keys and
 * to count the rows of every table from outside the server.
 */
export const repoRoot = join(import.meta.dirname, '..', '..', '..');
const BIN = join(repoRoot, 'packages', 'cli', 'bin', 'bosun.mjs');
export const API_VERSION = '2026-03-09.tetons';

/** Engines of the reliability suite: SQLite always, PostgreSQL when BOSUN_TEST_DATABASE_URL is set. */
export function reliabilityEngines(): TestEngine[] {
  return process.env.BOSUN_TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];
}

export interface ServerProcessOptions {
  engine: TestEngine;
  port: number;
  /** A PostgreSQL URL other than BOSUN_TEST_DATABASE_URL (our own cluster in the fault tests). */
  databaseUrl?: string;
  env?: Record<string, string>;
}

/** Tables whose row count a refused request may not explain (see `rowCounts`). */
const BACKGROUND_OR_REPLAY_TABLES = new Set([
  'idempotency_keys',
  'rollout_events',
  'events',
  'webhook_deliveries',
  'webhook_attempts',
  'rollout_targets',
  // A driver-made deployment supersedes the device's previous one: `archived` events on deployments
  // the driver did not create.
  'deployment_events',
]);

/** Tables the rollout driver writes for its deployments: the column that names the deployment. */
const DRIVER_WRITTEN: Record<string, string | undefined> = {
  deployments: 'id',
  deployment_instances: 'deployment_id',
  deployment_settings: 'deployment_id',
};

export class ServerProcess {
  readonly adminKey = generateApiKeySecret();
  readonly database: TestDatabase;
  store: Store | undefined;
  child: ChildProcess | undefined;
  /** Everything the current and previous children wrote, for failure reports. */
  output = '';
  exits: Array<{ code: number | null; signal: NodeJS.Signals | null }> = [];

  constructor(readonly opts: ServerProcessOptions) {
    this.database = createTestDatabase(opts.engine);
    if (opts.databaseUrl) this.database.databaseUrl = opts.databaseUrl;
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  get alive(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Opens (and migrates) the database from this process, once. */
  async openStore(): Promise<Store> {
    this.store ??= await openStore({
      databaseUrl: this.database.databaseUrl,
      dataDir: this.database.dataDir,
      pgSchema: this.database.pgSchema,
      // The fault tests restart PostgreSQL under this pool too.
      onConnectionError: () => {},
    });
    return this.store;
  }

  /** An API key with exactly these scopes, written straight to the database. */
  async keyWith(...scopes: string[]): Promise<string> {
    const store = await this.openStore();
    const secret = generateApiKeySecret();
    await createRepositories(store.db).apiKeys.create({
      name: `reliability ${scopes.join(' ')}`,
      scopes,
      secret,
    });
    return secret;
  }

  private env(): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('BOSUN_')) env[k] = v;
    env.BOSUN_DATA_DIR = this.database.dataDir;
    env.BOSUN_BOOTSTRAP_API_KEY = this.adminKey;
    env.BOSUN_LOG_LEVEL = 'warn';
    const { databaseUrl, pgSchema } = this.database;
    if (this.opts.engine === 'postgres' && databaseUrl && pgSchema) {
      const url = new URL(databaseUrl);
      url.searchParams.set('options', `-c search_path=${pgSchema}`);
      env.BOSUN_DATABASE_URL = url.toString();
    }
    return { ...env, ...this.opts.env };
  }

  /** Starts the binary and waits until /healthz answers. */
  async start(): Promise<void> {
    await this.openStore();
    const child = spawn(
      process.execPath,
      [BIN, 'server', '--port', String(this.opts.port), '--host', '127.0.0.1'],
      { cwd: repoRoot, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    const keep = (d: Buffer) => {
      this.output = (this.output + d.toString()).slice(-200_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('exit', (code, signal) => this.exits.push({ code, signal }));
    for (let i = 0; ; i++) {
      if (!this.alive) throw new Error(`bosun server exited while starting:\n${this.output.slice(-4000)}`);
      if (await this.healthy()) return;
      if (i > 1200) throw new Error(`bosun server did not answer /healthz:\n${this.output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(5_000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    await exited;
  }

  /**
   * Row count of every table of the database (our migrations' tables only). `idempotency_keys` is
   * left out: a refused POST that carried an Idempotency-Key is recorded so its retry replays the same
   * refusal (Stripe's semantics, docs/decisions.md #44); that record is not a changed resource.
   * Also left out: tables that background jobs append to on their own schedule — the rollout driver's
   * history (`rollout_events`: a rollout the fuzzer created a moment earlier completes on the
   * driver's next tick, found at full size on PostgreSQL), the platform-event outbox (`events`, also
   * written by the presence sweep) and webhook deliveries and attempts (the delivery worker); and
   * the deployments the driver creates as waves advance are counted apart from the requests' own.
   */
  async rowCounts(): Promise<Record<string, number>> {
    const store = await this.openStore();
    const tables = (await store.db.introspection.getTables())
      .map((t) => t.name)
      .filter((n) => !n.startsWith('kysely_') && !BACKGROUND_OR_REPLAY_TABLES.has(n))
      .sort();
    const counts: Record<string, number> = {};
    // Deployments the rollout driver made on its own tick (and their rows) are not a request's doing.
    const byDriver = sql`(select deployment_id from rollout_targets where deployment_id is not null)`;
    for (const table of tables) {
      const column = DRIVER_WRITTEN[table];
      const { rows } = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}${
        column ? sql` where ${sql.ref(column)} not in ${byDriver}` : sql``
      }`.execute(store.db);
      counts[table] = Number(rows[0]?.n ?? 0);
    }
    return counts;
  }

  /** Platform API call as the admin; throws unless HTTP 200. */
  async api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.url}/beta/${path}`, {
      method,
      headers: {
        'miru-version': API_VERSION,
        'x-api-key': this.adminKey,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }

  async destroy(): Promise<void> {
    await this.kill('SIGTERM');
    await this.store?.close();
    this.store = undefined;
    await this.database.destroy();
  }
}
