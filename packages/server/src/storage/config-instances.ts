import { newId } from '@bosun/core';
import type { Kysely } from 'kysely';
import type { ConfigInstanceTable, Database } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { emitEvent } from '../webhooks/events.ts';
import { toConfigInstance } from '../wire/config-instances.ts';
import { fetchPage, type Page, type PageRequest, rowsById, whereFilters } from './list.ts';

/** An instance with the live name of its config type. */
export type ConfigInstanceRow = ConfigInstanceTable & { config_type_name: string };

export interface ConfigInstanceFilter {
  id?: string[] | undefined;
  config_schema_id?: string[] | undefined;
  config_type_id?: string[] | undefined;
}

export class ConfigInstanceStore {
  constructor(private readonly db: Kysely<Database>) {}

  private select(db: Kysely<Database> = this.db) {
    return db
      .selectFrom('config_instances')
      .innerJoin('config_types', 'config_types.id', 'config_instances.config_type_id')
      .selectAll('config_instances')
      .select('config_types.name as config_type_name');
  }

  async get(id: string): Promise<ConfigInstanceRow | undefined> {
    return this.select().where('config_instances.id', '=', id).executeTakeFirst();
  }

  /** Rows for many ids in one query (for expansions); missing ids are simply absent. */
  async getMany(ids: readonly string[]): Promise<Map<string, ConfigInstanceRow>> {
    return rowsById(this.select(), 'config_instances.id', ids);
  }

  async list(filter: ConfigInstanceFilter, page: PageRequest): Promise<Page<ConfigInstanceRow>> {
    const q = whereFilters(this.select(), filter, {
      id: 'config_instances.id',
      config_schema_id: 'config_instances.config_schema_id',
      config_type_id: 'config_instances.config_type_id',
    });
    return fetchPage(q, page, (f) => `config_instances.${f}`);
  }

  /** Instances are immutable: this is the only write. `data` is stored exactly as given. */
  async create(input: Omit<ConfigInstanceTable, 'id' | 'created_at'>): Promise<ConfigInstanceRow> {
    const id = newId('configInstance');
    return this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto('config_instances')
        .values({ id, ...input, created_at: nowIso() })
        .execute();
      const row = await this.select(tx).where('config_instances.id', '=', id).executeTakeFirstOrThrow();
      await emitEvent(tx, 'config_instance.created', { config_instance: toConfigInstance(row) });
      return row;
    });
  }
}
