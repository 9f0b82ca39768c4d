import { BosunError } from './errors.ts';

export type RepositoryType = 'github' | 'gitlab' | 'bitbucket';

export interface GitRepository {
  repository_type: RepositoryType;
  repository_owner: string;
  repository_name: string;
  repository_url: string;
}

const HOSTS: Record<string, RepositoryType> = {
  'github.com': 'github',
  'gitlab.com': 'gitlab',
  'bitbucket.org': 'bitbucket',
};

/**
 * Parses a git `origin` in its https, ssh (`ssh://git@host/o/r.git`) or scp-like (`git@host:o/r.git`)
 * form. GitLab owners may be nested groups (`group/sub`); GitHub and Bitbucket have exactly one owner.
 */
export function parseGitOrigin(origin: string): GitRepository {
  const invalid = (reason: string) =>
    new BosunError(422, 'unsupported_origin', `origin '${origin}' ${reason}`, { field: 'origin', origin });
  const text = origin.trim();
  let host: string;
  let path: string;
  const scp = /^(?:[A-Za-z0-9._-]+@)?([A-Za-z0-9.-]+):(?!\/\/)(.+)$/.exec(text);
  if (/^[a-z+]+:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw invalid('is not a valid URL.');
    }
    if (!['https:', 'http:', 'ssh:', 'git+ssh:', 'ssh+git:', 'git:'].includes(url.protocol)) {
      throw invalid(`uses the unsupported scheme '${url.protocol}'.`);
    }
    host = url.hostname.toLowerCase();
    path = decodeURIComponent(url.pathname);
  } else if (scp) {
    host = scp[1]!.toLowerCase();
    path = scp[2]!;
  } else {
    throw invalid('is not a git remote URL (https or ssh form expected).');
  }
  host = host.replace(/^www\./, '');
  const type = HOSTS[host];
  if (!type) {
    throw invalid(`is on '${host}'; only GitHub, GitLab and Bitbucket remotes are supported.`);
  }
  const segments = path
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  const nested = type === 'gitlab' ? segments.length >= 2 : segments.length === 2;
  if (!nested || segments.some((s) => !/^[A-Za-z0-9._-]+$/.test(s) || s === '.' || s === '..')) {
    throw invalid('does not name a repository as <owner>/<name>.');
  }
  const name = segments[segments.length - 1]!;
  const owner = segments.slice(0, -1).join('/');
  return {
    repository_type: type,
    repository_owner: owner,
    repository_name: name,
    repository_url: `https://${host}/${owner}/${name}`,
  };
}

/** Web URL of one commit, in each host's own form. */
export function commitUrl(repo: GitRepository, sha: string): string {
  switch (repo.repository_type) {
    case 'github':
      return `${repo.repository_url}/commit/${sha}`;
    case 'gitlab':
      return `${repo.repository_url}/-/commit/${sha}`;
    case 'bitbucket':
      return `${repo.repository_url}/commits/${sha}`;
  }
}

/** A full SHA-1 (40) or SHA-256 (64) object name, normalised to lowercase. */
export function checkCommitSha(sha: string): string {
  const value = sha.trim().toLowerCase();
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(value)) {
    throw new BosunError(
      400,
      'invalid_sha',
      'sha must be a full 40- or 64-character hexadecimal commit hash.',
      {
        field: 'sha',
        value: sha,
      },
    );
  }
  return value;
}
