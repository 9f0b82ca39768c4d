import {
  BosunError,
  type ParsedExpand,
  parseExpand,
  parseOrderBy,
  parsePage,
  type ResourceName,
  splitMulti,
} from '@bosun/core';
import type { FastifyRequest } from 'fastify';
import type { PageRequest } from '../storage/list.ts';

/**
 * Normalises a query string before schema validation: `expand[]` joins `expand`, and every parameter
 * the route declares as an array accepts repeated, comma-joined and pipe-joined values alike.
 * Runs as a preValidation hook so the schema then sees one canonical shape.
 */
export async function normaliseQuery(request: FastifyRequest): Promise<void> {
  const schema = request.routeOptions.schema?.querystring as
    | { properties?: Record<string, { type?: string }> }
    | undefined;
  const query = request.query as Record<string, unknown> | undefined;
  if (!schema?.properties || !query || typeof query !== 'object') return;
  if ('expand[]' in query) {
    query.expand = [...splitMulti(query.expand), ...splitMulti(query['expand[]'])];
    delete query['expand[]'];
  }
  for (const [key, prop] of Object.entries(schema.properties)) {
    if (prop.type === 'array' && key in query) query[key] = splitMulti(query[key]);
    // The validator's coercion would take `0x10` or `1e3` as numbers; an integer parameter is
    // decimal digits only, checked here while the value is still the text the client sent.
    if (prop.type === 'integer' && typeof query[key] === 'string') {
      if (query[key].trim() === '') delete query[key];
      else checkIntegerText(key, query[key]);
    }
  }
}

function checkIntegerText(field: string, text: string): void {
  if (!/^[+-]?\d+$/.test(text.trim())) {
    throw new BosunError(400, 'invalid_parameter', `${field} must be an integer, got '${text}'.`, {
      field,
      value: text,
    });
  }
}

/** The query of a list endpoint after validation (`ListQuery` in `schemas.ts`). */
export interface ListInput {
  offset?: number | undefined;
  limit?: number | undefined;
  order_by?: string[] | undefined;
  expand?: string[] | undefined;
}

/** The query of a single-object endpoint that expands (`ExpandQuery`). */
export interface ExpandInput {
  expand?: string[] | undefined;
}

export interface ListParams {
  page: PageRequest;
  expand: ParsedExpand;
}

/** Pagination, order and expansions of one list request, with the core's clamping and checks. */
export function listParams(query: ListInput, resource: ResourceName): ListParams {
  const { offset, limit } = parsePage(unexponent(query.offset), unexponent(query.limit));
  const expand = parseExpand(resource, query.expand, { list: true });
  return {
    page: { offset, limit, order: parseOrderBy(query.order_by), totalCount: expand.totalCount },
    expand,
  };
}

/**
 * The query validator has already coerced `limit=99999999999999999999999` to the number 1e+23, whose
 * text is no integer literal; hand such a value on as the largest safe integer of its sign so it is
 * clamped like any other out-of-range value instead of being refused.
 */
function unexponent(value: unknown): unknown {
  return typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)
    ? Math.sign(value) * Number.MAX_SAFE_INTEGER
    : value;
}

export function expandParam(query: ExpandInput | undefined, resource: ResourceName): ParsedExpand {
  return parseExpand(resource, query?.expand, { list: false });
}

/** Builds the `PaginatedList` body of every list; `total_count` appears only when it was expanded. */
export function listBody<T>(
  page: { offset: number; limit: number },
  data: T[],
  hasMore: boolean,
  totalCount?: number,
) {
  return {
    object: 'list' as const,
    ...(totalCount !== undefined ? { total_count: totalCount } : {}),
    limit: page.limit,
    offset: page.offset,
    has_more: hasMore,
    data,
  };
}
