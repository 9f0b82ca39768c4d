import { execFileSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AGENT_VERSION } from './version.ts';

/** What `/v0.2/version` reports about this agent's own build. */
export interface BuildInfo {
  /** `v` + the agent package's version. */
  version: string;
  /** The commit the agent was built from, or `unknown`. */
  gitCommit: string;
  /** RFC 3339. */
  buildDate: string;
}

/** Inlined by the artifact build (esbuild `define`); absent when running from the package. */
declare const __BOSUN_AGENT_BUILD__: Omit<BuildInfo, 'version'> | undefined;

/**
 * The build this agent runs. A packaged agent carries `build-info.json` beside its package.json
 * (written by `npm run build-info -w @bosun/agent` when the artifact is built); a source checkout
 * answers from git (HEAD and its commit date); failing both, the commit is `unknown` and the date is
 * when the package was installed. Never the epoch: a client comparing build dates must get a real one.
 */
export function readBuildInfo(): BuildInfo {
  if (typeof __BOSUN_AGENT_BUILD__ !== 'undefined')
    return { version: AGENT_VERSION, ...__BOSUN_AGENT_BUILD__ };
  // Computed here, not at module load: in the bundle `import.meta.url` is empty.
  const packageDir = new URL('..', import.meta.url);
  const pkgPath = fileURLToPath(new URL('package.json', packageDir));
  const version = `v${(JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version}`;
  try {
    const stored = JSON.parse(readFileSync(new URL('build-info.json', packageDir), 'utf8')) as {
      git_commit?: unknown;
      build_date?: unknown;
    };
    if (typeof stored.git_commit === 'string' && typeof stored.build_date === 'string')
      return { version, gitCommit: stored.git_commit, buildDate: stored.build_date };
  } catch {}
  const fromGit = gitBuildInfo(fileURLToPath(packageDir));
  if (fromGit) return { version, ...fromGit };
  return { version, gitCommit: 'unknown', buildDate: statSync(pkgPath).mtime.toISOString() };
}

/** HEAD's sha and commit date in `dir`'s repository, or undefined outside one (or without git). */
export function gitBuildInfo(dir: string): Omit<BuildInfo, 'version'> | undefined {
  try {
    const [sha, date] = execFileSync('git', ['log', '-1', '--format=%H%n%cI'], {
      cwd: dir,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    })
      .trim()
      .split('\n');
    if (!sha || !/^[0-9a-f]{40}$/.test(sha) || !date) return undefined;
    return { gitCommit: sha, buildDate: new Date(date).toISOString() };
  } catch {
    return undefined;
  }
}

let cached: BuildInfo | undefined;
/** `readBuildInfo`, read once per process. */
export function buildInfo(): BuildInfo {
  cached ??= readBuildInfo();
  return cached;
}
