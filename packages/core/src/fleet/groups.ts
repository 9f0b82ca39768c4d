import { BosunError, conflict } from '../errors.ts';

/**
 * Groups form a tree (Miru `2026-08-17`): each group has at most one parent, a device belongs to at
 * most one group. These rules keep the tree a tree and answer "this group and its subgroups".
 */

export const MAX_GROUP_DEPTH = 16;

/** The ancestors of `id`, nearest first (the chain of `parentOf`), stopping at a root. */
export function ancestors(id: string, parentOf: ReadonlyMap<string, string | null>): string[] {
  const out: string[] = [];
  let at = parentOf.get(id) ?? null;
  while (at !== null && !out.includes(at) && out.length <= MAX_GROUP_DEPTH) {
    out.push(at);
    at = parentOf.get(at) ?? null;
  }
  return out;
}

/** `root` and every group below it. */
export function subtree(root: string, parentOf: ReadonlyMap<string, string | null>): string[] {
  const children = new Map<string, string[]>();
  for (const [id, parent] of parentOf)
    if (parent !== null) children.set(parent, [...(children.get(parent) ?? []), id]);
  const out = [root];
  for (let i = 0; i < out.length; i++)
    for (const c of children.get(out[i]!) ?? []) if (!out.includes(c)) out.push(c);
  return out;
}

/** Height of the tree below `root` (0 for a leaf). */
function height(root: string, parentOf: ReadonlyMap<string, string | null>): number {
  let best = 0;
  for (const id of subtree(root, parentOf)) {
    if (id === root) continue;
    let d = 0;
    let at: string | null = id;
    while (at !== null && at !== root) {
      at = parentOf.get(at) ?? null;
      d++;
    }
    best = Math.max(best, d);
  }
  return best;
}

/**
 * Moving `id` under `newParent` (null: to the root) must not make a cycle (a group under itself or
 * one of its subgroups: 409 `group_cycle`) and must keep the tree at most MAX_GROUP_DEPTH deep (422).
 */
export function checkGroupParent(
  id: string | null,
  newParent: string | null,
  parentOf: ReadonlyMap<string, string | null>,
): void {
  if (newParent === null) return;
  if (id !== null && (newParent === id || ancestors(newParent, parentOf).includes(id))) {
    throw conflict(
      'group_cycle',
      `Group ${id} cannot be moved under ${newParent}: that group is ${newParent === id ? 'itself' : 'one of its subgroups'}.`,
      {
        rule: 'group_tree',
        group_id: id,
        parent_id: newParent,
      },
    );
  }
  const depth = ancestors(newParent, parentOf).length + 2 + (id === null ? 0 : height(id, parentOf));
  if (depth > MAX_GROUP_DEPTH) {
    throw new BosunError(422, 'group_too_deep', `Groups nest at most ${MAX_GROUP_DEPTH} levels deep.`, {
      parent_id: newParent,
      max_depth: MAX_GROUP_DEPTH,
    });
  }
}
