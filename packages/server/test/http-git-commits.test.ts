import { randomBytes } from 'node:crypto';
import { parseGitHostMap } from '@bosun/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectReferenceResponse } from '../../../test/support/reference-spec.ts';
import { startTestServer, type TestServer } from '../../../test/support/server.ts';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const newSha = () => randomBytes(20).toString('hex');

async function createCommit(origin: string, sha = newSha(), message = 'Tune PID gains') {
  const res = await t.api('POST', 'git_commits', { body: { sha, message, origin } });
  return res;
}

describe('POST /git_commits (createGitCommit): repository derived from origin', () => {
  const cases: Array<{
    origin: string;
    type: string;
    owner: string;
    name: string;
    repo: string;
    commit: (sha: string) => string;
  }> = [
    ...[
      'https://github.com/acme/robot-configs.git',
      'https://github.com/acme/robot-configs',
      'git@github.com:acme/robot-configs.git',
      'ssh://git@github.com/acme/robot-configs.git',
      'ssh://git@github.com:22/acme/robot-configs',
    ].map((origin) => ({
      origin,
      type: 'github',
      owner: 'acme',
      name: 'robot-configs',
      repo: 'https://github.com/acme/robot-configs',
      commit: (sha: string) => `https://github.com/acme/robot-configs/commit/${sha}`,
    })),
    ...[
      'https://gitlab.com/fleet/arms.git',
      'git@gitlab.com:fleet/arms.git',
      'ssh://git@gitlab.com/fleet/arms',
    ].map((origin) => ({
      origin,
      type: 'gitlab',
      owner: 'fleet',
      name: 'arms',
      repo: 'https://gitlab.com/fleet/arms',
      commit: (sha: string) => `https://gitlab.com/fleet/arms/-/commit/${sha}`,
    })),
    {
      origin: 'https://gitlab.com/fleet/sub-group/legs.git',
      type: 'gitlab',
      owner: 'fleet/sub-group',
      name: 'legs',
      repo: 'https://gitlab.com/fleet/sub-group/legs',
      commit: (sha: string) => `https://gitlab.com/fleet/sub-group/legs/-/commit/${sha}`,
    },
    ...[
      'https://bitbucket.org/team/nav.git',
      'https://someone@bitbucket.org/team/nav.git',
      'git@bitbucket.org:team/nav.git',
      'ssh://git@bitbucket.org/team/nav.git',
    ].map((origin) => ({
      origin,
      type: 'bitbucket',
      owner: 'team',
      name: 'nav',
      repo: 'https://bitbucket.org/team/nav',
      commit: (sha: string) => `https://bitbucket.org/team/nav/commits/${sha}`,
    })),
  ];

  for (const c of cases) {
    it(`${c.origin} → ${c.type} ${c.owner}/${c.name}`, async () => {
      const sha = newSha();
      const res = await createCommit(c.origin, sha, `commit for ${c.origin}`);
      expect(res.status, res.text).toBe(200);
      expectReferenceResponse('createGitCommit', res.body);
      expect(res.body).toMatchObject({
        object: 'git_commit',
        sha,
        message: `commit for ${c.origin}`,
        repository_type: c.type,
        repository_owner: c.owner,
        repository_name: c.name,
        repository_url: c.repo,
        commit_url: c.commit(sha),
      });
      expect(res.body.id).toMatch(/^git_cmt_[A-Za-z0-9]{8,}$/);
    });
  }

  for (const origin of [
    'https://example.com/acme/robot-configs.git',
    'git@git.acme.internal:acme/robot-configs.git',
    'https://github.com/acme',
    'https://github.com/acme/robot/extra',
    'ftp://github.com/acme/robot.git',
    'not a url',
    '',
  ]) {
    it(`${JSON.stringify(origin)} → 422 naming origin; nothing created`, async () => {
      const sha = newSha();
      const res = await createCommit(origin, sha);
      expect(res.status, res.text).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'unsupported_origin', params: { field: 'origin' } });
      const list = await t.api('GET', `git_commits?sha=${sha}`);
      expect(list.body.data).toEqual([]);
    });
  }
});

