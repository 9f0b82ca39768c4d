export {
  ApiKeys,
  BosunClient,
  type ClientOptions,
  ConfigInstances,
  ConfigSchemas,
  ConfigTypes,
  Deployments,
  Devices,
  GitCommits,
  Groups,
  Releases,
  Rollouts,
  WebhookEndpoints,
} from './client.ts';
export { BosunApiError, BosunNetworkError, type ErrorEnvelope } from './errors.ts';
export type { FetchAnswer, FetchInit, FetchLike } from './fetch-like.ts';
export type { components, operations, paths } from './generated/openapi.ts';
export { API_VERSION, type HttpOptions, HttpTransport, type PostOptions, queryString } from './http.ts';
export { collect, iteratePages, MAX_PAGE_SIZE } from './pagination.ts';
export type * from './types.ts';
