import { BosunError } from './errors.ts';

/** The reference's `GitRepositoryType` enum: what the API reports, whatever forge serves the repository. */
export type RepositoryType = 'github' | 'gitlab' | 'bitbucket';

/**
 * The software behind a git host, which decides the web URL layout. Self-managed forges report the
 * closest reference `repository_type` (docs/decisions.md): GitHub Enterprise → github, self-managed
 * GitLab → gitlab, Bitbucket Data Center/Server → bitbucket, Gitea/Forgejo → github (their web layout
 * and API follow GitHub's).
 */
export type GitForge = 'github' | 'gitlab' | 'bitbucket' | 'bitbucket-server' | 'gitea';

/** Operator's host → forge map (`BOSUN_GIT_HOSTS`); keys are lowercase host names without a port. */
export type GitHostMap = Readonly<Record<string, GitForge>>;

/** The setting that maps self-hosted git servers, named in every error about an unknown host. */
export const GIT_HOSTS_SETTING = 'BOSUN_GIT_HOSTS';

export interface GitRepository {
  repository_type: RepositoryType;
  repository_owner: string;
  repository_name: string;
  repository_url: string;
  forge: GitForge;
}

const FORGE_TYPE: Record<GitForge, RepositoryType> = {
  github: 'github',
  gitlab: 'gitlab',
  bitbucket: 'bitbucket',
  'bitbucket-server': 'bitbucket',
  gitea: 'github',
};

/** Names an operator may write in `BOSUN_GIT_HOSTS`, with the common aliases of each forge. */
const FORGE_NAMES: Record<string, GitForge> = {
  github: 'github',
  'github-enterprise': 'github',
  ghe: 'github',
  gitlab: 'gitlab',
  bitbucket: 'bitbucket',
  'bitbucket-cloud': 'bitbucket',
  'bitbucket-server': 'bitbucket-server',
  'bitbucket-datacenter': 'bitbucket-server',
  'bitbucket-dc': 'bitbucket-server',
  gitea: 'gitea',
  forgejo: 'gitea',
};

const PUBLIC_HOSTS: Record<string, GitForge> = {
  'github.com': 'github',
  'gitlab.com': 'gitlab',
  'bitbucket.org': 'bitbucket',
  'codeberg.org': 'gitea',
};

/**
 * Self-managed servers are usually named after their software (`gitlab.acme.internal`,
 * `github.corp.example`, `bitbucket.acme.io`, `gitea.lab`): a host label that is, or starts with, a
 * forge's name (`gitlab`, `gitlab2`, `gitlab-ce`) says which one. Self-hosted Bitbucket is Data Center.
 */
const LABEL_FORGES: [RegExp, GitForge][] = [
  [/^github(?:\d*|-.*)$/, 'github'],
  [/^gitlab(?:\d*|-.*)$/, 'gitlab'],
  [/^bitbucket(?:\d*|-.*)$/, 'bitbucket-server'],
  [/^(?:gitea|forgejo)(?:\d*|-.*)$/, 'gitea'],
];

function inferForge(host: string, hosts: GitHostMap): GitForge | undefined {
  const mapped = hosts[host] ?? PUBLIC_HOSTS[host];
  if (mapped) return mapped;
  const labels = host.split('.');
  // The last label is a top-level domain, never the forge's name (`acme.gitlab` is not GitLab's).
  for (const label of labels.slice(0, -1)) {
    for (const [pattern, forge] of LABEL_FORGES) if (pattern.test(label)) return forge;
  }
  return undefined;
}

/**
 * Parses `BOSUN_GIT_HOSTS` (`git.acme.internal=gitlab,code.acme.io=github`). Throws an Error naming
 * the setting on a malformed entry or an unknown forge, so a typo stops the server at start-up.
 */
export function parseGitHostMap(text: string | undefined): GitHostMap {
  const map: Record<string, GitForge> = {};
  for (const entry of (text ?? '').split(/[,\s]+/).filter(Boolean)) {
    const eq = entry.indexOf('=');
    const host = entry.slice(0, eq).trim().toLowerCase();
    const forge =
      FORGE_NAMES[
        entry
          .slice(eq + 1)
          .trim()
          .toLowerCase()
      ];
    if (eq <= 0 || !/^[a-z0-9.-]+$/.test(host)) {
      throw new Error(
        `${GIT_HOSTS_SETTING}: '${entry}' is not <host>=<forge> (e.g. git.acme.internal=gitlab)`,
      );
    }
    if (!forge) {
      throw new Error(
        `${GIT_HOSTS_SETTING}: unknown forge in '${entry}'; use one of ${Object.keys(FORGE_NAMES).join(', ')}`,
      );
    }
    map[host.replace(/^www\./, '')] = forge;
  }
  return map;
}

