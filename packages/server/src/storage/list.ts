import { BosunError, badRequest, notFound, type SortKey } from '@bosun/core';
import { type SelectQueryBuilder, type SqlBool, sql } from 'kysely';

export interface PageRequest {
  offset: number;
  limit: number;
  order: SortKey[];
  totalCount: boolean;
}

export interface Page<Row> {
  rows: Row[];
  hasMore: boolean;
  totalCount?: number;
}

/** A list filter: each key holds the accepted values, or nothing when the filter was not given. */
export type Filter = { readonly [key: string]: readonly unknown[] | undefined };

/**
 * The one way a repository narrows a query by its list filters: `column in (values)` for every
 * filter that was given (an absent or empty filter narrows nothing). `columns` maps each filter the
 * repository knows to its (qualified) column, so keys it does not know — a route may hand over its
 * whole query — are ignored.
 */
export function whereFilters<DB, TB extends keyof DB, O, F extends object>(
  query: SelectQueryBuilder<DB, TB, O>,
  filter: F,
  columns: { readonly [K in keyof F]?: string },
): SelectQueryBuilder<DB, TB, O> {
  let q = query;
  for (const key of Object.keys(columns) as (keyof F & string)[]) {
    const values = filter[key] as readonly unknown[] | undefined;
    const column = columns[key];
    if (column && values?.length) q = q.where(sql<SqlBool>`${sql.ref(column)} in (${sql.join(values)})`);
  }
  return q;
}

/** Rows for many ids in one query, by id; missing ids are simply absent (for expansions). */
export async function rowsById<DB, TB extends keyof DB, O extends { id: string }>(
  query: SelectQueryBuilder<DB, TB, O>,
  column: string,
  ids: readonly string[],
): Promise<Map<string, O>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const rows = await whereFilters(query, { id: unique }, { id: column }).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

/**
 * Runs a filtered query as one page: fetches `limit + 1` rows to learn `has_more` without a count,
 * and counts only when `total_count` was asked for (counting is the expensive part).
 */
export async function fetchPage<DB, TB extends keyof DB, Row>(
  query: SelectQueryBuilder<DB, TB, Row>,
  page: PageRequest,
  column: (field: SortKey['field']) => string = (f) => f,
): Promise<Page<Row>> {
  let ordered = query;
  for (const key of page.order) ordered = ordered.orderBy(sql.ref(column(key.field)), key.direction);
  const rows = await ordered
    .limit(page.limit + 1)
    .offset(page.offset)
    .execute();
  const result: Page<Row> = { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  if (page.totalCount) {
    const counted = await query
      .clearSelect()
      .select(sql<string | number>`count(*)`.as('count'))
      .$castTo<{ count: string | number }>()
      .executeTakeFirstOrThrow();
    result.totalCount = Number(counted.count);
  }
  return result;
}

/**
 * Resolves a request's reference to another resource, `{id?, <key>?}`: the id wins when both are
 * given; an unknown one is a 404 naming what was asked for; neither is a 400 with `empty`'s text.
 */
export async function resolveRef<Row>(
  noun: string,
  ref: { id?: string | undefined; key?: { name: string; value: string | undefined } },
  lookup: { byId(id: string): Promise<Row | undefined>; byKey(value: string): Promise<Row | undefined> },
  empty: { message: string; field: string },
): Promise<Row> {
  if (ref.id !== undefined) {
    const row = await lookup.byId(ref.id);
    if (!row) throw notFound(noun, ref.id);
    return row;
  }
  const key = ref.key;
  if (key?.value !== undefined) {
    const row = await lookup.byKey(key.value);
    if (!row) {
      throw new BosunError(404, 'resource_not_found', `No ${noun} with ${key.name} '${key.value}' exists.`, {
        resource: noun,
        [key.name]: key.value,
      });
    }
    return row;
  }
  throw badRequest('invalid_request', empty.message, { field: empty.field });
}
