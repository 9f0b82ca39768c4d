import { checkGroupParent, conflict, newId, notFound, subtree, type TagRequirement } from '@bosun/core';
import { type ExpressionBuilder, type Kysely, SqliteAdapter, sql } from 'kysely';
import type { GroupTable } from '../db/fleet-schema.ts';
import type { Database } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { fetchPage, type Page, type PageRequest } from './list.ts';

export type GroupRow = GroupTable;

export interface GroupFilter {
  id?: string[] | undefined;
  name?: string[] | undefined;
  parent_id?: string[] | undefined;
}

/**
 * Groups (a tree, Miru `2026-08-17`), device membership (at most one group per device) and device
 * tags. Tree changes run in a transaction that reads the whole tree and asks the core rule, so a
 * cycle cannot be made; names are unique (index + helpful 409).
 */
export class GroupStore {
  private readonly sqlite: boolean;

  constructor(private readonly db: Kysely<Database>) {
    this.sqlite = db.getExecutor().adapter instanceof SqliteAdapter;
  }

  async get(id: string): Promise<GroupRow | undefined> {
    return this.db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async getMany(ids: readonly string[]): Promise<Map<string, GroupRow>> {
    if (!ids.length) return new Map();
    const rows = await this.db
      .selectFrom('groups')
      .selectAll()
      .where('id', 'in', [...new Set(ids)])
      .execute();
    return new Map(rows.map((r) => [r.id, r]));
  }

  async list(filter: GroupFilter, page: PageRequest): Promise<Page<GroupRow>> {
    let q = this.db.selectFrom('groups').selectAll();
    if (filter.id?.length) q = q.where('id', 'in', filter.id);
    if (filter.name?.length) q = q.where('name', 'in', filter.name);
    if (filter.parent_id?.length) q = q.where('parent_id', 'in', filter.parent_id);
    return fetchPage(q, page);
  }

  async create(input: { name: string; parent_id: string | null }): Promise<GroupRow> {
    return this.db.transaction().execute(async (tx) => {
      await assertNameFree(tx, input.name, undefined);
      if (input.parent_id !== null) checkGroupParent(null, input.parent_id, await tree(tx, input.parent_id));
      const now = nowIso();
      const row: GroupRow = {
        id: newId('group'),
        name: input.name,
        parent_id: input.parent_id,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('groups').values(row).execute();
      return row;
    });
  }

  async rename(id: string, name: string | undefined): Promise<GroupRow> {
    return this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('group', id);
      if (name === undefined || name === row.name) return row;
      await assertNameFree(tx, name, id);
      const updated_at = nowIso();
      await tx.updateTable('groups').set({ name, updated_at }).where('id', '=', id).execute();
      return { ...row, name, updated_at };
    });
  }

  /** Moves a group (and its subtree) under `parentId`, or to the root with null. */
  async move(id: string, parentId: string | null): Promise<GroupRow> {
    return this.db.transaction().execute(async (tx) => {
      // Serialise tree changes: two concurrent moves could otherwise make a cycle together (SQLite
      // transactions are serialised already).
      if (!this.sqlite) await sql`lock table groups in share row exclusive mode`.execute(tx);
      const all = await tx.selectFrom('groups').select(['id', 'parent_id']).execute();
      const parentOf = new Map(all.map((g) => [g.id, g.parent_id]));
      if (!parentOf.has(id)) throw notFound('group', id);
      checkGroupParent(id, parentId, parentOf);
      const updated_at = nowIso();
      await tx.updateTable('groups').set({ parent_id: parentId, updated_at }).where('id', '=', id).execute();
      return tx.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    });
  }

  /** `id` and, when asked, every group below it. */
  async withSubgroups(id: string, include: boolean): Promise<string[]> {
    if (!include) return [id];
    const all = await this.db.selectFrom('groups').select(['id', 'parent_id']).execute();
    return subtree(id, new Map(all.map((g) => [g.id, g.parent_id])));
  }

