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

/**
 * One expanded relation of a batch: when `subtree` was asked for, the related rows in one query
 * (`getMany`), rendered through their view with their own expansions, by id; otherwise nothing.
 */
export async function related<Row, Out extends { id: string }>(
  repos: Repositories,
  view: View<Row, Out>,
  subtree: ExpandTree | undefined,
  ids: readonly string[],
  getMany: (ids: readonly string[]) => Promise<Map<string, Row>>,
): Promise<Map<string, Out> | undefined> {
  if (!subtree) return undefined;
  return renderById(view, repos, (await getMany(ids)).values(), subtree);
}
