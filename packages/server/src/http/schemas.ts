import {
  type Static,
  type TObject,
  type TOptional,
  type TSchema,
  type TString,
  Type,
} from '@sinclair/typebox';

/** The error envelope of docs/decisions.md #1, shared by every non-200 answer. */
export const ErrorEnvelope = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description: 'Stable, machine-readable error code.',
        examples: ['invalid_request'],
      }),
      message: Type.String({ description: 'What went wrong, for people.' }),
      params: Type.Record(Type.String(), Type.Unknown(), {
        description: 'Details: the offending field, limits, ids.',
      }),
    }),
  },
  { $id: 'Error', title: 'Error' },
);
export type ErrorEnvelopeBody = Static<typeof ErrorEnvelope>;

export const errorResponses = {
  '4xx': Type.Ref('Error'),
} as const;

export const Timestamp = (description: string) => Type.String({ format: 'date-time', description });
export const NullableTimestamp = (description: string) =>
  Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

/** `PaginatedList` of the reference: `{object: "list", total_count?, limit, offset, has_more, data}`. */
export function PaginatedList<T extends TSchema>(item: T, title: string) {
  return Type.Object(
    {
      object: Type.Literal('list'),
      total_count: Type.Optional(Type.Integer({ description: 'Only present with expand=total_count.' })),
      limit: Type.Integer(),
      offset: Type.Integer(),
      has_more: Type.Boolean(),
      data: Type.Array(item),
    },
    { title },
  );
}

const multi = <T extends TSchema>(description: string, item: T) =>
  Type.Optional(
    Type.Array(item, { description: `${description} Repeat the parameter or join values with ',' or '|'.` }),
  );
const multiText = (description: string) => multi(description, Type.String());

/** Query parameters every list endpoint takes, plus its own filters. */
export function ListQuery<F extends Record<string, TSchema>>(filters: F, expandNames: string[]) {
  return Type.Object({
    offset: Type.Optional(
      Type.Integer({ default: 0, description: 'Items to skip; negative values count as 0.' }),
    ),
    limit: Type.Optional(Type.Integer({ default: 10, description: 'Page size; clamped to 1..100.' })),
    order_by: multiText(
      'Sort keys: id:asc, id:desc, created_at:asc, created_at:desc (id:asc is appended as tie-breaker).',
    ),
    expand: multiText(
      `Expansions: ${['total_count', ...expandNames].join(', ')}; nested with dots, depth ≤ 4.`,
    ),
    'expand[]': multiText('Legacy name of expand.'),
    ...filters,
  });
}

export const filter = (description: string) => multiText(description);
export const enumFilter = <V extends string>(description: string, values: readonly V[]) =>
  multi(description, Type.Union(values.map((v) => Type.Literal(v))));

/** Query of single-object endpoints that expand. */
export function ExpandQuery(expandNames: string[]) {
  return Type.Object({
    expand: multiText(`Expansions: ${expandNames.join(', ') || 'none'}; nested with dots, depth ≤ 4.`),
    'expand[]': multiText('Legacy name of expand.'),
  });
}

/** The path parameter `name`, typed as such, so handlers read `request.params[name]` as a string. */
export const IdParam = <N extends string>(name: N, example: string): TObject<{ [K in N]: TString }> =>
  Type.Object({ [name]: Type.String({ description: `The unique identifier (${example}).` }) } as {
    [K in N]: TString;
  });

/**
 * A reference to another resource by id, or by `key` (slug, sha) when no id is given; the id wins.
 */
export const ResourceRef = <K extends string>(
  name: string,
  key: K,
): TObject<{ id: TOptional<TString> } & { [P in K]: TOptional<TString> }> =>
  Type.Object(
    { id: Type.Optional(Type.String()), [key]: Type.Optional(Type.String()) } as {
      id: TOptional<TString>;
    } & { [P in K]: TOptional<TString> },
    { description: `A reference to a ${name}: id, or ${key} when no id is given (id wins).` },
  );
