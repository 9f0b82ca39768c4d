import { describe, expect, it } from 'vitest';
import { checkCommitSha, commitUrl, parseGitOrigin } from '../src/index.ts';

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
    expect(parseGitOrigin(origin)).toEqual({
      repository_type: type,
      repository_owner: owner,
      repository_name: name,
      repository_url: url,
    });
  });

  it.each([
    'https://example.com/acme/configs.git',
    'git@example.org:acme/configs.git',
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