/**
 * Parses a git `origin` in its https, ssh (`ssh://git@host:7999/o/r.git`) or scp-like
 * (`git@host:o/r.git`) form. The forge comes from the operator's map, the public hosts, or the host's
 * name; an origin on a host none of these names is refused with an error naming `BOSUN_GIT_HOSTS`.
 * GitLab owners may be nested groups (`group/sub`); the others have exactly one owner.
 */
export function parseGitOrigin(origin: string, hosts: GitHostMap = {}): GitRepository {
  const invalid = (reason: string, params: Record<string, unknown> = {}) =>
    new BosunError(422, 'unsupported_origin', `origin '${origin}' ${reason}`, {
      field: 'origin',
      origin,
      ...params,
    });
  const text = origin.trim();
  let host: string;
  let path: string;
  /** `https://host:8443` when the origin is the web server itself; ssh ports are not web ports. */
  let webBase: string | undefined;
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
    if ((url.protocol === 'https:' || url.protocol === 'http:') && url.port) {
      webBase = `${url.protocol}//${host.replace(/^www\./, '')}:${url.port}`;
    }
  } else if (scp) {
    host = scp[1]!.toLowerCase();
    path = scp[2]!;
  } else {
    throw invalid('is not a git remote URL (https or ssh form expected).');
  }
  host = host.replace(/^www\./, '');
  const forge = inferForge(host, hosts);
  if (!forge) {
    throw invalid(
      `is on '${host}', which Bosun cannot tell the git server software of; map it with ${GIT_HOSTS_SETTING} (e.g. ${GIT_HOSTS_SETTING}=${host}=gitlab; forges: github, gitlab, bitbucket-server, gitea).`,
      { host, setting: GIT_HOSTS_SETTING },
    );
  }
  let segments = path
    .replace(/^\/+|\/+$/g, '')
    .replace(/\.git$/, '')
    .split('/')
    .filter(Boolean);
  // Bitbucket Data Center serves https clones under /scm/<project>/<repo>.
  if (forge === 'bitbucket-server' && segments[0] === 'scm' && segments.length === 3) {
    segments = segments.slice(1);
  }
  const shaped = forge === 'gitlab' ? segments.length >= 2 : segments.length === 2;
  if (!shaped || segments.some((s) => !/^~?[A-Za-z0-9._-]+$/.test(s) || s === '.' || s === '..')) {
    throw invalid('does not name a repository as <owner>/<name>.');
  }
  const name = segments[segments.length - 1]!;
  let owner = segments.slice(0, -1).join('/');
  // Project keys are upper case in Bitbucket; clone URLs often spell them in lower case.
  if (forge === 'bitbucket-server' && !owner.startsWith('~')) owner = owner.toUpperCase();
  const base = webBase ?? `https://${host}`;
  return {
    repository_type: FORGE_TYPE[forge],
    repository_owner: owner,
    repository_name: name,
    repository_url: `${base}/${repositoryPath(forge, owner, name)}`,
    forge,
  };
}

/** The repository's web path in its forge's layout. */
function repositoryPath(forge: GitForge, owner: string, name: string): string {
  if (forge !== 'bitbucket-server') return `${owner}/${name}`;
  // `~user` names a personal repository.
  return owner.startsWith('~') ? `users/${owner.slice(1)}/repos/${name}` : `projects/${owner}/repos/${name}`;
}

/** Web URL of one commit, in each forge's own form. */
export function commitUrl(repo: Pick<GitRepository, 'forge' | 'repository_url'>, sha: string): string {
  switch (repo.forge) {
    case 'github':
    case 'gitea':
      return `${repo.repository_url}/commit/${sha}`;
    case 'gitlab':
      return `${repo.repository_url}/-/commit/${sha}`;
    case 'bitbucket':
    case 'bitbucket-server':
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
