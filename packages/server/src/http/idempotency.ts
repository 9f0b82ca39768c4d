import { createHash } from 'node:crypto';
import {
  canonicalJson,
  checkIdempotencyKey,
  IDEMPOTENCY_HEADER,
  IDEMPOTENCY_KEY_MAX_LENGTH,
  IDEMPOTENT_REPLAYED_HEADER,
} from '@bosun/core';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { IdempotencyScope, IdempotencyStore } from '../storage/idempotency.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when this request claimed an `Idempotency-Key` and must store or release it. */
    idempotency?: IdempotencyScope & { createdAt: string; settled: boolean };
  }
}

/** How often a process deletes expired keys (at most; triggered by traffic, no timer). */
const PRUNE_EVERY_MS = 60_000;

/**
 * `Idempotency-Key` on every POST of the platform API (docs/decisions.md #17).
 * Runs after authentication (keys are scoped per API key) and before validation, so a validation
 * error is remembered and replayed like any other answer; a 5xx releases the key.
 */
export const idempotencyPlugin = fp(async (app: FastifyInstance, opts: { store: IdempotencyStore }) => {
  let lastPrune = 0;

  app.addHook('preValidation', async (request, reply) => {
    if (request.method !== 'POST' || !request.principal) return;
    const key = checkIdempotencyKey(request.headers['idempotency-key']);
    if (key === undefined) return;
    if (Date.now() - lastPrune > PRUNE_EVERY_MS) {
      lastPrune = Date.now();
      opts.store.prune().catch((err) => request.log.warn({ err }, 'pruning idempotency keys failed'));
    }
    const scope = { apiKeyId: request.principal.id, key };
    const claim = await opts.store.claim(scope, {
      method: request.method,
      path: request.url,
      bodyHash: createHash('sha256')
        // No body and `{}` are the same request (docs/decisions.md #16).
        .update(canonicalJson(request.body ?? {}))
        .digest('hex'),
    });
    if (claim.kind === 'replay') {
      return reply
        .status(claim.status)
        .header(IDEMPOTENT_REPLAYED_HEADER, 'true')
        .type('application/json; charset=utf-8')
        .send(claim.body);
    }
    request.idempotency = { ...scope, createdAt: claim.createdAt, settled: false };
  });

  // The answer is stored before it leaves, so a client that saw it can always have it replayed.
  app.addHook('onSend', async (request, reply, payload) => {
    const own = request.idempotency;
    if (!own || own.settled) return payload;
    own.settled = true;
    const body = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '';
    try {
      await opts.store.finish(own, own.createdAt, reply.statusCode, body);
    } catch (err) {
      request.log.error({ err }, 'storing the idempotent response failed');
    }
    return payload;
  });

  // A request that ended without a response (aborted, hijacked) must not hold its key for a day.
  app.addHook('onResponse', async (request) => {
    const own = request.idempotency;
    if (!own || own.settled) return;
    own.settled = true;
    await opts.store.release(own, own.createdAt).catch(() => {});
  });
});

interface OpenApiParameter {
  name?: string;
  in?: string;
}
type OpenApiPaths = Record<string, Record<string, { parameters?: unknown[] } | undefined> | undefined>;

/** Declares the optional `Idempotency-Key` header on every POST of the generated OpenAPI document. */
export function documentIdempotencyKey<T extends { paths?: unknown }>(doc: T): T {
  const paths = (doc.paths ?? {}) as OpenApiPaths;
  for (const item of Object.values(paths)) {
    const post = item?.post;
    if (!post) continue;
    const parameters = (post.parameters ?? []) as OpenApiParameter[];
    if (parameters.some((p) => p.in === 'header' && p.name?.toLowerCase() === 'idempotency-key')) continue;
    post.parameters = [...parameters, IDEMPOTENCY_KEY_PARAMETER];
  }
  return doc;
}

const IDEMPOTENCY_KEY_PARAMETER = {
  name: IDEMPOTENCY_HEADER,
  in: 'header',
  required: false,
  description:
    'Makes a retry safe: the first response to this key (per API key, for 24 hours) is stored and replayed, with `Idempotent-Replayed: true`, to any request with the same key, path and body. The same key with a different path or body is a 422 `idempotency_key_reused`; while the first request runs, a duplicate gets 409 `idempotency_key_in_use`. A 5xx is not stored, so a retry runs again.',
  schema: { type: 'string', minLength: 1, maxLength: IDEMPOTENCY_KEY_MAX_LENGTH },
  example: '8e03978e-40d5-43e8-bc93-6894a57f9324',
};
