import { type ExpandTree, notFound } from '@bosun/core';
import type { Repositories } from '../storage/index.ts';
import type { Page, PageRequest } from '../storage/list.ts';
import type { View } from '../views/view.ts';
import { type ExpandInput, expandParam, type ListInput, listBody, listParams } from './query.ts';

/**
 * The one list handler: list parameters (paging, order, expansions, checked by core) → one page from
 * the repository → the resource's view → the `PaginatedList` body.
 */
export async function listResource<Row, Out>(
  repos: Repositories,
  view: View<Row, Out>,
  query: ListInput,
  fetch: (page: PageRequest) => Promise<Page<Row>>,
) {
  const params = listParams(query, view.resource);
  const page = await fetch(params.page);
  const data = await view.render(repos, page.rows, params.expand.tree);
  return listBody(params.page, data, page.hasMore, page.totalCount);
}

/** The one get handler: expansions checked first, the row or a 404 naming the resource, the view. */
export async function getResource<Row, Out>(
  repos: Repositories,
  view: View<Row, Out>,
  query: ExpandInput | undefined,
  id: string,
  get: (id: string) => Promise<Row | undefined>,
): Promise<Out> {
  const tree = expandParam(query, view.resource).tree;
  const row = await get(id);
  if (row === undefined) throw notFound(view.noun, id);
  return renderOne(repos, view, row, tree);
}

/**
 * One row through its view (create, update and action answers). Handlers that change something parse
 * `tree` with `expandParam` before the change, so a bad `expand` leaves everything as it was.
 */
export async function renderOne<Row, Out>(
  repos: Repositories,
  view: View<Row, Out>,
  row: Row,
  tree: ExpandTree = {},
): Promise<Out> {
  const [out] = await view.render(repos, [row], tree);
  return out!;
}
