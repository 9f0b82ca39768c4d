import { describe, expect, it } from 'vitest';
import { checkCommitSha, commitUrl, parseGitHostMap, parseGitOrigin } from '../src/index.ts';

describe('parseGitOrigin', () => {
  it.each([
    [
      'https://github.com/robot1/robot1.git',
      'github',
      'robot1',
      'robot1',
      'https://github.com/robot1/robot1',
    ],
    [
      'https://github.com/acme/fleet-configs',
      'github',
      'acme',
      'fleet-configs',
      'https://github.com/acme/fleet-configs',
    ],
    ['git@github.com:acme/fleet.git', 'github', 'acme', 'fleet', 'https://github.com/acme/fleet'],
    ['ssh://git@github.com/acme/fleet.git', 'github', 'acme', 'fleet', 'https://github.com/acme/fleet'],
    [
      'https://user@gitlab.com/acme/robots/configs.git',
      'gitlab',
      'acme/robots',
      'configs',
      'https://gitlab.com/acme/robots/configs',
    ],
    ['git@gitlab.com:acme/configs.git', 'gitlab', 'acme', 'configs', 'https://gitlab.com/acme/configs'],
    [
      'https://bitbucket.org/acme/configs.git',
      'bitbucket',
      'acme',
      'configs',
      'https://bitbucket.org/acme/configs',
    ],
    [
      'git@bitbucket.org:acme/configs.git',
      'bitbucket',
      'acme',
      'configs',
      'https://bitbucket.org/acme/configs',
    ],
  ])('%s', (origin, type, owner, name, url) => {
    expect(parseGitOrigin(origin)).toMatchObject({
      repository_type: type,
      repository_owner: owner,
      repository_name: name,
      repository_url: url,
    });
  });

  it.each([
    'https://example.com/acme/configs.git',
    'git@example.org:acme/configs.git',
    'git@git.acme.internal:robots/configs.git',
    'git@acme.gitlab:robots/configs.git',
    'https://github.com/acme',
    'https://github.com/a/b/c',
    'not a url',
    'ftp://github.com/a/b',
  ])('rejects %s with 422', (origin) => {
    expect(() => parseGitOrigin(origin)).toThrow(
      expect.objectContaining({ status: 422, code: 'unsupported_origin' }),
    );
  });

  it('builds commit URLs in each host form', () => {
    const sha = 'a'.repeat(40);
    expect(commitUrl(parseGitOrigin('git@github.com:o/r.git'), sha)).toBe(
      `https://github.com/o/r/commit/${sha}`,
    );
    expect(commitUrl(parseGitOrigin('git@gitlab.com:o/r.git'), sha)).toBe(
      `https://gitlab.com/o/r/-/commit/${sha}`,
    );
    expect(commitUrl(parseGitOrigin('git@bitbucket.org:o/r.git'), sha)).toBe(
      `https://bitbucket.org/o/r/commits/${sha}`,
    );
  });

  it('accepts full hashes only', () => {
    expect(checkCommitSha('A'.repeat(40))).toBe('a'.repeat(40));
    expect(checkCommitSha('b'.repeat(64))).toBe('b'.repeat(64));
    expect(() => checkCommitSha('abc123')).toThrow(/40- or 64-character/);
    expect(() => checkCommitSha('g'.repeat(40))).toThrow();
  });
});

