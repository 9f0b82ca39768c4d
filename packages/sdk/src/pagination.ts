import type { Page } from './types.ts';

/** The largest page the API serves; iterating uses it so walking a list costs the fewest requests. */
export const MAX_PAGE_SIZE = 100;

/**
 * Yields every item of a list, page after page, until the server says there is no more. `offset` in
 * the query is where to start; `limit` is the page size used (default the maximum).
 */
export async function* iteratePages<T, Q extends { offset?: number; limit?: number }>(
  fetchPage: (query: Q) => Promise<Page<T>>,
  query: Q,
): AsyncGenerator<T, void, undefined> {
  let offset = query.offset ?? 0;
  const limit = query.limit ?? MAX_PAGE_SIZE;
  for (;;) {
    const page = await fetchPage({ ...query, offset, limit });
    yield* page.data;
    if (!page.has_more || page.data.length === 0) return;
    offset += page.data.length;
  }
}

/** Collects an async iterable into an array. */
export async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const item of items) all.push(item);
  return all;
}
