/**
 * The part of `fetch` the client uses. The global `fetch` satisfies it, and so does `nodeFetch`
 * (`@bosun/sdk/node-fetch`), which short-lived Node processes use instead (see there).
 */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string | undefined;
  signal?: AbortSignal;
}

/** An answer: status, headers and the body, read once. */
export interface FetchAnswer {
  status: number;
  ok: boolean;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export type FetchLike = (url: string, init: FetchInit) => Promise<FetchAnswer>;