describe('git commit identity', () => {
  it('the same sha in the same repository returns the existing commit, whatever the origin form', async () => {
    const sha = newSha();
    const first = await createCommit('https://github.com/idem/repo.git', sha);
    const again = await createCommit('git@github.com:idem/repo.git', sha, 'a different message');
    expect(again.status).toBe(200);
    expectReferenceResponse('createGitCommit', again.body);
    expect(again.body).toEqual(first.body);
    const list = await t.api('GET', `git_commits?sha=${sha}&expand=total_count`);
    expect(list.body.total_count).toBe(1);
  });
  it('the same sha in another repository is another commit', async () => {
    const sha = newSha();
    const a = await createCommit('https://github.com/fork-a/repo.git', sha);
    const b = await createCommit('https://github.com/fork-b/repo.git', sha);
    expect(b.body.id).not.toBe(a.body.id);
    const list = await t.api('GET', `git_commits?sha=${sha}&order_by=created_at:asc`);
    expect(list.body.data.map((c: any) => c.id)).toEqual([a.body.id, b.body.id]);
  });
  it('an upper-case sha is stored and matched in lower case', async () => {
    const sha = newSha();
    const res = await createCommit('https://github.com/case/repo.git', sha.toUpperCase());
    expect(res.status).toBe(200);
    expect(res.body.sha).toBe(sha);
    const again = await createCommit('https://github.com/case/repo.git', sha);
    expect(again.body.id).toBe(res.body.id);
    const list = await t.api('GET', `git_commits?sha=${sha.toUpperCase()}`);
    expect(list.body.data.map((c: any) => c.id)).toEqual([res.body.id]);
  });
  it('accepts 64-character SHA-256 object names', async () => {
    const sha = randomBytes(32).toString('hex');
    const res = await createCommit('https://github.com/sha256/repo.git', sha);
    expect(res.status).toBe(200);
    expect(res.body.commit_url).toBe(`https://github.com/sha256/repo/commit/${sha}`);
  });
  it('an abbreviated or non-hex sha → 400 naming sha; nothing created', async () => {
    for (const sha of ['abc1234', 'z'.repeat(40), `${newSha()}0`, '']) {
      const res = await createCommit('https://github.com/badsha/repo.git', sha);
      expect(res.status, sha).toBe(400);
      expect(res.body.error.params.field).toBe('sha');
    }
    const list = await t.api('GET', 'git_commits?limit=100');
    expect(list.body.data.some((c: any) => c.repository_owner === 'badsha')).toBe(false);
  });
  it('keeps the first 16 KiB of a longer message, cut between characters', async () => {
    const message = `x${'é'.repeat(10_000)}`; // 20 001 bytes; byte 16 384 falls inside an 'é'
    const res = await createCommit('https://github.com/long/repo.git', newSha(), message);
    expect(res.status).toBe(200);
    expect(res.body.message).toBe(message.slice(0, 8192));
    expect(res.body.message).not.toContain('\uFFFD');
  });
  it('keeps multi-line messages verbatim', async () => {
    const message = 'feat: tune gains\n\nCo-Authored-By: Someone <s@example.com>\n';
    const res = await createCommit('https://github.com/msg/repo.git', newSha(), message);
    expect(res.body.message).toBe(message);
  });
});

describe('GET /git_commits/{id} (getGitCommit) and GET /git_commits (listGitCommits)', () => {
  it('get returns the commit in the reference shape; unknown id → 404', async () => {
    const created = await createCommit('https://gitlab.com/get/repo.git');
    const res = await t.api('GET', `git_commits/${created.body.id}`);
    expect(res.status).toBe(200);
    expectReferenceResponse('getGitCommit', res.body);
    expect(res.body).toEqual(created.body);
    const missing = await t.api('GET', 'git_commits/git_cmt_missing');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('resource_not_found');
  });
  it('list is in the reference shape and filters by id and sha', async () => {
    const a = await createCommit('https://github.com/listing/repo.git');
    const b = await createCommit('https://github.com/listing/repo.git');
    const res = await t.api('GET', `git_commits?id=${a.body.id},${b.body.id}`);
    expect(res.status).toBe(200);
    expectReferenceResponse('listGitCommits', res.body);
    expect(res.body.data.map((c: any) => c.id)).toEqual([b.body.id, a.body.id]);
    const bySha = await t.api('GET', `git_commits?sha=${a.body.sha}`);
    expectReferenceResponse('listGitCommits', bySha.body);
    expect(bySha.body.data.map((c: any) => c.id)).toEqual([a.body.id]);
  });
});

describe('git commit scopes', () => {
  it('write creates without reading; read reads without creating; manage does both', async () => {
    const write = await t.keyWith('git_commits:write');
    const created = await t.api('POST', 'git_commits', {
      key: write,
      body: { sha: newSha(), message: 'm', origin: 'https://github.com/scopes/repo.git' },
    });
    expect(created.status).toBe(200);
    expect((await t.api('GET', `git_commits/${created.body.id}`, { key: write })).status).toBe(403);
    expect((await t.api('GET', 'git_commits', { key: write })).status).toBe(403);

    const read = await t.keyWith('git_commits:read');
    expect((await t.api('GET', `git_commits/${created.body.id}`, { key: read })).status).toBe(200);
    expect((await t.api('GET', 'git_commits', { key: read })).status).toBe(200);
    const denied = await t.api('POST', 'git_commits', {
      key: read,
      body: { sha: newSha(), message: 'm', origin: 'https://github.com/scopes/repo.git' },
    });
    expect(denied.status).toBe(403);
    expect(denied.body.error.params.required).toEqual(['git_commits:write']);

    const manage = await t.keyWith('git_commits:manage');
    expect((await t.api('GET', 'git_commits', { key: manage })).status).toBe(200);
    expect(
      (
        await t.api('POST', 'git_commits', {
          key: manage,
          body: { sha: newSha(), message: 'm', origin: 'https://github.com/scopes/repo.git' },
        })
      ).status,
    ).toBe(200);
  });
});

