import { toConfigType } from '../routes/config-types.ts';
import type { ConfigTypeRow } from '../storage/config-types.ts';
import type { Repositories } from '../storage/index.ts';

/** Config types by id in one query, rendered; for `expand=config_type` on schemas and instances. */
export async function configTypesById(
  repos: Repositories,
  ids: readonly string[],
): Promise<Map<string, ReturnType<typeof toConfigType>>> {
  const unique = [...new Set(ids)];
  if (unique.length === 0) return new Map();
  const page = await repos.configTypes.list(
    { id: unique },
    { offset: 0, limit: unique.length, order: [{ field: 'id', direction: 'asc' }], totalCount: false },
  );
  return new Map(page.rows.map((r: ConfigTypeRow) => [r.id, toConfigType(r)]));
}
