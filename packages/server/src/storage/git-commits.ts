import { commitUrl, type GitHostMap, newId, parseGitOrigin } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database, GitCommitTable } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { fetchPage, type Page, type PageRequest, resolveRef, whereFilters } from './list.ts';

export type GitCommitRow = GitCommitTable;

export interface GitCommitFilter {
  id?: string[] | undefined;
  sha?: string[] | undefined;
}

export class GitCommitStore {
  constructor(
    private readonly db: Kysely<Database>,
    /** The operator's `BOSUN_GIT_HOSTS`: which forge serves each self-hosted git server. */
    private readonly gitHosts: GitHostMap = {},
  ) {}

  async get(id: string): Promise<GitCommitRow | undefined> {
    return this.db.selectFrom('git_commits').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /** Newest commit with this sha (a sha is unique per repository, not globally). */
  async getBySha(sha: string): Promise<GitCommitRow | undefined> {
    return this.db
      .selectFrom('git_commits')
      .selectAll()
      .where('sha', '=', sha.toLowerCase())
      .orderBy('created_at', 'desc')
      .orderBy('id')
      .executeTakeFirst();
  }

  /** `{id?, sha?}` of a request: the id wins when both are given; an unknown commit is a 404. */
  async resolve(ref: { id?: string | undefined; sha?: string | undefined }): Promise<GitCommitRow> {
    return resolveRef(
      'git commit',
      { id: ref.id, key: { name: 'sha', value: ref.sha } },
      { byId: (id) => this.get(id), byKey: (sha) => this.getBySha(sha) },
      { message: 'A git commit reference needs an id or a sha.', field: 'commit_ref' },
    );
  }

  async list(filter: GitCommitFilter, page: PageRequest): Promise<Page<GitCommitRow>> {
    const q = this.db.selectFrom('git_commits').selectAll();
    const sha = filter.sha?.map((s) => s.toLowerCase());
    return fetchPage(whereFilters(q, { id: filter.id, sha }, { id: 'id', sha: 'sha' }), page);
  }

  /**
   * Registers a commit; the same sha in the same repository returns the existing record
   * (docs/decisions.md #10), so CI can push the same commit on every run.
   */
  async create(input: {
    sha: string;
    message: string;
    origin: string;
  }): Promise<{ row: GitCommitRow; created: boolean }> {
    const { forge, ...repo } = parseGitOrigin(input.origin, this.gitHosts);
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx
        .selectFrom('git_commits')
        .selectAll()
        .where('sha', '=', input.sha)
        .where('repository_url', '=', repo.repository_url)
        .executeTakeFirst();
      if (existing) return { row: existing, created: false };
      const row: GitCommitRow = {
        id: newId('gitCommit'),
        sha: input.sha,
        message: input.message,
        ...repo,
        commit_url: commitUrl({ forge, repository_url: repo.repository_url }, input.sha),
        created_at: nowIso(),
      };
      await tx.insertInto('git_commits').values(row).execute();
      return { row, created: true };
    });
  }
}
