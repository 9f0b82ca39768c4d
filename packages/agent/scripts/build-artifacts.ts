/**
 * Builds what a robot installs, into packages/agent/artifacts/ (the server's default downloads dir):
 *   bosun-agent.cjs                 one minified file (esbuild, node20): `node bosun-agent.cjs run`
 *   bosun-agent-linux-{x64,arm64}   single executables (Node SEA), no Node needed on the robot
 *   bosun-agent_{amd64,arm64}.deb   the executable, the systemd unit, the bosun user, /etc/bosun/agent.env
 *   bosun-agent.service             the unit, for installs without dpkg
 *   SHA256SUMS
 * The Node binaries come from the node-linux-* npm packages at NODE_VERSION, fetched with `npm pack`
 * into .cache/ at build time (not install-time dependencies: `npm install` stays light).
 *
 * Usage: npm run build:agent [-- --only bundle|x64|arm64] (default: everything)
 */

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
import { gitBuildInfo } from '../src/build-info.ts';

/** Current Node LTS embedded in the executables. Bump deliberately (and re-run the benchmarks). */
export const NODE_VERSION = '24.22.3';
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

const agentDir = join(import.meta.dirname, '..');
const repoRoot = join(agentDir, '..', '..');
export const artifactsDir = join(agentDir, 'artifacts');
const cacheDir = join(agentDir, '.cache');
const buildDir = join(cacheDir, 'build');
export const metafilePath = join(buildDir, 'bosun-agent.meta.json');
const version = (JSON.parse(readFileSync(join(agentDir, 'package.json'), 'utf8')) as { version: string })
  .version;

const ARCHES = {
  x64: { deb: 'amd64', strip: 'strip' },
  arm64: { deb: 'arm64', strip: 'aarch64-linux-gnu-strip' },
} as const;
type Arch = keyof typeof ARCHES;

