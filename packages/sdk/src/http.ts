import { BosunApiError, BosunNetworkError, toEnvelope } from './errors.ts';
import type { FetchAnswer, FetchLike } from './fetch-like.ts';

export const API_VERSION = '2026-03-09.tetons';

export interface HttpOptions {
  /** Server URL, e.g. `http://127.0.0.1:8080`; `/beta` is appended unless the URL already ends with it. */
  baseUrl: string;
  apiKey: string;
  /** Sent as `Miru-Version` on every request. */
  apiVersion?: string;
  /** Extra attempts after the first on 429, 5xx and network errors (default 3). */
  retries?: number;
  /** First backoff delay in ms; doubles each attempt, with jitter, capped at 10 s (default 250). */
  retryBaseMs?: number;
  /** Per-attempt timeout in ms (default 30 s). */
  timeoutMs?: number;
  /** The global `fetch` by default; in a short-lived Node process `nodeFetch` (`@bosun/sdk/node-fetch`) starts faster. */
  fetch?: FetchLike;
  userAgent?: string;
  /**
   * Send a generated `Idempotency-Key` on every POST and reuse it on each retry (default true), so a
   * retried create never runs twice. With `false`, a POST is retried only when the connection was
   * refused (nothing reached the server).
   */
  idempotencyKeys?: boolean;
}

export type QueryValue =
  | string
  | number
  | boolean
  | undefined
  | null
  | readonly (string | number | boolean)[];

export interface RequestOptions {
  query?: Record<string, QueryValue> | undefined;
  body?: unknown;
  /** Return the body as text instead of parsing JSON (raw content endpoints). */
  text?: boolean;
  /** POST only: this `Idempotency-Key` instead of a generated one; `null` sends none. */
  idempotencyKey?: string | null | undefined;
}

/** Per-call options of the POST methods. */
export interface PostOptions {
  /**
   * The `Idempotency-Key` to send (reuse one to retry safely across processes); by default a new
   * key is generated for the call. `null` sends none: the POST is then retried only on a refused
   * connection.
   */
  idempotencyKey?: string | null;
}

const MAX_BACKOFF_MS = 10_000;

/** One place that talks HTTP: headers, JSON, typed errors, and retries with backoff. */
export class HttpTransport {
  readonly baseUrl: string;
  private readonly opts: Required<Omit<HttpOptions, 'userAgent' | 'fetch'>> & {
    fetch: FetchLike;
    userAgent: string | undefined;
  };

  constructor(options: HttpOptions) {
    if (!options.baseUrl) throw new TypeError('baseUrl is required');
    if (!options.apiKey) throw new TypeError('apiKey is required');
    const trimmed = options.baseUrl.replace(/\/+$/, '');
    this.baseUrl = /\/beta$/.test(trimmed) ? trimmed : `${trimmed}/beta`;
    this.opts = {
      baseUrl: this.baseUrl,
      apiKey: options.apiKey,
      apiVersion: options.apiVersion ?? API_VERSION,
      retries: options.retries ?? 3,
      retryBaseMs: options.retryBaseMs ?? 250,
      timeoutMs: options.timeoutMs ?? 30_000,
      fetch: options.fetch ?? ((url, init) => globalThis.fetch(url, init)),
      userAgent: options.userAgent,
      idempotencyKeys: options.idempotencyKeys ?? true,
    };
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.baseUrl + path + queryString(options.query);
    const headers: Record<string, string> = {
      'miru-version': this.opts.apiVersion,
      'x-api-key': this.opts.apiKey,
      accept: options.text ? '*/*' : 'application/json',
    };
    if (this.opts.userAgent) headers['user-agent'] = this.opts.userAgent;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    // One key for every attempt of this call: the server replays the first attempt's answer.
    let idempotencyKey: string | null = null;
    if (method === 'POST') {
      idempotencyKey =
        options.idempotencyKey !== undefined
          ? options.idempotencyKey
          : this.opts.idempotencyKeys
            ? globalThis.crypto.randomUUID()
            : null;
      if (idempotencyKey !== null) headers['idempotency-key'] = idempotencyKey;
    }
    // A POST without a key may have run even when no answer came back; retrying it could run it twice.
    const retrySafe = method !== 'POST' || idempotencyKey !== null;

    for (let attempt = 0; ; attempt++) {
      const last = attempt >= this.opts.retries;
      let res: FetchAnswer;
      try {
        res = await this.opts.fetch(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(this.opts.timeoutMs),
        });
      } catch (err) {
        if (last || !(retrySafe || connectionRefused(err))) {
          const reason =
            err instanceof Error ? (err.cause as Error | undefined)?.message || err.message : err;
          throw new BosunNetworkError(`${method} ${url} failed: ${String(reason)}`, method, url, {
            cause: err,
          });
        }
        await sleep(this.backoff(attempt, null));
        continue;
      }
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) {
        if (options.text) return text as T;
        return (text ? JSON.parse(text) : undefined) as T;
      }
      if (!last && retrySafe && (res.status === 429 || res.status >= 500 || keyInUse(res.status, text))) {
        await sleep(this.backoff(attempt, res.headers.get('retry-after')));
        continue;
      }
      throw new BosunApiError(
        res.status,
        toEnvelope(res.status, text),
        method,
        path,
        res.headers.get('x-request-id') ?? undefined,
      );
    }
  }

  /** Exponential backoff with full jitter; a server's `Retry-After` (seconds) wins when given. */
  private backoff(attempt: number, retryAfter: string | null): number {
    const seconds = retryAfter === null ? Number.NaN : Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_BACKOFF_MS);
    const ceiling = Math.min(this.opts.retryBaseMs * 2 ** attempt, MAX_BACKOFF_MS);
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }
}

/** Nothing reached the server: the one network failure after which any request may be retried. */
function connectionRefused(err: unknown): boolean {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'ECONNREFUSED') return true;
  }
  return false;
}

/** The first attempt with this key is still running on the server (e.g. it outlived our timeout). */
function keyInUse(status: number, text: string): boolean {
  return status === 409 && toEnvelope(status, text).error.code === 'idempotency_key_in_use';
}

/** Arrays become repeated parameters (the list convention of the API); empty values are dropped. */
export function queryString(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) params.append(key, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