  /** Puts devices in the group (taking them out of any other: one group per device). Unknown devices: 404. */
  async assign(groupId: string, deviceIds: string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const group = await tx.selectFrom('groups').select('id').where('id', '=', groupId).executeTakeFirst();
      if (!group) throw notFound('group', groupId);
      await assertDevices(tx, deviceIds);
      const unique = [...new Set(deviceIds)];
      if (!unique.length) return;
      await tx.deleteFrom('group_members').where('device_id', 'in', unique).execute();
      const now = nowIso();
      await tx
        .insertInto('group_members')
        .values(unique.map((device_id) => ({ device_id, group_id: groupId, created_at: now })))
        .execute();
    });
  }

  /** Takes devices out of the group; devices of another group or of none are left alone. */
  async unassign(groupId: string, deviceIds: string[]): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      const group = await tx.selectFrom('groups').select('id').where('id', '=', groupId).executeTakeFirst();
      if (!group) throw notFound('group', groupId);
      await assertDevices(tx, deviceIds);
      if (deviceIds.length)
        await tx
          .deleteFrom('group_members')
          .where('group_id', '=', groupId)
          .where('device_id', 'in', deviceIds)
          .execute();
    });
  }

  async membership(
    deviceIds: readonly string[],
  ): Promise<Map<string, { group_id: string | null; tags: Record<string, string> }>> {
    const out = new Map(
      deviceIds.map((id) => [id, { group_id: null as string | null, tags: {} as Record<string, string> }]),
    );
    if (!deviceIds.length) return out;
    const ids = [...new Set(deviceIds)];
    for (const m of await this.db
      .selectFrom('group_members')
      .selectAll()
      .where('device_id', 'in', ids)
      .execute())
      out.get(m.device_id)!.group_id = m.group_id;
    const tags = await this.db
      .selectFrom('device_tags')
      .selectAll()
      .where('device_id', 'in', ids)
      .orderBy('key')
      .execute();
    for (const t of tags) out.get(t.device_id)!.tags[t.key] = t.value;
    return out;
  }

  /** Replaces a device's tags (already checked by the core rule). */
  async setTags(deviceId: string, tags: Record<string, string>): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await assertDevices(tx, [deviceId]);
      await tx.deleteFrom('device_tags').where('device_id', '=', deviceId).execute();
      const rows = Object.entries(tags).map(([key, value]) => ({ device_id: deviceId, key, value }));
      if (rows.length) await tx.insertInto('device_tags').values(rows).execute();
    });
  }
}

/** A filter on the `devices` table: members of these groups. */
export const inGroups = (groupIds: string[]) => (eb: ExpressionBuilder<Database, 'devices'>) =>
  eb.exists(
    eb
      .selectFrom('group_members as gm')
      .select('gm.device_id')
      .whereRef('gm.device_id', '=', 'devices.id')
      .where('gm.group_id', 'in', groupIds),
  );

/** A filter on the `devices` table: devices whose tags satisfy every requirement. */
export const matchingTags = (reqs: TagRequirement[]) => (eb: ExpressionBuilder<Database, 'devices'>) =>
  eb.and(
    reqs.map((r) => {
      const tag = (values?: string[]) =>
        eb.exists(
          eb
            .selectFrom('device_tags as dt')
            .select('dt.device_id')
            .whereRef('dt.device_id', '=', 'devices.id')
            .where('dt.key', '=', r.key)
            .$if(values !== undefined, (q) => q.where('dt.value', 'in', values!)),
        );
      if (r.op === 'exists') return tag();
      if (r.op === 'absent') return eb.not(tag());
      const matched = tag(r.values);
      return r.op === 'in' ? matched : eb.not(matched);
    }),
  );

async function tree(db: Kysely<Database>, mustExist: string): Promise<Map<string, string | null>> {
  const all = await db.selectFrom('groups').select(['id', 'parent_id']).execute();
  const parentOf = new Map(all.map((g) => [g.id, g.parent_id]));
  if (!parentOf.has(mustExist)) throw notFound('group', mustExist);
  return parentOf;
}

async function assertDevices(db: Kysely<Database>, ids: string[]): Promise<void> {
  const unique = [...new Set(ids)];
  if (!unique.length) return;
  const found = new Set(
    (await db.selectFrom('devices').select('id').where('id', 'in', unique).execute()).map((d) => d.id),
  );
  const missing = unique.filter((id) => !found.has(id));
  if (missing.length) throw notFound('device', missing[0]!);
}

async function assertNameFree(db: Kysely<Database>, name: string, exceptId: string | undefined) {
  const clash = await db
    .selectFrom('groups')
    .select('id')
    .where('name', '=', name)
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (clash)
    throw conflict('already_exists', `A group named '${name}' already exists (${clash.id}).`, {
      field: 'name',
      existing_id: clash.id,
    });
}
