import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApiKeySecret, type RunningServer, startServer } from '@bosun/server';
import pino from 'pino';
import { API_VERSION } from '../../support/server.ts';
import { createTestDatabase, httpEngine, type TestDatabase } from '../../support/store.ts';

/**
 * A real server that can be stopped and started again on the same port over the same database (so an
 * agent can be shown to catch up), real `bosun agent` processes, and the platform API calls the
 * end-to-end tests need.
 */

export const repoRoot = join(import.meta.dirname, '..', '..', '..');
const bosun = join(repoRoot, 'packages', 'cli', 'bin', 'bosun.mjs');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export class RestartableServer {
  readonly adminKey: string;
  readonly database: TestDatabase;
  running: RunningServer | undefined;

  /** `shared`: another replica's database and admin key (a second server on the same database). */
  constructor(
    readonly port: number,
    readonly mqttUrl: string | undefined,
    shared?: { database: TestDatabase; adminKey: string },
  ) {
    this.database = shared?.database ?? createTestDatabase(httpEngine());
    this.adminKey = shared?.adminKey ?? generateApiKeySecret();
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.running = await startServer(
      {
        port: this.port,
        host: '127.0.0.1',
        dataDir: this.database.dataDir,
        databaseUrl: this.database.databaseUrl,
        logLevel: 'silent',
        bootstrapApiKey: this.adminKey,
        mqttUrl: this.mqttUrl,
      },
      {
        logger: pino({ level: process.env.BOSUN_TEST_LOG_LEVEL ?? 'silent' }),
        pgSchema: this.database.pgSchema,
      },
    );
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    await this.database.destroy();
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
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The agent under test: `bosun agent …` through the CLI by default, or the command in
 * BOSUN_E2E_AGENT_CMD (the built single executable, or `node …/bosun-agent.cjs`), which takes the same
 * subcommands without the `agent` prefix. .ci/run runs this suite once that way.
 */
export function agentCommand(args: string[]): [string, string[]] {
  const custom = process.env.BOSUN_E2E_AGENT_CMD;
  if (!custom) return [process.execPath, [bosun, 'agent', ...args]];
  const [cmd, ...pre] = custom.split(' ').filter(Boolean);
  return [cmd!, [...pre, ...args]];
}

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const [cmd, argv] =
      args[0] === 'agent' ? agentCommand(args.slice(1)) : [process.execPath, [bosun, ...args]];
    const proc = spawn(cmd, argv, { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => {
      stdout += d;
    });
    proc.stderr.on('data', (d) => {
      stderr += d;
    });
    proc.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A `bosun agent run` (or BOSUN_E2E_AGENT_CMD `run`) process with its own state dir and file-system root. */
export class AgentProcess {
  readonly stateDir = mkdtempSync(join(tmpdir(), 'bosun-e2e-state-'));
  readonly fsRoot = mkdtempSync(join(tmpdir(), 'bosun-e2e-root-'));
  /** The agent's Device API socket, inside its own state dir so agents never share one. */
  readonly socketPath = join(this.stateDir, 'bosun.sock');
  proc: ChildProcess | undefined;
  log = '';

  constructor(readonly extraArgs: string[] = []) {}

  start(): void {
    this.proc = spawn(
      ...agentCommand([
        'run',
        '--state-dir',
        this.stateDir,
        '--fs-root',
        this.fsRoot,
        '--poll-interval',
        '1',
        '--drift-interval',
        '1',
        '--socket',
        this.socketPath,
        ...this.extraArgs,
      ]),
      { env: { ...process.env, BOSUN_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.proc.stdout!.on('data', (d) => {
      this.log += d;
    });
    this.proc.stderr!.on('data', (d) => {
      this.log += d;
    });
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null) return proc?.exitCode ?? null;
    const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    const code = await exited;
    this.proc = undefined;
    return code;
  }

  path(devicePath: string): string {
    return join(this.fsRoot, devicePath);
  }
}

/** Polls until `check` returns a truthy value: effects of other processes arrive asynchronously. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | null | false>,
): Promise<T> {
  let last: unknown;
  for (let i = 0; i < 600; i++) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
}