describe('GET /principal (getSelf)', () => {
  it('answers any valid key, whatever its scopes, in the reference shape', async () => {
    for (const scopes of [[], ['devices:read'], ['git_commits:manage', 'releases:write']]) {
      const key = await t.keyWith(...scopes);
      const res = await t.api('GET', 'principal', { key });
      expect(res.status).toBe(200);
      expectReferenceResponse('getSelf', res.body);
      expect(res.body).toEqual({
        object: 'principal',
        id: expect.stringMatching(/^api_key_/),
        name: `test ${scopes.join(' ')}`,
      });
    }
  });
  it('still needs the version header and a valid key', async () => {
    expect((await t.api('GET', 'principal', { key: null })).status).toBe(401);
    expect((await t.api('GET', 'principal', { key: 'bsn_wrong_wrong_wrong_wrong_wrong' })).status).toBe(401);
    expect((await t.api('GET', 'principal', { version: null })).status).toBe(400);
  });
});

describe('self-hosted git servers (BOSUN_GIT_HOSTS)', () => {
  let mapped: TestServer;
  beforeAll(async () => {
    mapped = await startTestServer({
      config: {
        gitHosts: parseGitHostMap('git.acme.internal=gitlab,code.acme.io=github,scm.acme.io=bitbucket-dc'),
      },
    });
  });
  afterAll(async () => {
    await mapped?.close();
  });

  for (const c of [
    {
      origin: 'git@git.acme.internal:robots/arm/configs.git',
      type: 'gitlab',
      repo: 'https://git.acme.internal/robots/arm/configs',
      commit: (sha: string) => `https://git.acme.internal/robots/arm/configs/-/commit/${sha}`,
    },
    {
      origin: 'git@code.acme.io:fleet/configs.git',
      type: 'github',
      repo: 'https://code.acme.io/fleet/configs',
      commit: (sha: string) => `https://code.acme.io/fleet/configs/commit/${sha}`,
    },
    {
      origin: 'ssh://git@scm.acme.io:7999/proj/repo.git',
      type: 'bitbucket',
      repo: 'https://scm.acme.io/projects/PROJ/repos/repo',
      commit: (sha: string) => `https://scm.acme.io/projects/PROJ/repos/repo/commits/${sha}`,
    },
    {
      origin: 'https://gitea.lab.example/lab/configs.git',
      type: 'github',
      repo: 'https://gitea.lab.example/lab/configs',
      commit: (sha: string) => `https://gitea.lab.example/lab/configs/commit/${sha}`,
    },
  ]) {
    it(`${c.origin} → ${c.type}, URLs in that forge's layout`, async () => {
      const sha = newSha();
      const res = await mapped.api('POST', 'git_commits', { body: { sha, message: 'm', origin: c.origin } });
      expect(res.status, res.text).toBe(200);
      expectReferenceResponse('createGitCommit', res.body);
      expect(res.body).toMatchObject({
        repository_type: c.type,
        repository_url: c.repo,
        commit_url: c.commit(sha),
      });
    });
  }

  it('an unmapped host → 422 whose message names BOSUN_GIT_HOSTS; nothing created', async () => {
    const sha = newSha();
    const res = await mapped.api('POST', 'git_commits', {
      body: { sha, message: 'm', origin: 'git@git.other.internal:a/b.git' },
    });
    expect(res.status).toBe(422);
    expect(res.body.error).toMatchObject({
      code: 'unsupported_origin',
      params: { field: 'origin', setting: 'BOSUN_GIT_HOSTS', host: 'git.other.internal' },
    });
    expect(res.body.error.message).toContain('BOSUN_GIT_HOSTS');
    expect((await mapped.api('GET', `git_commits?sha=${sha}`)).body.data).toEqual([]);
  });
});

describe('server config: BOSUN_GIT_HOSTS', () => {
  it('is read from the environment, and a malformed value stops start-up naming the setting', async () => {
    const { resolveServerConfig } = await import('@bosun/server');
    expect(resolveServerConfig({}, { BOSUN_GIT_HOSTS: 'git.acme.internal=gitlab' }).gitHosts).toEqual({
      'git.acme.internal': 'gitlab',
    });
    expect(() => resolveServerConfig({}, { BOSUN_GIT_HOSTS: 'git.acme.internal=cvs' })).toThrow(
      /BOSUN_GIT_HOSTS/,
    );
  });
});
