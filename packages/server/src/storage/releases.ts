import { conflict, newId, releaseVersionKey } from '@bosun/core';
import type { Kysely } from 'kysely';
import { uniqueViolation } from '../db/errors.ts';
import type { Database, ReleaseTable } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { emitEvent } from '../webhooks/events.ts';
import { toRelease } from '../wire/releases.ts';
import { fetchPage, type Page, type PageRequest, rowsById, whereFilters } from './list.ts';

export type ReleaseRow = ReleaseTable;

export interface ReleaseFilter {
  id?: string[] | undefined;
  /** Matched by version key, so `1.2.0` finds the release `v1.2.0`. */
  version?: string[] | undefined;
}

export interface NewRelease {
  version: string;
  git_commit_id: string | null;
  schemas: { id: string; config_type_id: string; instance_filepath: string }[];
}

export class ReleaseStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<ReleaseRow | undefined> {
    return this.db.selectFrom('releases').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getMany(ids: readonly string[]): Promise<Map<string, ReleaseRow>> {
    return rowsById(this.db.selectFrom('releases').selectAll(), 'id', ids);
  }

  async list(filter: ReleaseFilter, page: PageRequest): Promise<Page<ReleaseRow>> {
    const q = this.db.selectFrom('releases').selectAll();
    const version = filter.version?.map(releaseVersionKey);
    return fetchPage(whereFilters(q, { id: filter.id, version }, { id: 'id', version: 'version_key' }), page);
  }

  /** Schema ids of many releases in one query, each in the order the release was created with. */
  async schemaIds(releaseIds: readonly string[]): Promise<Map<string, string[]>> {
    const unique = [...new Set(releaseIds)];
    const out = new Map<string, string[]>(unique.map((id) => [id, []]));
    if (unique.length === 0) return out;
    const rows = await this.db
      .selectFrom('release_schemas')
      .select(['release_id', 'config_schema_id'])
      .where('release_id', 'in', unique)
      .orderBy('release_id')
      .orderBy('position')
      .execute();
    for (const r of rows) out.get(r.release_id)!.push(r.config_schema_id);
    return out;
  }

  /**
   * Creates a release with its fixed schema set. The version key is unique (`v1.2.0` = `1.2.0`); the
   * set rules are also held by unique indexes on release_schemas, so a bug above cannot break them.
   */
  async create(input: NewRelease): Promise<ReleaseRow> {
    const versionKey = releaseVersionKey(input.version);
    try {
      return await this.db.transaction().execute(async (tx) => {
        const clash = await tx
          .selectFrom('releases')
          .select(['id', 'version'])
          .where('version_key', '=', versionKey)
          .executeTakeFirst();
        if (clash) throw versionTaken(input.version, clash);
        const now = nowIso();
        const row: ReleaseRow = {
          id: newId('release'),
          version: input.version,
          version_key: versionKey,
          git_commit_id: input.git_commit_id,
          created_at: now,
          updated_at: now,
        };
        await tx.insertInto('releases').values(row).execute();
        await tx
          .insertInto('release_schemas')
          .values(
            input.schemas.map((s, position) => ({
              release_id: row.id,
              config_schema_id: s.id,
              config_type_id: s.config_type_id,
              instance_filepath: s.instance_filepath,
              position,
            })),
          )
          .execute();
        await emitEvent(tx, 'release.created', { release: toRelease(row) });
        return row;
      });
    } catch (err) {
      if (uniqueViolation(err)?.table === 'releases') {
        const clash = await this.db
          .selectFrom('releases')
          .select(['id', 'version'])
          .where('version_key', '=', versionKey)
          .executeTakeFirst();
        if (clash) throw versionTaken(input.version, clash);
      }
      throw err;
    }
  }
}

function versionTaken(version: string, clash: { id: string; version: string }) {
  return conflict(
    'already_exists',
    `A release with version '${clash.version}' already exists (${clash.id}); '${version}' is the same version.`,
    { field: 'version', value: version, existing_id: clash.id, existing_version: clash.version },
  );
}
