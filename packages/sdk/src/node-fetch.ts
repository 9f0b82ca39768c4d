import { request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { FetchAnswer, FetchInit, FetchLike } from './fetch-like.ts';

export type { FetchAnswer, FetchInit, FetchLike };

/**
 * `fetch` over node:http(s), for processes where the first global `fetch` is the dominant cost: on
 * Node 20 it loads undici and compiles its WebAssembly HTTP parser, ≈ 240 ms before the first
 * request of a short-lived CLI command and ≈ 10 MB of lasting RSS on an idle robot (BENCHMARKS.md),
 * while node:http is loaded anyway and parses natively. The body is read in full; an aborted
 * `signal` ends the exchange (body included) with the signal's reason, as fetch does. A separate
 * entry point so the browser build of the SDK never sees node:http.
 */
export const nodeFetch: FetchLike = (url, init) => exchange(url, init, undefined);

export interface NodeFetchOptions {
  /**
   * PEM CA bundle that `https://` servers must chain to, instead of Node's bundled roots (a fleet's
   * internal CA). Verification is never turned off: a certificate outside the bundle is an error.
   */
  ca?: string | Buffer;
}

/** `nodeFetch` with TLS options of its own (one https Agent, so sessions are reused). */
export function createNodeFetch(opts: NodeFetchOptions): FetchLike {
  if (opts.ca === undefined) return nodeFetch;
  const agent = new HttpsAgent({ ca: opts.ca, keepAlive: false });
  return (url, init) => exchange(url, init, agent);
}

function exchange(url: string, init: FetchInit, agent: HttpsAgent | undefined): Promise<FetchAnswer> {
  return new Promise<FetchAnswer>((resolve, reject) => {
    const { signal } = init;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const target = new URL(url);
    const req = (target.protocol === 'https:' ? httpsRequest : httpRequest)(
      target,
      {
        method: init.method ?? 'GET',
        ...(agent && target.protocol === 'https:' ? { agent } : {}),
        headers: {
          ...init.headers,
          ...(init.body === undefined ? {} : { 'content-length': String(Buffer.byteLength(init.body)) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', fail);
        res.on('end', () => {
          signal?.removeEventListener('abort', abort);
          resolve(answer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks)));
        });
      },
    );
    function fail(err: unknown) {
      signal?.removeEventListener('abort', abort);
      reject(err);
    }
    function abort() {
      req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('The operation was aborted'));
    }
    signal?.addEventListener('abort', abort, { once: true });
    req.on('error', fail);
    req.end(init.body);
  });
}

function answer(status: number, headers: NodeJS.Dict<string | string[]>, body: Buffer): FetchAnswer {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: {
      get: (name) => {
        const v = headers[name.toLowerCase()];
        return v === undefined ? null : Array.isArray(v) ? v.join(', ') : v;
      },
    },
    text: async () => body.toString('utf8'),
    json: async () => JSON.parse(body.toString('utf8')) as unknown,
    arrayBuffer: async () =>
      body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer,
  };
}
