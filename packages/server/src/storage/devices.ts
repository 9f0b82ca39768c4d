import { conflict, newId, type TagRequirement } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { Database, DeviceTable } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { emitEvent } from '../webhooks/events.ts';
import { toDevice } from '../wire/devices.ts';
import { inGroups, matchingTags } from './groups.ts';
import { fetchPage, type Page, type PageRequest, rowsById, whereFilters } from './list.ts';

export type DeviceRow = DeviceTable;

export interface DeviceFilter {
  id?: string[] | undefined;
  name?: string[] | undefined;
  agent_version?: string[] | undefined;
  /** Extension: members of any of these groups (subgroups already resolved). */
  group_id?: string[] | undefined;
  /** Extension: a parsed tag selector. */
  tags?: TagRequirement[] | undefined;
}

export class DeviceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async get(id: string): Promise<DeviceRow | undefined> {
    return this.db.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async list(filter: DeviceFilter, page: PageRequest): Promise<Page<DeviceRow>> {
    let q = whereFilters(this.db.selectFrom('devices').selectAll(), filter, {
      id: 'id',
      name: 'name',
      agent_version: 'agent_version',
    });
    if (filter.group_id?.length) q = q.where(inGroups(filter.group_id));
    if (filter.tags?.length) q = q.where(matchingTags(filter.tags));
    return fetchPage(q, page);
  }

  /** Rows for many ids in one query (for expansions); missing ids are simply absent. */
  async getMany(ids: readonly string[]): Promise<Map<string, DeviceRow>> {
    return rowsById(this.db.selectFrom('devices').selectAll(), 'id', ids);
  }

  /** New devices start `inactive`, with no agent version and no connection history. */
  async create(input: { name: string }): Promise<DeviceRow> {
    return this.db.transaction().execute(async (tx) => {
      await assertNameFree(tx, input.name, undefined);
      const now = nowIso();
      const row: DeviceRow = {
        id: newId('device'),
        name: input.name,
        status: 'inactive',
        agent_version: null,
        last_connected_at: null,
        last_disconnected_at: null,
        created_at: now,
        updated_at: now,
      };
      await tx.insertInto('devices').values(row).execute();
      await emitEvent(tx, 'device.created', { device: toDevice(row) });
      return row;
    });
  }

  async rename(id: string, name: string | undefined): Promise<DeviceRow | undefined> {
    return this.db.transaction().execute(async (tx) => {
      const current = await tx.selectFrom('devices').selectAll().where('id', '=', id).executeTakeFirst();
      if (!current || name === undefined || name === current.name) return current;
      await assertNameFree(tx, name, id);
      const updated_at = nowIso();
      await tx.updateTable('devices').set({ name, updated_at }).where('id', '=', id).execute();
      return { ...current, name, updated_at };
    });
  }
}

async function assertNameFree(db: Kysely<Database>, name: string, exceptId: string | undefined) {
  const clash = await db
    .selectFrom('devices')
    .select('id')
    .where('name', '=', name)
    .$if(exceptId !== undefined, (q) => q.where('id', '!=', exceptId!))
    .executeTakeFirst();
  if (clash) {
    throw conflict('already_exists', `A device named '${name}' already exists (${clash.id}).`, {
      field: 'name',
      existing_id: clash.id,
    });
  }
}
