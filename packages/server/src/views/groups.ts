import type { ExpandTree } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { GroupRow } from '../storage/groups.ts';
import type { Repositories } from '../storage/index.ts';
import { related, type View } from './view.ts';

/** A group of devices (Miru `2026-08-17` shape; `expand=parent`), docs/decisions.md #77. */
export const Group = Type.Object(
  {
    object: Type.Literal('group'),
    id: Type.String({ examples: ['grp_123'] }),
    name: Type.String(),
    parent_id: Type.Union([Type.String(), Type.Null()], {
      description: 'The parent group; null at the root.',
    }),
    created_at: Timestamp('When the group was created.'),
    updated_at: Timestamp('When the group was last changed.'),
    parent: Type.Optional(Type.Union([Type.Ref('Group'), Type.Null()])),
  },
  { $id: 'Group', title: 'Group' },
);

/** Extension: a device's group and tags. */
export const DeviceMembership = Type.Object(
  {
    object: Type.Literal('device_membership'),
    device_id: Type.String(),
    group_id: Type.Union([Type.String(), Type.Null()]),
    tags: Type.Record(Type.String(), Type.String()),
  },
  { $id: 'DeviceMembership', title: 'Device Membership' },
);

export function toGroup(row: GroupRow) {
  return {
    object: 'group' as const,
    id: row.id,
    name: row.name,
    parent_id: row.parent_id,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type GroupView = ReturnType<typeof toGroup> & { parent?: GroupView | null };

/** Groups with their parents when asked (one query per level of `parent.parent…`). */
async function renderGroups(
  repos: Repositories,
  rows: readonly GroupRow[],
  tree: ExpandTree,
): Promise<GroupView[]> {
  const parents = await related(
    repos,
    groupView,
    tree.parent,
    rows.flatMap((r) => (r.parent_id ? [r.parent_id] : [])),
    (ids) => repos.groups.getMany(ids),
  );
  return rows.map((row) => {
    const view: GroupView = toGroup(row);
    if (parents) view.parent = row.parent_id ? (parents.get(row.parent_id) ?? null) : null;
    return view;
  });
}

export const groupView: View<GroupRow, GroupView> = {
  resource: 'group',
  noun: 'group',
  render: renderGroups,
};

export function toDeviceMembership(
  deviceId: string,
  m: { group_id: string | null; tags: Record<string, string> },
) {
  return { object: 'device_membership' as const, device_id: deviceId, group_id: m.group_id, tags: m.tags };
}