const log = (msg: string) => process.stdout.write(`${msg}\n`);
const sh = (cmd: string, args: string[], cwd?: string) =>
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] }).toString();
const hasCommand = (cmd: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** The bundle and its esbuild metafile (what went in, checked by test/bundle.test.ts). */
export async function buildBundle(
  outDir = artifactsDir,
  metaPath = metafilePath,
): Promise<{ outfile: string; metafile: Metafile }> {
  mkdirSync(outDir, { recursive: true });
  mkdirSync(join(metaPath, '..'), { recursive: true });
  const outfile = join(outDir, 'bosun-agent.cjs');
  const result = await build({
    entryPoints: [join(agentDir, 'src', 'cli', 'entry.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    // CommonJS: a SEA's main script must be one (Node 20–24).
    format: 'cjs',
    minify: true,
    // Names kept: stack traces and pino's error serialisation stay readable in the journal.
    keepNames: true,
    legalComments: 'none',
    metafile: true,
    outfile,
    banner: { js: '#!/usr/bin/env node' },
    // The bundle has no package.json or git checkout beside it: its build data is inlined here.
    define: {
      __BOSUN_AGENT_BUILD__: JSON.stringify(
        gitBuildInfo(agentDir) ?? { gitCommit: 'unknown', buildDate: new Date().toISOString() },
      ),
    },
    // mqtt.js and its packet parser import `readable-stream`, a copy of Node's own streams kept for
    // browsers; on a robot Node's built-in module serves the same API and the copy's ≈ 360 KiB of
    // code and its heap stay out of the agent's RSS (docs/decisions.md #79).
    alias: { 'readable-stream': 'stream' },
    logLevel: 'warning',
    // build-info.ts reads import.meta.url only when no inlined build data exists, never in the bundle.
    logOverride: { 'empty-import-meta': 'silent' },
  });
  writeFileSync(metaPath, JSON.stringify(result.metafile));
  chmodSync(outfile, 0o755);
  log(`bundle     ${outfile} (${(readFileSync(outfile).length / 1024).toFixed(0)} KiB)`);
  return { outfile, metafile: result.metafile };
}

/** The pristine Node binary for `arch`, from the npm registry (cached). */
function nodeBinary(arch: Arch): string {
  const dir = join(cacheDir, `node-${NODE_VERSION}-linux-${arch}`);
  const bin = join(dir, 'node');
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  log(`fetching   node-linux-${arch}@${NODE_VERSION} (npm pack)`);
  const out = sh('npm', ['pack', `node-linux-${arch}@${NODE_VERSION}`, '--json', '--pack-destination', dir]);
  const [{ filename }] = JSON.parse(out) as [{ filename: string }];
  sh('tar', ['-xzf', join(dir, filename), '-C', dir, '--strip-components=2', 'package/bin/node']);
  rmSync(join(dir, filename));
  return bin;
}

async function buildExecutable(arch: Arch, bundle: string): Promise<string> {
  const out = join(artifactsDir, `bosun-agent-linux-${arch}`);
  // The blob is made by the very Node release it is injected into, run on this (x64) host; without
  // a code cache or snapshot it holds only the script, so the x64 run also serves arm64.
  const hostNode = nodeBinary('x64');
  const blob = join(buildDir, 'sea-prep.blob');
  const seaConfig = join(buildDir, 'sea-config.json');
  writeFileSync(
    seaConfig,
    JSON.stringify({
      main: bundle,
      output: blob,
      disableExperimentalSEAWarning: true,
      useSnapshot: false,
      useCodeCache: false,
      // A 1 MB young generation instead of up to 16 MB: the idle agent allocates little, and the
      // difference is resident memory on the robot (BENCHMARKS.md). NODE_OPTIONS may still add flags.
      execArgv: ['--max-semi-space-size=1'],
    }),
  );
  sh(hostNode, ['--experimental-sea-config', seaConfig], buildDir);
  rmSync(out, { force: true });
  copyFileSync(nodeBinary(arch), out);
  chmodSync(out, 0o755);
  // Debug symbols are ~18 MB of the binary; stripping before injection keeps the SEA note intact.
  const { strip } = ARCHES[arch];
  // Node's binary carries hundreds of notes strip warns about, harmlessly; keep the log readable.
  if (hasCommand(strip)) execFileSync(strip, ['--strip-all', out], { stdio: 'ignore' });
  else
    log(
      `warning    ${strip} not found: ${arch} executable left unstripped (apt-get install binutils-aarch64-linux-gnu)`,
    );
  const { inject } = createRequire(import.meta.url)('postject') as {
    inject(file: string, name: string, data: Buffer, opts: { sentinelFuse: string }): Promise<void>;
  };
  await inject(out, 'NODE_SEA_BLOB', readFileSync(blob), { sentinelFuse: SEA_FUSE });
  log(`executable ${out} (${(readFileSync(out).length / 1e6).toFixed(1)} MB)`);
  return out;
}

const DEB_SCRIPTS = join(agentDir, 'packaging', 'deb');
const UNIT = join(repoRoot, 'deploy', 'systemd', 'bosun-agent.service');

function buildDeb(arch: Arch, executable: string): string {
  const deb = ARCHES[arch].deb;
  const root = join(buildDir, `deb-${deb}`);
  rmSync(root, { recursive: true, force: true });
  const put = (path: string, from: string | Buffer, mode: number) => {
    const target = join(root, path);
    mkdirSync(join(target, '..'), { recursive: true });
    if (typeof from === 'string') copyFileSync(from, target);
    else writeFileSync(target, from);
    chmodSync(target, mode);
  };
  put('usr/bin/bosun-agent', executable, 0o755);
  put('lib/systemd/system/bosun-agent.service', UNIT, 0o644);
  put('etc/bosun/agent.env', join(DEB_SCRIPTS, 'agent.env'), 0o640);
  put('usr/share/doc/bosun-agent/copyright', join(DEB_SCRIPTS, 'copyright'), 0o644);
  for (const script of ['postinst', 'prerm', 'postrm'])
    put(`DEBIAN/${script}`, join(DEB_SCRIPTS, script), 0o755);
  put('DEBIAN/conffiles', Buffer.from('/etc/bosun/agent.env\n'), 0o644);
  const installedKb = Math.ceil(readFileSync(executable).length / 1024) + 8;
  put(
    'DEBIAN/control',
    Buffer.from(
      [
        'Package: bosun-agent',
        `Version: ${version}`,
        `Architecture: ${deb}`,
        'Maintainer: Bosun <bosun@localhost>',
        `Installed-Size: ${installedKb}`,
        'Depends: passwd',
        'Section: admin',
        'Priority: optional',
        'Homepage: https://github.com/bosun-dev/bosun',
        'Description: Bosun agent: configuration deployments for robots',
        ' Applies configuration deployments from a Bosun server to this device, all-or-nothing,',
        ' and serves the on-robot Device API on /run/bosun/bosun.sock. Self-contained: embeds',
        ` Node.js ${NODE_VERSION}.`,
        '',
      ].join('\n'),
    ),
    0o644,
  );
  const out = join(artifactsDir, `bosun-agent_${deb}.deb`);
  rmSync(out, { force: true });
  // gzip: xz saves a few MB but takes minutes on 100 MB; --root-owner-group: files owned by root.
  sh('dpkg-deb', ['--root-owner-group', '-Zgzip', '-z6', '--build', root, out]);
  log(`deb        ${out} (${(readFileSync(out).length / 1e6).toFixed(1)} MB)`);
  return out;
}

function writeChecksums(): void {
  const names = [
    'bosun-agent.cjs',
    'bosun-agent.service',
    ...Object.entries(ARCHES).flatMap(([a, { deb }]) => [`bosun-agent-linux-${a}`, `bosun-agent_${deb}.deb`]),
  ].filter((n) => existsSync(join(artifactsDir, n)));
  const lines = names.map(
    (n) =>
      `${createHash('sha256')
        .update(readFileSync(join(artifactsDir, n)))
        .digest('hex')}  ${n}\n`,
  );
  writeFileSync(join(artifactsDir, 'SHA256SUMS'), lines.join(''));
}

export async function buildArtifacts(only?: 'bundle' | Arch): Promise<void> {
  const { outfile: bundle } = await buildBundle();
  copyFileSync(UNIT, join(artifactsDir, 'bosun-agent.service'));
  const arches = only === 'bundle' ? [] : only ? [only] : (Object.keys(ARCHES) as Arch[]);
  for (const arch of arches) {
    const exe = await buildExecutable(arch, bundle);
    if (hasCommand('dpkg-deb')) buildDeb(arch, exe);
    else log('warning    dpkg-deb not found: no .deb built');
  }
  writeChecksums();
}

if (process.argv[1] === import.meta.filename) {
  const i = process.argv.indexOf('--only');
  const only = i > 0 ? process.argv[i + 1] : undefined;
  if (only !== undefined && only !== 'bundle' && !(only in ARCHES)) {
    process.stderr.write('usage: build-artifacts [--only bundle|x64|arm64]\n');
    process.exit(2);
  }
  await buildArtifacts(only as 'bundle' | Arch | undefined);
}
