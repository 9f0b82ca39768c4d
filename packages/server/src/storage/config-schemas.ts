import { newId } from '@bosun/core';
import type { Kysely } from 'kysely';
import { uniqueViolation } from '../db/errors.ts';
import type { ConfigSchemaTable, Database, SchemaDocumentTable } from '../db/schema.ts';
import { nowIso } from '../db/time.ts';
import { fetchPage, type Page, type PageRequest, rowsById, whereFilters } from './list.ts';

/** A schema with the live name of its config type (a rename shows everywhere). */
export type ConfigSchemaRow = ConfigSchemaTable & { config_type_name: string };
export type SchemaDocumentRow = SchemaDocumentTable;

export interface ConfigSchemaFilter {
  id?: string[] | undefined;
  config_type_id?: string[] | undefined;
}

export interface NewConfigSchema {
  config_type_id: string;
  language: ConfigSchemaTable['language'];
  format: ConfigSchemaTable['format'];
  instance_filepath: string;
  digest: string;
  identity_key: string;
  git_commit_id: string | null;
  documents: { name: string; data: string; repository_path: string | null }[];
}

export class ConfigSchemaStore {
  constructor(private readonly db: Kysely<Database>) {}

  private select(db: Kysely<Database> = this.db) {
    return db
      .selectFrom('config_schemas')
      .innerJoin('config_types', 'config_types.id', 'config_schemas.config_type_id')
      .selectAll('config_schemas')
      .select('config_types.name as config_type_name');
  }

  async get(id: string): Promise<ConfigSchemaRow | undefined> {
    return this.select().where('config_schemas.id', '=', id).executeTakeFirst();
  }

  /** Rows for many ids in one query (for expansions); missing ids are simply absent. */
  async getMany(ids: readonly string[]): Promise<Map<string, ConfigSchemaRow>> {
    return rowsById(this.select(), 'config_schemas.id', ids);
  }

  async list(filter: ConfigSchemaFilter, page: PageRequest): Promise<Page<ConfigSchemaRow>> {
    const q = whereFilters(this.select(), filter, {
      id: 'config_schemas.id',
      config_type_id: 'config_schemas.config_type_id',
    });
    return fetchPage(q, page, (f) => `config_schemas.${f}`);
  }

  /** Documents of many schemas in one query, each list in upload order. */
  async documents(schemaIds: readonly string[]): Promise<Map<string, SchemaDocumentRow[]>> {
    const unique = [...new Set(schemaIds)];
    const out = new Map<string, SchemaDocumentRow[]>(unique.map((id) => [id, []]));
    if (unique.length === 0) return out;
    const rows = await this.db
      .selectFrom('schema_documents')
      .selectAll()
      .where('config_schema_id', 'in', unique)
      .orderBy('config_schema_id')
      .orderBy('position')
      .execute();
    for (const r of rows) out.get(r.config_schema_id)!.push(r);
    return out;
  }

  /**
   * Creates the schema, or returns the existing one with the same identity key (same canonical content,
   * type, language, format and path: docs/decisions.md #10). A concurrent identical create that wins
   * the race is found by the unique index and returned too.
   */
  async create(input: NewConfigSchema): Promise<{ row: ConfigSchemaRow; created: boolean }> {
    const existing = await this.findByIdentity(input.identity_key);
    if (existing) return { row: existing, created: false };
    const id = newId('configSchema');
    try {
      await this.db.transaction().execute(async (tx) => {
        const now = nowIso();
        const { documents, ...schema } = input;
        await tx
          .insertInto('config_schemas')
          .values({ id, ...schema, created_at: now, updated_at: now })
          .execute();
        await tx
          .insertInto('schema_documents')
          .values(
            documents.map((d, position) => ({
              id: newId('schemaDocument'),
              config_schema_id: id,
              position,
              name: d.name,
              data: d.data,
              repository_path: d.repository_path,
            })),
          )
          .execute();
      });
    } catch (err) {
      const unique = uniqueViolation(err);
      if (unique?.table === 'config_schemas') {
        const winner = await this.findByIdentity(input.identity_key);
        if (winner) return { row: winner, created: false };
      }
      throw err;
    }
    return { row: (await this.get(id))!, created: true };
  }

  /** The schema a create with this identity key would return, if any. */
  findByIdentity(identityKey: string) {
    return this.select().where('config_schemas.identity_key', '=', identityKey).executeTakeFirst();
  }
}
