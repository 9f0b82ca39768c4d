import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';

export interface GitState {
  root: string;
  sha: string;
  message: string;
  origin: string;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * The commit a release is made from. Every schema file must be tracked and unchanged in the working
 * tree, so the release is exactly what the commit holds: otherwise this throws and names the files.
 */
export function readGitState(files: string[], cwd = files[0] ? dirname(files[0]) : process.cwd()): GitState {
  let root: string;
  try {
    root = git(cwd, ['rev-parse', '--show-toplevel']).trim();
  } catch {
    throw new Error(
      `${cwd} is not inside a git working tree; schemas must be committed in a git repository.`,
    );
  }
  let origin: string;
  try {
    origin = git(root, ['remote', 'get-url', 'origin']).trim();
  } catch {
    throw new Error('the git repository has no remote named origin (GitHub, GitLab or Bitbucket).');
  }
  let sha: string;
  try {
    sha = git(root, ['rev-parse', '--verify', 'HEAD^{commit}']).trim();
  } catch {
    throw new Error('the git repository has no commit yet.');
  }
  const message = git(root, ['log', '-1', '--format=%B', sha]).trim();
  const paths = files.map((f) => repoPath(root, f));
  const outside = paths.filter((p) => p.startsWith('../'));
  if (outside.length)
    throw new Error(`schema files outside the git repository at ${root}: ${outside.join(', ')}.`);

  const untracked = paths.filter((p) => {
    try {
      git(root, ['ls-files', '--error-unmatch', '--', p]);
      return false;
    } catch {
      return true;
    }
  });
  if (untracked.length) {
    throw new Error(`schema files not committed (untracked): ${untracked.join(', ')}. Commit them first.`);
  }
  const dirty = git(root, ['status', '--porcelain', '--untracked-files=no', '--', ...paths])
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3));
  if (dirty.length) {
    throw new Error(
      `schema files have uncommitted changes: ${dirty.join(', ')}. Commit or discard them first.`,
    );
  }
  return { root, sha, message, origin };
}

/** A file's path relative to the repository root, with '/' separators (as the API stores it). */
export function repoPath(root: string, file: string): string {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  return relative(real(root), real(resolve(file)))
    .split(sep)
    .join('/');
}
