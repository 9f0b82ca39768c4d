import { conflict, newId } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { ConfigTypeTable, Database } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { fetchPage, type Page, type PageRequest, resolveRef, rowsById, whereFilters } from './list.ts';

export type ConfigTypeRow = ConfigTypeTable;

export interface ConfigTypeFilter {
  id?: string[] | undefined;
  name?: string[] | undefined;
  slug?: string[] | undefined;
}

export class ConfigTypeStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<ConfigTypeRow | undefined> {
    return this.db.selectFrom('config_types').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getBySlug(slug: string): Promise<ConfigTypeRow | undefined> {
    return this.db.selectFrom('config_types').selectAll().where('slug', '=', slug).executeTakeFirst();
  }

  /** `{id?, slug?}` of a request: the id wins when both are given; an unknown type is a 404. */
  async resolve(ref: { id?: string | undefined; slug?: string | undefined }): Promise<ConfigTypeRow> {
    return resolveRef(
      'config type',
      { id: ref.id, key: { name: 'slug', value: ref.slug } },
      { byId: (id) => this.get(id), byKey: (slug) => this.getBySlug(slug) },
      { message: 'config_type_ref needs an id or a slug.', field: 'config_type_ref' },
    );
  }

  async list(filter: ConfigTypeFilter, page: PageRequest): Promise<Page<ConfigTypeRow>> {
    const q = this.db.selectFrom('config_types').selectAll();
    return fetchPage(whereFilters(q, filter, { id: 'id', name: 'name', slug: 'slug' }), page);
  }

  /** Rows for many ids in one query (for expansions); missing ids are simply absent. */
  async getMany(ids: readonly string[]): Promise<Map<string, ConfigTypeRow>> {
    return rowsById(this.db.selectFrom('config_types').selectAll(), 'id', ids);
  }

  async create(input: { name: string; slug: string }): Promise<ConfigTypeRow> {
    return this.db.transaction().execute(async (tx) => {
      await assertUnique(tx, input, undefined);
      const now = nowIso();
      const row = {
        id: newId('configType'),
        name: input.name,
        slug: input.slug,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('config_types').values(row).execute();
      return row;
    });
  }

  /** Partial update; unchanged when the patch is empty or equal to the current values. */
  async update(id: string, patch: { name?: string; slug?: string }): Promise<ConfigTypeRow | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const current = await tx.selectFrom('config_types').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current) return undefined;
      const next = { name: patch.name ?? current.name, slug: patch.slug ?? current.slug };
      if (next.name === current.name && next.slug === current.slug) return current;
      await assertUnique(tx, next, id);
      if (next.slug !== current.slug) await assertSlugMutable(tx, id);
      const updated = { ...current, ...next, updated_at: nowIso() };
      await tx
        .updateTable('config_types')
        .set(next)
        .set({ updated_at: updated.updated_at })
        .where('id', '=', id)
        .execute();
      return updated;
    });
  }
}

async function assertUnique(
  db: Kysely<Database>,
  v: { name: string; slug: string },
  exceptId: string | undefined,
) {
  const clash = await db
    .selectFrom('config_types')
    .select(['id', 'name', 'slug'])
    .where((eb) => eb.or([eb('slug', '=', v.slug), eb('name', '=', v.name)]))
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (!clash) return;
  const field = clash.slug === v.slug ? 'slug' : 'name';
  throw conflict(
    'already_exists',
    `A config type with ${field} '${field === 'slug' ? v.slug : v.name}' already exists (${clash.id}).`,
    { field, existing_id: clash.id },
  );
}

/**
 * A slug is how schemas and the CLI name a type; once schemas hang off it, renaming it would
 * silently re-point annotations in every repository (docs/decisions.md #11).
 */
async function assertSlugMutable(db: Kysely<Database>, id: string) {
  const r = await db
    .selectFrom('config_schemas')
    .select((eb) => eb.fn.countAll<string | number>().as('n'))
    .where('config_type_id', '=', id)
    .executeTakeFirstOrThrow();
  const count = Number(r.n);
  if (count > 0) {
    throw conflict(
      'slug_immutable',
      `The slug of config type ${id} cannot change: it already has ${count} schema(s).`,
      {
        field: 'slug',
        schema_count: count,
      },
    );
  }
}