describe('self-hosted git servers', () => {
  const sha = 'c'.repeat(40);
  const hosts = parseGitHostMap(
    'git.acme.internal=gitlab, code.acme.io=github,scm.acme.io=bitbucket-dc,forge.acme.io=forgejo',
  );

  it.each([
    // Self-managed GitLab: nested groups, `/-/commit/`.
    [
      'git@git.acme.internal:robots/arm/configs.git',
      'gitlab',
      'robots/arm',
      'configs',
      'https://git.acme.internal/robots/arm/configs',
      `https://git.acme.internal/robots/arm/configs/-/commit/${sha}`,
    ],
    [
      'git@gitlab.acme.internal:group/sub/repo.git',
      'gitlab',
      'group/sub',
      'repo',
      'https://gitlab.acme.internal/group/sub/repo',
      `https://gitlab.acme.internal/group/sub/repo/-/commit/${sha}`,
    ],
    [
      'https://gitlab.acme.internal:8443/group/repo.git',
      'gitlab',
      'group',
      'repo',
      'https://gitlab.acme.internal:8443/group/repo',
      `https://gitlab.acme.internal:8443/group/repo/-/commit/${sha}`,
    ],
    // GitHub Enterprise: `/commit/`.
    [
      'git@code.acme.io:fleet/configs.git',
      'github',
      'fleet',
      'configs',
      'https://code.acme.io/fleet/configs',
      `https://code.acme.io/fleet/configs/commit/${sha}`,
    ],
    [
      'https://github.acme.io/fleet/configs',
      'github',
      'fleet',
      'configs',
      'https://github.acme.io/fleet/configs',
      `https://github.acme.io/fleet/configs/commit/${sha}`,
    ],
    // Bitbucket Data Center: ssh on 7999, https under /scm, web under /projects/<KEY>/repos/<repo>.
    [
      'ssh://git@scm.acme.io:7999/proj/repo.git',
      'bitbucket',
      'PROJ',
      'repo',
      'https://scm.acme.io/projects/PROJ/repos/repo',
      `https://scm.acme.io/projects/PROJ/repos/repo/commits/${sha}`,
    ],
    [
      'https://scm.acme.io/scm/proj/repo.git',
      'bitbucket',
      'PROJ',
      'repo',
      'https://scm.acme.io/projects/PROJ/repos/repo',
      `https://scm.acme.io/projects/PROJ/repos/repo/commits/${sha}`,
    ],
    [
      'ssh://git@bitbucket.acme.io:7999/~jane/tools.git',
      'bitbucket',
      '~jane',
      'tools',
      'https://bitbucket.acme.io/users/jane/repos/tools',
      `https://bitbucket.acme.io/users/jane/repos/tools/commits/${sha}`,
    ],
    // Gitea/Forgejo report `github` (the reference enum has no other value); `/commit/`.
    [
      'git@forge.acme.io:lab/configs.git',
      'github',
      'lab',
      'configs',
      'https://forge.acme.io/lab/configs',
      `https://forge.acme.io/lab/configs/commit/${sha}`,
    ],
    [
      'https://gitea.lab.example/lab/configs.git',
      'github',
      'lab',
      'configs',
      'https://gitea.lab.example/lab/configs',
      `https://gitea.lab.example/lab/configs/commit/${sha}`,
    ],
  ])('%s', (origin, type, owner, name, url, commit) => {
    const repo = parseGitOrigin(origin, hosts);
    expect(repo).toMatchObject({
      repository_type: type,
      repository_owner: owner,
      repository_name: name,
      repository_url: url,
    });
    expect(commitUrl(repo, sha)).toBe(commit);
  });

  it('ssh and https forms of one repository give the same repository URL', () => {
    const a = parseGitOrigin('ssh://git@scm.acme.io:7999/proj/repo.git', hosts);
    const b = parseGitOrigin('https://scm.acme.io/scm/PROJ/repo.git', hosts);
    expect(a.repository_url).toBe(b.repository_url);
  });

  it('the operator map wins over the host name', () => {
    const repo = parseGitOrigin('git@gitlab.acme.io:a/b.git', parseGitHostMap('gitlab.acme.io=github'));
    expect(repo.repository_type).toBe('github');
  });

  it('an unmapped host is a 422 that names BOSUN_GIT_HOSTS', () => {
    const err = (() => {
      try {
        parseGitOrigin('git@git.acme.internal:robots/configs.git');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({
      status: 422,
      code: 'unsupported_origin',
      params: { field: 'origin', host: 'git.acme.internal', setting: 'BOSUN_GIT_HOSTS' },
    });
    expect((err as Error).message).toContain('BOSUN_GIT_HOSTS=git.acme.internal=gitlab');
  });

  it('a malformed BOSUN_GIT_HOSTS is refused with the setting named', () => {
    expect(parseGitHostMap(undefined)).toEqual({});
    expect(parseGitHostMap('')).toEqual({});
    expect(() => parseGitHostMap('git.acme.internal')).toThrow(/BOSUN_GIT_HOSTS/);
    expect(() => parseGitHostMap('git.acme.internal=svn')).toThrow(/BOSUN_GIT_HOSTS: unknown forge/);
    expect(() => parseGitHostMap('=gitlab')).toThrow(/BOSUN_GIT_HOSTS/);
  });
});
