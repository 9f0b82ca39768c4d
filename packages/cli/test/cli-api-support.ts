import { execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
