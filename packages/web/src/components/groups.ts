import type { Group } from '@bosun/sdk';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api.ts';

/** Every group (a fleet has tens, not thousands), shared by the fleet filter, groups and rollouts pages. */
export function useGroups(enabled = true) {
  return useQuery({
    queryKey: ['groups'],
    queryFn: () => api.groups.listAll({ limit: 100 }),
    enabled,
  });
}

/** Each group's full path ("berlin / line 2"), so same-named subgroups can be told apart. */
export function groupPaths(groups: readonly Group[]): Map<string, string> {
  const byId = new Map(groups.map((g) => [g.id, g]));
  const out = new Map<string, string>();
  const path = (g: Group, seen: Set<string>): string => {
    const known = out.get(g.id);
    if (known) return known;
    const parent = g.parent_id ? byId.get(g.parent_id) : undefined;
    // A cycle cannot be stored (the server refuses it), but a page must not loop on bad data.
    const text = parent && !seen.has(parent.id) ? `${path(parent, seen.add(g.id))} / ${g.name}` : g.name;
    out.set(g.id, text);
    return text;
  };
  for (const g of groups) path(g, new Set());
  return out;
}

/** Groups in tree order (each parent before its children), with their depth for indentation. */
export function groupTree(groups: readonly Group[]): { group: Group; depth: number }[] {
  const children = new Map<string | null, Group[]>();
  const ids = new Set(groups.map((g) => g.id));
  for (const g of groups) {
    const parent = g.parent_id && ids.has(g.parent_id) ? g.parent_id : null;
    children.set(parent, [...(children.get(parent) ?? []), g]);
  }
  const out: { group: Group; depth: number }[] = [];
  const walk = (parent: string | null, depth: number) => {
    for (const g of (children.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ group: g, depth });
      if (depth < 50) walk(g.id, depth + 1);
    }
  };
  walk(null, 0);
  return out;
}
