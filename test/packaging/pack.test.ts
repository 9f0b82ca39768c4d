/**
 * The packages as a user gets them: `npm pack` of every workspace, the tarballs installed into an
 * empty directory (nothing of the repository on the module path), then the installed `bosun` binary
 * run for real — `--version`, and `bosun server` until /healthz answers.
 *
 * better-sqlite3 is compiled by its install script, which takes minutes on a small machine and is
 * already proven by the repository's own install, so by default the tarballs are installed with
 * `--ignore-scripts` (our packages have none) and the repository's compiled binding is copied in.
 * BOSUN_PACK_TEST_NATIVE_BUILD=1 runs the real install scripts instead.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import {
  cpSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const rootPkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
  version: string;
  workspaces: string[];
  overrides?: Record<string, string>;
};
const nativeBuild = process.env.BOSUN_PACK_TEST_NATIVE_BUILD === '1';

let dir: string;
let app: string;
let bosun: string;
let installLog: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bosun-pack-'));
  const tarballs = join(dir, 'tarballs');
  mkdirSync(tarballs);
  // dist/ is fresh: `npm test` builds first (pretest).
  const packed = await run('npm', ['pack', '--workspaces', '--json', '--pack-destination', tarballs], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  const manifests = JSON.parse(packed.stdout) as Array<{
    name: string;
    filename: string;
    files: { path: string }[];
  }>;
  expect(manifests.map((m) => m.name).sort()).toEqual(
    rootPkg.workspaces.map((w) => `@bosun/${w.split('/').pop()}`).sort(),
  );
  for (const m of manifests) {
    const paths = m.files.map((f) => f.path);
    const pkg = JSON.parse(
      readFileSync(join(repoRoot, 'packages', m.name.replace('@bosun/', ''), 'package.json'), 'utf8'),
    );
    // Every declared entry point ships compiled, with its types; sources, tests and build state do not.
    for (const target of Object.values(pkg.exports as Record<string, { types: string; default: string }>)) {
      expect(paths, m.name).toContain(target.default.replace(/^\.\//, ''));
      expect(paths, m.name).toContain(target.types.replace(/^\.\//, ''));
    }
    for (const bin of Object.values((pkg.bin ?? {}) as Record<string, string>)) expect(paths).toContain(bin);
    expect(paths.filter((p) => /^(src|test)\/|\.tsbuildinfo$/.test(p))).toEqual([]);
  }

  app = join(dir, 'app');
  mkdirSync(app);
  // The sibling tarballs satisfy each other's exact "0.1.0" ranges once all are direct dependencies.
  const dependencies = Object.fromEntries(
    manifests.map((m) => [m.name, `file:${join(tarballs, m.filename.replace(/^.*\//, ''))}`]),
  );
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({
      name: 'bosun-pack-test',
      private: true,
      dependencies,
      overrides: rootPkg.overrides ?? {},
    }),
  );
  const install = await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--no-audit',
      '--no-fund',
      '--no-package-lock',
      ...(nativeBuild ? [] : ['--ignore-scripts']),
    ],
    { cwd: app, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, npm_config_loglevel: 'warn' } },
  );
  installLog = install.stdout + install.stderr;
  if (!nativeBuild) {
    cpSync(
      join(repoRoot, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
      join(app, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'),
    );
  }
  bosun = join(app, 'node_modules', '.bin', 'bosun');
}, 600_000);

afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('npm pack → npm install in an empty directory', () => {
  it('installs without engine warnings on this Node and without tsx', () => {
    expect(installLog).not.toMatch(/EBADENGINE/);
    const installed = readdirSync(join(app, 'node_modules'));
    expect(installed).not.toContain('tsx');
    expect(installed).not.toContain('typescript');
    expect(installed).not.toContain('vitest');
    // Real copies from the tarballs, not links back into the repository.
    for (const name of ['cli', 'server', 'core', 'sdk', 'agent']) {
      expect(lstatSync(join(app, 'node_modules', '@bosun', name)).isSymbolicLink(), name).toBe(false);
    }
  });

  it('bosun --version prints the version', async () => {
    const { stdout } = await run(bosun, ['--version'], { cwd: app });
    expect(stdout.trim()).toBe(`v${rootPkg.version}`);
  });

  it('bosun server starts from the installed packages and answers /healthz', async () => {
    const data = join(dir, 'data');
    const child = spawn(bosun, ['server', '--port', '0', '--host', '127.0.0.1', '--data-dir', data], {
      cwd: app,
      // The embedded defaults (SQLite, built-in broker), whatever the surrounding test run configured.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('BOSUN_'))),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        out += chunk.toString();
        const m = /"msg":"bosun server listening"/.test(out) && /"url":"([^"]+)"/.exec(out);
        if (m) resolve(m[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`bosun server exited (${code}):\n${out}`)));
    });
    const res = await fetch(`${url}/healthz`);
    expect(res.status).toBe(200);
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  });
});
