import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BosunClient } from '@bosun/sdk';
import { EXAMPLES } from '../../../test/support/robot-configs.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';
import { BIN, type CliResult, repoRoot, runCli } from './cli-process.ts';

/** The example robot configs of the repository (examples/robot-configs). */
export { EXAMPLES as FIXTURES } from '../../../test/support/robot-configs.ts';

/** A real server plus the real `bosun` binary logged in to it through its own config directory. */
export interface CliWorld {
  t: TestServer;
  configHome: string;
  /** Runs `bosun args...` with this world's config directory (and any extra environment). */
  bosun(
    args: string[],
    opts?: { cwd?: string; env?: Record<string, string | undefined> },
  ): Promise<CliResult>;
  /** Like `bosun` with `--json` appended, parsing stdout; fails the test unless it exits 0. */
  json<T = any>(args: string[], opts?: { cwd?: string }): Promise<T>;
  close(): Promise<void>;
}

export async function startCliWorld(opts: { login?: boolean } = {}): Promise<CliWorld> {
  const t = await startTestServer();
  const configHome = mkdtempSync(join(tmpdir(), 'bosun-cli-config-'));
  const bosun: CliWorld['bosun'] = (args, o = {}) =>
    runCli(args, { cwd: o.cwd, env: { XDG_CONFIG_HOME: configHome, CI: '1', ...o.env } });
  const world: CliWorld = {
    t,
    configHome,
    bosun,
    async json(args, o = {}) {
      const res = await bosun([...args, '--json'], o);
      if (res.code !== 0) throw new Error(`bosun ${args.join(' ')} exited ${res.code}:\n${res.stderr}`);
      return JSON.parse(res.stdout);
    },
    close: () => t.close(),
  };
  if (opts.login !== false) {
    const res = await bosun(['login', '--server', t.url, '--api-key', t.adminKey]);
    if (res.code !== 0) throw new Error(`login failed: ${res.stderr}`);
  }
  return world;
}

/** Runs the binary with `input` on stdin. */
export function runCliWithStdin(
  args: string[],
  input: string,
  env: Record<string, string>,
): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += d;
  });
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=CI', ...args], {
    cwd,
    encoding: 'utf8',
  });
}

/** A temporary git repository holding the example schemas and instances, committed, with a GitHub origin. */
export function fixtureRepo(origin = 'git@github.com:acme/robot-configs.git'): string {
  const dir = mkdtempSync(join(tmpdir(), 'bosun-robot-configs-'));
  cpSync(join(EXAMPLES, 'schemas'), join(dir, 'schemas'), { recursive: true });
  cpSync(join(EXAMPLES, 'instances'), join(dir, 'instances'), { recursive: true });
  git(dir, 'init', '-q', '-b', 'main');
  git(dir, 'remote', 'add', 'origin', origin);
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'Robot configs: mobility, perception, safety');
  return dir;
}

/** A real agent (`bosun agent run`, polling only, fast retries) provisioned for one device of the world. */
export interface CliAgent {
  /** Where the agent writes the robot's files. */
  fsRoot: string;
  log(): string;
  stop(): Promise<void>;
}

export async function startCliAgent(w: CliWorld, deviceId: string): Promise<CliAgent> {
  const sdk = new BosunClient({ baseUrl: w.t.url, apiKey: w.t.adminKey });
  const { token } = await sdk.devices.createActivationToken(deviceId, { allow_reactivation: false });
  const stateDir = mkdtempSync(join(tmpdir(), 'bosun-cli-agent-state-'));
  const fsRoot = mkdtempSync(join(tmpdir(), 'bosun-cli-agent-root-'));
  const provision = await w.bosun([
    'agent',
    'provision',
    '--server',
    w.t.url,
    '--token',
    token,
    '--state-dir',
    stateDir,
  ]);
  if (provision.code !== 0) throw new Error(`agent provision failed: ${provision.stderr}`);
  // The real agent, as the real binary runs it on a robot (polling only, fast retries for the test).
  const agent: ChildProcess = spawn(
    process.execPath,
    [
      BIN,
      'agent',
      'run',
      '--state-dir',
      stateDir,
      '--fs-root',
      fsRoot,
      '--no-push',
      '--poll-interval',
      '1',
      '--retry-base',
      '100',
      '--retry-cap',
      '200',
      '--max-attempts',
      '2',
      '--log-level',
      'warn',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  agent.stdout!.on('data', (d) => {
    log += d;
  });
  agent.stderr!.on('data', (d) => {
    log += d;
  });
  return {
    fsRoot,
    log: () => log,
    async stop() {
      if (agent.exitCode !== null || agent.signalCode !== null) return;
      const exited = new Promise((resolve) => agent.once('close', resolve));
      agent.kill('SIGTERM');
      await exited;
    },
  };
}
