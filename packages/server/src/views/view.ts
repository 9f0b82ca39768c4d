import type { ExpandTree, ResourceName } from '@bosun/core';
import type { Repositories } from '../storage/index.ts';

/**
 * How one resource looks on the wire: its name in the expansion graph, its noun in a 404, and its
 * batched serializer (one query per expanded relation for all rows, never per row). Every route that
 * answers with the resource, or embeds it in another, renders it through its view.
 */
export interface View<Row, Out> {
  resource: ResourceName;
  noun: string;
  render(repos: Repositories, rows: readonly Row[], tree: ExpandTree): Promise<Out[]>;
}

/** A view of a resource without expansions: a plain row → object mapping. */
export function plainView<Row, Out>(
  resource: ResourceName,
  noun: string,
  to: (row: Row) => Out,
): View<Row, Out> {
  return { resource, noun, render: async (_repos, rows) => rows.map(to) };
}

/** Renders each row once and indexes the result by id (for embedding in another resource). */
export async function renderById<Row, Out extends { id: string }>(
  view: View<Row, Out>,
  repos: Repositories,
  rows: Iterable<Row>,
  tree: ExpandTree,
): Promise<Map<string, Out>> {
  const rendered = await view.render(repos, [...rows], tree);
  return new Map(rendered.map((item) => [item.id, item]));
}
