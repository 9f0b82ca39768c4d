import { Type } from '@sinclair/typebox';
import { Timestamp } from '../http/schemas.ts';
import type { ConfigTypeRow } from '../storage/config-types.ts';
import type { Repositories } from '../storage/index.ts';
import { plainView, renderById } from './view.ts';

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

/** Config types by id in one query, rendered; for `expand=config_type` on schemas and instances. */
export async function configTypesById(
  repos: Repositories,
  ids: readonly string[],
): Promise<Map<string, ConfigTypeView>> {
  return renderById(configTypeView, repos, (await repos.configTypes.getMany(ids)).values(), {});
}
