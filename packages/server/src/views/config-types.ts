import type { ExpandTree } from '@bosun/core';
import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { ConfigTypeRow } from '../storage/config-types.ts';
import type { Repositories } from '../storage/index.ts';
import { plainView, related } from './view.ts';

export const ConfigType = Type.Object(
  {
    object: Type.Literal('config_type'),
    id: Type.String({ examples: ['cfg_typ_123'] }),
    name: Type.String(),
    slug: Type.String(),
    created_at: Timestamp('When the config type was created.'),
    updated_at: Timestamp('When the config type was last updated.'),
  },
  { $id: 'ConfigType', title: 'Config Type' },
);

export function toConfigType(row: ConfigTypeRow) {
  return {
    object: 'config_type' as const,
    id: row.id,
    name: row.name,
    slug: row.slug,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

export type ConfigTypeView = ReturnType<typeof toConfigType>;

export const configTypeView = plainView('config_type', 'config type', toConfigType);

/** `expand=config_type` of schemas and instances: their types in one query, by id (or nothing). */
export const expandConfigTypes = (repos: Repositories, subtree: ExpandTree | undefined, ids: string[]) =>
  related(repos, configTypeView, subtree, ids, (unique) => repos.configTypes.getMany(unique));
