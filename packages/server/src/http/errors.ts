import { BosunError } from '@bosun/core';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { uniqueViolation } from '../db/errors.ts';

/**
 * Every failure leaves as the error envelope. Bad input is always a 4xx that names the field;
 * only a genuine fault is a 500, and then without internals (the log has the stack, keyed by request id).
 */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler(
    (err: FastifyError | BosunError | Error, request: FastifyRequest, reply: FastifyReply) => {
      const { status, body } = toEnvelope(err);
      if (status >= 500) request.log.error({ err }, 'request failed');
      else request.log.debug({ code: body.error.code }, 'request rejected');
      return reply.status(status).type('application/json').send(body);
    },
  );
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(
      envelope('route_not_found', `No route ${request.method} ${request.url.split('?')[0]}.`, {
        method: request.method,
      }),
    );
  });
});

export function envelope(code: string, message: string, params: Record<string, unknown> = {}) {
  return { error: { code, message, params } };
}

function toEnvelope(err: unknown): { status: number; body: ReturnType<typeof envelope> } {
  if (err instanceof BosunError)
    return { status: err.status, body: envelope(err.code, err.message, err.params) };
  const unique = uniqueViolation(err);
  if (unique) {
    return {
      status: 409,
      body: envelope(
        'already_exists',
        `A ${unique.table} row with the same ${unique.columns.join(', ')} already exists.`,
        {
          resource: unique.table,
          fields: unique.columns,
        },
      ),
    };
  }
  const e = err as FastifyError & { validation?: any[]; validationContext?: string };
  if (e.validation) {
    const first = e.validation[0] ?? {};
    const location = e.validationContext ?? 'body';
    const field = fieldPath(first) || location;
    const message = describeViolation(location, field, first);
    return {
      status: 400,
      body: envelope('invalid_request', message, {
        field,
        location,
        errors: e.validation.map((v) => ({ field: fieldPath(v) || location, message: v.message })),
      }),
    };
  }
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return {
        status: 400,
        body: envelope('malformed_json', `The request body is not valid JSON: ${e.message}`),
      };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        body: envelope('unsupported_media_type', 'Send the request body as application/json.', {
          header: 'Content-Type',
        }),
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413 as number, body: envelope('body_too_large', 'The request body is too large.') };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, body: envelope('invalid_request', e.message) };
  }
  return {
    status: 500,
    body: envelope('internal_error', 'Something went wrong on our side; the request id is in the logs.'),
  };
}

/** One sentence that names the field: "body field 'name' must be a string." */
function describeViolation(location: string, field: string, v: any): string {
  const where =
    location === 'body' ? 'Field' : location === 'querystring' ? 'Query parameter' : `${location} parameter`;
  if (v.keyword === 'required') return `${where} '${field}' is required.`;
  if (v.keyword === 'type') return `${where} '${field}' must be of type ${v.params?.type}.`;
  const allowed = v.params?.allowedValues ?? v.params?.allowedValue;
  if (allowed !== undefined) return `${where} '${field}' must be one of: ${[].concat(allowed).join(', ')}.`;
  return `${where} '${field}' ${v.message ?? 'is invalid'}.`;
}

/** `/name` or `instancePath` + missing property → `name`, `config_type_ref.slug`, `documents[0].data`. */
function fieldPath(v: { instancePath?: string; params?: { missingProperty?: string } }): string {
  const parts = (v.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((p) => (/^\d+$/.test(p) ? `[${p}]` : p));
  if (v.params?.missingProperty) parts.push(v.params.missingProperty);
  return parts.join('.').replace(/\.\[/g, '[');
}
