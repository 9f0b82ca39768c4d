import { BosunError } from './errors.ts';

/**
 * List conventions shared by every list endpoint (docs/decisions.md #3).
 * Pure: the HTTP layer hands over raw query values, these functions answer what to fetch.
 */

export const DEFAULT_LIMIT = 10;
export const MAX_LIMIT = 100;
export const MAX_EXPAND_DEPTH = 4;

export type SortField = 'id' | 'created_at';
export type SortDirection = 'asc' | 'desc';
export interface SortKey {
  field: SortField;
  direction: SortDirection;
}

/** Flattens repeated, comma-joined and pipe-joined values into one list, dropping empties. */
export function splitMulti(raw: unknown): string[] {
  const values = Array.isArray(raw) ? raw : raw === undefined || raw === null ? [] : [raw];
  return values
    .flatMap((v) => String(v).split(/[,|]/))
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

/** Out-of-range values are clamped, not rejected; a value that is not an integer is a 400. */
export function parsePage(offsetRaw: unknown, limitRaw: unknown): { offset: number; limit: number } {
  const offset = parseIntParam('offset', offsetRaw, 0);
  const limit = parseIntParam('limit', limitRaw, DEFAULT_LIMIT);
  return { offset: Math.max(0, offset), limit: Math.min(MAX_LIMIT, Math.max(1, limit)) };
}

function parseIntParam(field: string, raw: unknown, fallback: number): number {
  const value = Array.isArray(raw) ? raw[raw.length - 1] : raw;
  if (value === undefined || value === null || value === '') return fallback;
  const text = String(value).trim();
  if (!/^[+-]?\d+$/.test(text)) {
    throw new BosunError(400, 'invalid_parameter', `${field} must be an integer, got '${text}'.`, {
      field,
      value: text,
    });
  }
  const n = Number(text);
  if (!Number.isSafeInteger(n)) return n > 0 ? Number.MAX_SAFE_INTEGER : 0;
  return n;
}

/**
 * `order_by` is a comma-separated list of `field[:direction]` (direction defaults to desc).
 * `id:asc` is appended as the final tie-breaker unless `id` is already a key, so pages are stable.
 */
export function parseOrderBy(raw: unknown): SortKey[] {
  const items = splitMulti(raw);
  const keys: SortKey[] = [];
  for (const item of items.length ? items : ['created_at:desc']) {
    const [field, direction = 'desc', ...rest] = item.split(':');
    if (
      (field !== 'id' && field !== 'created_at') ||
      (direction !== 'asc' && direction !== 'desc') ||
      rest.length
    ) {
      throw new BosunError(
        400,
        'invalid_parameter',
        `order_by '${item}' is not one of id:asc, id:desc, created_at:asc, created_at:desc.`,
        {
          field: 'order_by',
          value: item,
          allowed: ['id:asc', 'id:desc', 'created_at:asc', 'created_at:desc'],
        },
      );
    }
    if (keys.some((k) => k.field === field)) continue;
    keys.push({ field, direction });
  }
  if (!keys.some((k) => k.field === 'id')) keys.push({ field: 'id', direction: 'asc' });
  return keys;
}

/** Values of an enum-typed filter; an unknown value is a 400 that names the filter. */
export function parseEnumFilter<T extends string>(field: string, raw: unknown, allowed: readonly T[]): T[] {
  const values = splitMulti(raw);
  for (const v of values) {
    if (!allowed.includes(v as T)) {
      throw new BosunError(400, 'invalid_parameter', `${field} '${v}' is not one of ${allowed.join(', ')}.`, {
        field,
        value: v,
        allowed,
      });
    }
  }
  return [...new Set(values)] as T[];
}

// ----- expansions -----------------------------------------------------------------------------------

export type ResourceName =
  | 'config_type'
  | 'config_schema'
  | 'config_instance'
  | 'release'
  | 'deployment'
  | 'device'
  | 'git_commit'
  | 'api_key'
  | 'webhook_endpoint'
  | 'webhook_delivery'
  | 'group'
  | 'rollout';

/** What each resource can expand, and into which resource (null = a leaf field such as `content`). */
export const EXPANSIONS: Record<ResourceName, Record<string, ResourceName | null>> = {
  config_type: {},
  config_schema: { documents: null, config_type: 'config_type' },
  config_instance: { content: null, config_schema: 'config_schema', config_type: 'config_type' },
  release: { config_schemas: 'config_schema' },
  deployment: { device: 'device', release: 'release', config_instances: 'config_instance' },
  device: {},
  git_commit: {},
  api_key: {},
  webhook_endpoint: {},
  webhook_delivery: {},
  group: { parent: 'group' },
  rollout: { deployments: 'deployment' },
};

/** A tree of requested expansions: `{release: {config_schemas: {}}}` for `expand=release.config_schemas`. */
export interface ExpandTree {
  [field: string]: ExpandTree;
}

export interface ParsedExpand {
  tree: ExpandTree;
  totalCount: boolean;
}

/**
 * Parses `expand` values (already merged from `expand` and `expand[]`). Nested names use dots;
 * expanding a child implies its parent; more than MAX_EXPAND_DEPTH segments or an unknown name is a 400.
 * `total_count` is only valid on lists and only at the top level.
 */
export function parseExpand(resource: ResourceName, raw: unknown, opts: { list: boolean }): ParsedExpand {
  const tree: ExpandTree = Object.create(null);
  let totalCount = false;
  for (const path of splitMulti(raw)) {
    if (path === 'total_count' && opts.list) {
      totalCount = true;
      continue;
    }
    const segments = path.split('.');
    if (segments.length > MAX_EXPAND_DEPTH) {
      throw new BosunError(
        400,
        'invalid_expand',
        `expand '${path}' is nested ${segments.length} levels deep; at most ${MAX_EXPAND_DEPTH} are allowed.`,
        { field: 'expand', value: path, max_depth: MAX_EXPAND_DEPTH },
      );
    }
    let current: ResourceName | null = resource;
    let node = tree;
    for (const segment of segments) {
      const fields: Record<string, ResourceName | null> = current ? EXPANSIONS[current] : {};
      // Own keys only: `constructor`, `__proto__` or `toString` are no expansions, whatever
      // Object.prototype holds.
      if (current === null || !Object.hasOwn(fields, segment)) {
        const allowed = [...(opts.list ? ['total_count'] : []), ...expansionPaths(resource)];
        throw new BosunError(400, 'invalid_expand', `expand '${path}' is not an expandable field here.`, {
          field: 'expand',
          value: path,
          allowed,
        });
      }
      if (!Object.hasOwn(node, segment)) node[segment] = Object.create(null) as ExpandTree;
      node = node[segment]!;
      current = fields[segment] ?? null;
    }
  }
  return { tree, totalCount };
}

/** Every valid expansion path of a resource, up to the depth limit (for messages and documentation). */
export function expansionPaths(resource: ResourceName, depth = MAX_EXPAND_DEPTH): string[] {
  const out: string[] = [];
  const walk = (r: ResourceName, prefix: string, level: number) => {
    for (const [field, child] of Object.entries(EXPANSIONS[r])) {
      const path = prefix ? `${prefix}.${field}` : field;
      out.push(path);
      if (child && level < depth) walk(child, path, level + 1);
    }
  };
  walk(resource, '', 1);
  return out;
}
