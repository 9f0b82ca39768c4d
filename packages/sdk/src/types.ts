import type { components, operations } from './generated/openapi.ts';

/**
 * Request and response types of each operation, read from the generated OpenAPI types by operationId.
 * An operationId the server does not serve yet resolves to loose types, so the client keeps compiling
 * while endpoints are added; `npm run sdk:generate` makes it precise.
 */
type Loose = {
  parameters: { query?: Record<string, any>; path?: Record<string, string> };
  requestBody?: { content: { 'application/json': any } };
  responses: { 200: { content: { 'application/json': any } } };
};

export type OperationId = keyof operations;
type Op<K extends string> = K extends keyof operations ? operations[K] : Loose;

/** The JSON body of the operation's 200 answer. */
export type ResponseOf<K extends string> =
  Op<K> extends {
    responses: { 200: { content: { 'application/json': infer R } } };
  }
    ? R
    : Op<K> extends { responses: { 200: { content: Record<string, infer R> } } }
      ? R
      : unknown;

/** The operation's JSON request body. */
export type BodyOf<K extends string> =
  Op<K> extends {
    requestBody?: { content: { 'application/json': infer B } };
  }
    ? B
    : never;

/**
 * The operation's query parameters; a multi-value parameter also takes a single value (it is sent
 * as one repeated parameter either way).
 */
export type QueryOf<K extends string> =
  Op<K> extends { parameters: { query?: infer Q } }
    ? [NonNullable<Q>] extends [never]
      ? Record<string, never>
      : { [P in keyof NonNullable<Q>]?: Widen<NonNullable<Q>[P]> }
    : Record<string, never>;
type Widen<T> = T extends readonly (infer E)[] ? T | E : T;

/** An item of a list operation's `data`. */
export type ItemOf<K extends string> =
  IsAny<ResponseOf<K>> extends true ? any : ResponseOf<K> extends { data: (infer I)[] } ? I : never;
type IsAny<T> = 0 extends 1 & T ? true : false;

/** Named resource types of the server's document (`Schema<'Device'>`). */
export type Schema<N extends string> = N extends keyof components['schemas'] ? components['schemas'][N] : any;

export type Principal = ResponseOf<'getSelf'>;
export type ConfigType = ResponseOf<'getConfigType'>;
export type ConfigSchema = ResponseOf<'getConfigSchema'>;
export type ConfigInstance = ResponseOf<'getConfigInstance'>;
export type Device = ResponseOf<'getDevice'>;
export type Deployment = ResponseOf<'getDeployment'>;
export type Group = ResponseOf<'getGroup'>;
export type Rollout = ResponseOf<'getRollout'>;
export type GitCommit = ResponseOf<'getGitCommit'>;
export type ApiKey = ResponseOf<'getApiKey'>;
export type CreatedApiKey = ResponseOf<'createApiKey'>;
export type WebhookEndpoint = ResponseOf<'getWebhookEndpoint'>;
export type CreatedWebhookEndpoint = ResponseOf<'createWebhookEndpoint'>;
export type WebhookDelivery = ResponseOf<'redeliverWebhook'>;
export type Release = ResponseOf<'getRelease'>;
export type ActivationToken = ResponseOf<'createDeviceActivationToken'>;
export type PingResult = ResponseOf<'pingDevice'>;

/** The list envelope every list operation answers with. */
export interface Page<T> {
  object: 'list';
  total_count?: number;
  limit: number;
  offset: number;
  has_more: boolean;
  data: T[];
}
