/**
 * The one error type every layer throws for a rule broken by the caller. The HTTP shell turns it into
 * the envelope `{"error": {code, message, params}}` with `status`; core stays free of HTTP otherwise,
 * but the status is part of each rule's contract (docs/decisions.md #1), so it lives with the rule.
 */
export type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 410 | 415 | 422 | 429 | 503;

export class BosunError extends Error {
  readonly status: ErrorStatus;
  readonly code: string;
  readonly params: Record<string, unknown>;

  constructor(status: ErrorStatus, code: string, message: string, params: Record<string, unknown> = {}) {
    super(message);
    this.name = 'BosunError';
    this.status = status;
    this.code = code;
    this.params = params;
  }
}

export const badRequest = (code: string, message: string, params: Record<string, unknown> = {}) =>
  new BosunError(400, code, message, params);
export const notFound = (resource: string, id: string) =>
  new BosunError(404, 'resource_not_found', `No ${resource} with id '${id}' exists.`, { resource, id });
export const conflict = (code: string, message: string, params: Record<string, unknown> = {}) =>
  new BosunError(409, code, message, params);
export const unprocessable = (code: string, message: string, params: Record<string, unknown> = {}) =>
  new BosunError(422, code, message, params);
