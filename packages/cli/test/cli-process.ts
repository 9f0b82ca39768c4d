import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTestDatabase, httpEngine, type TestDatabase } from '../../../test/support/store.ts';

/**
 * The real `bosun` binary as a child process: `node packages/cli/bin/bosun.mjs ...` over a fresh
 * database (a temp data dir for SQLite; a fresh schema, reached through `search_path` in
 * BOSUN_DATABASE_URL, when BOSUN_TEST_ENGINE=postgres).
 */
export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = join(repoRoot, 'packages', 'cli', 'bin', 'bosun.mjs');
export const API_VERSION = '2026-03-09.tetons';

export interface CliDatabase extends TestDatabase {
  /** Environment that points the binary at this database. */
  env: Record<string, string>;
}

export async function createCliDatabase(): Promise<CliDatabase> {
  const db = createTestDatabase(httpEngine());
  const env: Record<string, string> = { BOSUN_DATA_DIR: db.dataDir };
  if (db.engine === 'postgres' && db.databaseUrl && db.pgSchema) {
    const client = new pg.Client({ connectionString: db.databaseUrl });
    await client.connect();
    try {
      await client.query(`create schema if not exists ${db.pgSchema}`);
    } finally {
      await client.end();
    }
    const url = new URL(db.databaseUrl);
    url.searchParams.set('options', `-c search_path=${db.pgSchema}`);
    env.BOSUN_DATABASE_URL = url.toString();
  }
  return { ...db, env };
}

/** The parent's environment without anything that would point the child elsewhere. */
function baseEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('BOSUN_')) delete env[key];
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs one command to completion. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string | undefined>; cwd?: string; command?: string[] } = {},
): Promise<CliResult> {
  const [cmd, ...pre] = opts.command ?? [process.execPath, BIN];
  const child = spawn(cmd!, [...pre, ...args], {
    cwd: opts.cwd ?? repoRoot,
    env: baseEnv(opts.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return collect(child);
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => {
    stdout += d;
  });
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export interface CliServer {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Parsed JSON log lines of stdout so far (the banner and other text lines are skipped). */
  logs(): any[];
  /** Resolves once stdout or stderr matches. */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr'): Promise<void>;
  /** Resolves with the exit of the process. */
  exited: Promise<CliResult>;
  api(
    method: string,
    path: string,
    opts?: { key?: string; body?: unknown },
  ): Promise<{ status: number; body: any }>;
  /** SIGTERM, then the exit result. */
  stop(): Promise<CliResult>;
}

/** Starts `bosun server --port 0 --host 127.0.0.1` and waits for its "listening" log line. */
export async function startCliServer(
  opts: {
    env?: Record<string, string | undefined>;
    args?: string[];
    cwd?: string;
    /** Options for node itself, before the binary (e.g. `--import` a tracer). */
    nodeArgs?: string[];
  } = {},
): Promise<CliServer> {
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), BIN, 'server', '--port', '0', '--host', '127.0.0.1', ...(opts.args ?? [])],
    {
      cwd: opts.cwd ?? repoRoot,
      env: baseEnv({ BOSUN_LOG_LEVEL: 'info', ...opts.env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  const notify = () => {
    for (const w of waiters.splice(0)) w();
  };
  child.stdout!.on('data', (d) => {
    out += d;
    notify();
  });
  child.stderr!.on('data', (d) => {
    err += d;
    notify();
  });
  let done = false;
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      done = true;
      resolve({ code, signal, stdout: out, stderr: err });
      notify();
    });
  });
  const waitFor = (pattern: RegExp, stream: 'stdout' | 'stderr' = 'stdout') =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (pattern.test(stream === 'stdout' ? out : err)) return resolve();
        if (done) return reject(new Error(`process exited before ${pattern}:\n${out}\n${err}`));
        waiters.push(check);
      };
      check();
    });
  const logs = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
  await waitFor(/"msg":"bosun server listening"/);
  const url = logs().find((l) => l.msg === 'bosun server listening').url as string;
  return {
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    logs,
    waitFor,
    exited,
    async api(method, path, o = {}) {
      const headers: Record<string, string> = { 'miru-version': API_VERSION };
      if (o.key) headers['x-api-key'] = o.key;
      if (o.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${url}/beta/${path}`, {
        method,
        headers,
        body: o.body === undefined ? undefined : JSON.stringify(o.body),
      });
      const text = await res.text();
      let body: any = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body };
    },
    async stop() {
      if (!done) child.kill('SIGTERM');
      return exited;
    },
  };
}

/** The secret from the first-start banner. */
export function bannerKey(stdout: string): string | undefined {
  return /^\s+(bsn_[A-Za-z0-9]+)\s*$/m.exec(stdout)?.[1];
}
