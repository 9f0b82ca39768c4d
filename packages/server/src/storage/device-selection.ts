import { parseTagSelector, type TagRequirement } from '@bosun/core';
import type { GroupStore } from './groups.ts';

/**
 * The extension filters of a device list as `DeviceStore.list` takes them: groups (with their
 * subgroups when asked, each device once) and a parsed tag selector (a bad one is a 400).
 */
export async function deviceSelection(
  groups: Pick<GroupStore, 'withSubgroups'>,
  q: {
    group_id?: string[] | undefined;
    include_subgroups?: boolean | undefined;
    tag_selector?: string | undefined;
  },
) {
  const groupIds = q.group_id?.length ? q.group_id : undefined;
  const out: { group_id?: string[]; tags?: TagRequirement[] } = {};
  if (groupIds) {
    const all = await Promise.all(groupIds.map((g) => groups.withSubgroups(g, q.include_subgroups === true)));
    out.group_id = [...new Set(all.flat())];
  }
  if (typeof q.tag_selector === 'string') out.tags = parseTagSelector(q.tag_selector);
  return out;
}
