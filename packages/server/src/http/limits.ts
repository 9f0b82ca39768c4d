import {
  badRequest,
  jsonNestingExceeds,
  LIMITS,
  limitExceeded,
  type ShapeProblem,
  unstorableText,
  valueShapeProblem,
  yamlNestingExceeds,
} from '@bosun/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * The request-side half of the input limits (the numbers live in core's LIMITS). Installed once for
 * the whole app, so `/beta` and `/agent/v1` refuse the same input the same way, before any route runs.
 */
export function installInputLimits(app: FastifyInstance): void {
  app.addHook('preValidation', async (request) => checkRequestInput(request));
}

/**
 * The error for a JSON body nested deeper than LIMITS.bodyDepth, or undefined. The body's nesting is
 * measured on its text before JSON.parse builds it, so no later walker (validation, the input hook,
 * a serializer) can be driven into deep recursion.
 */
export function jsonBodyDepthError(text: string): Error | undefined {
  if (!jsonNestingExceeds(text, LIMITS.bodyDepth)) return undefined;
  return limitExceeded(
    'bodyDepth',
    'body',
    `The request body nests objects and arrays more than ${LIMITS.bodyDepth} levels deep.`,
  );
}

/**
 * Refuses text no storage engine keeps as sent (NUL, lone surrogates), over-long strings and oversized
 * objects/arrays anywhere in path parameters, the query and the body — one check for every route.
 */
export function checkRequestInput(request: FastifyRequest): void {
  walk(request.params, 'path', LIMITS.paramChars, LIMITS.bodyKeys);
  walk(request.query, 'query', LIMITS.paramChars, LIMITS.bodyKeys);
  walk(request.body, 'body', LIMITS.bodyStringChars, LIMITS.bodyKeys);
}

function walk(root: unknown, location: 'path' | 'query' | 'body', maxChars: number, maxKeys: number) {
  // Iterative: the body's depth is bounded by the parser, but the query parser has no such bound.
  const stack: { value: unknown; field: string }[] = [{ value: root, field: '' }];
  while (stack.length) {
    const { value, field } = stack.pop()!;
    if (typeof value === 'string') {
      checkText(value, location, field, maxChars);
    } else if (Array.isArray(value)) {
      if (value.length > maxKeys) throw tooMany(location, field, maxKeys);
      value.forEach((v, i) => {
        stack.push({ value: v, field: `${field}[${i}]` });
      });
    } else if (value !== null && typeof value === 'object') {
      const keys = Object.keys(value);
      if (keys.length > maxKeys) throw tooMany(location, field, maxKeys);
      for (const key of keys) {
        const child = field ? `${field}.${key}` : key;
        checkText(key, location, child, maxChars);
        stack.push({ value: (value as Record<string, unknown>)[key], field: child });
      }
    }
  }
}

function checkText(text: string, location: string, field: string, maxChars: number) {
  const name = field || location;
  if (text.length > maxChars) {
    throw limitExceeded(
      location === 'body' ? 'bodyStringChars' : 'paramChars',
      name,
      `${describe(location, name)} is longer than ${maxChars} characters.`,
      maxChars,
    );
  }
  const problem = unstorableText(text);
  if (problem) {
    throw badRequest(
      'invalid_text',
      problem === 'nul'
        ? `${describe(location, name)} contains a NUL character (U+0000), which cannot be stored.`
        : `${describe(location, name)} contains an unpaired UTF-16 surrogate, which is not valid Unicode text.`,
      { field: name, location, reason: problem },
    );
  }
}

function tooMany(location: string, field: string, max: number) {
  const name = field || location;
  return limitExceeded(
    'bodyKeys',
    name,
    `${describe(location, name)} has more than ${max} keys or items.`,
    max,
  );
}

function describe(location: string, field: string): string {
  return location === 'body'
    ? `Field '${field}'`
    : `${location === 'path' ? 'Path' : 'Query'} parameter '${field}'`;
}

/**
 * Nesting and size checks of a document the API parses (a JSON/YAML schema document, JSON instance
 * content): the text is measured before the parser runs, the parsed value after.
 */
export function checkDocumentText(format: 'json' | 'yaml', text: string, field: string, name: string): void {
  if (format === 'yaml' && text.length > LIMITS.yamlDocumentChars) {
    throw limitExceeded(
      'yamlDocumentChars',
      field,
      `YAML document '${name}' is longer than ${LIMITS.yamlDocumentChars} characters; send large schemas as JSON.`,
    );
  }
  const deep =
    format === 'json'
      ? jsonNestingExceeds(text, LIMITS.documentDepth)
      : yamlNestingExceeds(text, LIMITS.documentDepth);
  if (deep) throw documentTooDeep(field, name);
}

export function checkDocumentValue(value: unknown, field: string, name: string): void {
  const problem = valueShapeProblem(value, { depth: LIMITS.documentDepth, keys: LIMITS.documentKeys });
  if (problem) throw documentProblem(problem, field, name);
}

function documentTooDeep(field: string, name: string) {
  return limitExceeded(
    'documentDepth',
    field,
    `Document '${name}' nests more than ${LIMITS.documentDepth} levels deep.`,
  );
}

function documentProblem(problem: ShapeProblem, field: string, name: string) {
  if (problem.kind === 'depth') return documentTooDeep(field, name);
  return limitExceeded(
    'documentKeys',
    field,
    `Document '${name}' has more than ${LIMITS.documentKeys} keys or items in one object or array (at '${problem.path}').`,
  );
}
