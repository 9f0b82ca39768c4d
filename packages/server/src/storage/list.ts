import type { SortKey } from '@bosun/core';
import type { SelectQueryBuilder } from 'kysely';

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
  for (const key of page.order) ordered = ordered.orderBy(column(key.field) as any, key.direction);
  const rows = await ordered
    .limit(page.limit + 1)
    .offset(page.offset)
    .execute();
  const result: Page<Row> = { rows: rows.slice(0, page.limit), hasMore: rows.length > page.limit };
  if (page.totalCount) {
    const counted = await query
      .clearSelect()
      .select((eb) => eb.fn.countAll<string | number>().as('count'))
      .executeTakeFirstOrThrow();
    result.totalCount = Number((counted as any).count);
  }
  return result;
}
