import { type HttpOptions, HttpTransport, type PostOptions } from './http.ts';
import { collect, iteratePages } from './pagination.ts';
import type { BodyOf, ItemOf, Page, QueryOf, ResponseOf } from './types.ts';

export type ClientOptions = HttpOptions;

const seg = (id: string) => encodeURIComponent(id);
/** The paging part of a list query. */
type PageQuery = { offset?: number | undefined; limit?: number | undefined };

/** List operations share one shape: one page, every item (async iterator), or all items at once. */
class ListResource<L extends string> {
  constructor(
    protected readonly http: HttpTransport,
    private readonly path: string,
  ) {}

  /** One page, as the server answers it. */
  list(query?: QueryOf<L>): Promise<ResponseOf<L> & Page<ItemOf<L>>> {
    return this.http.request('GET', this.path, { query });
  }

  /** Every item matching the query, fetched page by page as the loop advances. */
  iterate(query?: QueryOf<L>) {
    const { offset, limit }: PageQuery = query ?? {};
    return iteratePages(
      (page: PageQuery): Promise<Page<ItemOf<L>>> =>
        this.http.request('GET', this.path, { query: { ...query, ...page } }),
      { offset, limit },
    );
  }

  /** Every item matching the query, in one array. */
  listAll(query?: QueryOf<L>): Promise<ItemOf<L>[]> {
    return collect(this.iterate(query));
  }
}

type ExpandOnly = { expand?: string | string[] };

export class ConfigTypes extends ListResource<'listConfigTypes'> {
  constructor(http: HttpTransport) {
    super(http, '/config_types');
  }
  get(id: string): Promise<ResponseOf<'getConfigType'>> {
    return this.http.request('GET', `/config_types/${seg(id)}`);
  }
  create(body: BodyOf<'createConfigType'>, opts: PostOptions = {}): Promise<ResponseOf<'createConfigType'>> {
    return this.http.request('POST', '/config_types', { body, ...opts });
  }
  update(id: string, body: BodyOf<'updateConfigType'>): Promise<ResponseOf<'updateConfigType'>> {
    return this.http.request('PATCH', `/config_types/${seg(id)}`, { body });
  }
}

export class ConfigSchemas extends ListResource<'listConfigSchemas'> {
  constructor(http: HttpTransport) {
    super(http, '/config_schemas');
  }
  get(id: string, query?: QueryOf<'getConfigSchema'>): Promise<ResponseOf<'getConfigSchema'>> {
    return this.http.request('GET', `/config_schemas/${seg(id)}`, { query });
  }
  create(
    body: BodyOf<'createConfigSchema'>,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createConfigSchema'>> {
    return this.http.request('POST', '/config_schemas', { body, query, ...opts });
  }
}

export class ConfigInstances extends ListResource<'listConfigInstances'> {
  constructor(http: HttpTransport) {
    super(http, '/config_instances');
  }
  get(id: string, query?: QueryOf<'getConfigInstance'>): Promise<ResponseOf<'getConfigInstance'>> {
    return this.http.request('GET', `/config_instances/${seg(id)}`, { query });
  }
  create(
    body: BodyOf<'createConfigInstance'>,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createConfigInstance'>> {
    return this.http.request('POST', '/config_instances', { body, query, ...opts });
  }
  /** The instance's file exactly as stored (byte for byte), as text. */
  content(id: string): Promise<string> {
    return this.http.request('GET', `/config_instances/${seg(id)}/content`, { text: true });
  }
}

export class Devices extends ListResource<'listDevices'> {
  constructor(http: HttpTransport) {
    super(http, '/devices');
  }
  get(id: string): Promise<ResponseOf<'getDevice'>> {
    return this.http.request('GET', `/devices/${seg(id)}`);
  }
  create(body: BodyOf<'createDevice'>, opts: PostOptions = {}): Promise<ResponseOf<'createDevice'>> {
    return this.http.request('POST', '/devices', { body, ...opts });
  }
  update(id: string, body: BodyOf<'updateDevice'>): Promise<ResponseOf<'updateDevice'>> {
    return this.http.request('PATCH', `/devices/${seg(id)}`, { body });
  }
  createActivationToken(
    id: string,
    body: BodyOf<'createDeviceActivationToken'> = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createDeviceActivationToken'>> {
    return this.http.request('POST', `/devices/${seg(id)}/activation_token`, { body, ...opts });
  }
  ping(id: string, body: BodyOf<'pingDevice'>, opts: PostOptions = {}): Promise<ResponseOf<'pingDevice'>> {
    return this.http.request('POST', `/devices/${seg(id)}/ping`, { body, ...opts });
  }
  /** Extension (docs/decisions.md #77): the device's group and tags. */
  membership(id: string): Promise<ResponseOf<'getDeviceMembership'>> {
    return this.http.request('GET', `/devices/${seg(id)}/membership`);
  }
  /** Extension: replaces the device's tags. */
  setTags(id: string, body: BodyOf<'setDeviceTags'>): Promise<ResponseOf<'setDeviceTags'>> {
    return this.http.request('PUT', `/devices/${seg(id)}/tags`, { body });
  }
}

/** Groups (Miru `2026-08-17` shape) and membership (extension), docs/decisions.md #77. */
export class Groups extends ListResource<'listGroups'> {
  constructor(http: HttpTransport) {
    super(http, '/groups');
  }
  get(id: string, query?: QueryOf<'getGroup'>): Promise<ResponseOf<'getGroup'>> {
    return this.http.request('GET', `/groups/${seg(id)}`, { query });
  }
  create(
    body: BodyOf<'createGroup'>,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createGroup'>> {
    return this.http.request('POST', '/groups', { body, query, ...opts });
  }
  update(id: string, body: BodyOf<'updateGroup'>): Promise<ResponseOf<'updateGroup'>> {
    return this.http.request('PATCH', `/groups/${seg(id)}`, { body });
  }
  move(id: string, body: BodyOf<'moveGroup'>, opts: PostOptions = {}): Promise<ResponseOf<'moveGroup'>> {
    return this.http.request('POST', `/groups/${seg(id)}/move`, { body, ...opts });
  }
  assign(
    id: string,
    body: BodyOf<'assignGroupDevices'>,
    opts: PostOptions = {},
  ): Promise<ResponseOf<'assignGroupDevices'>> {
    return this.http.request('POST', `/groups/${seg(id)}/devices/assign`, { body, ...opts });
  }
  unassign(
    id: string,
    body: BodyOf<'unassignGroupDevices'>,
    opts: PostOptions = {},
  ): Promise<ResponseOf<'unassignGroupDevices'>> {
    return this.http.request('POST', `/groups/${seg(id)}/devices/unassign`, { body, ...opts });
  }
}

/** Extension (docs/decisions.md #78): staged rollouts, scopes `rollouts:*`. */
export class Rollouts extends ListResource<'listRollouts'> {
  constructor(http: HttpTransport) {
    super(http, '/rollouts');
  }
  get(id: string, query?: QueryOf<'getRollout'>): Promise<ResponseOf<'getRollout'>> {
    return this.http.request('GET', `/rollouts/${seg(id)}`, { query });
  }
  create(
    body: BodyOf<'createRollout'>,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createRollout'>> {
    return this.http.request('POST', '/rollouts', { body, query, ...opts });
  }
  pause(
    id: string,
    body: BodyOf<'pauseRollout'> = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'pauseRollout'>> {
    return this.http.request('POST', `/rollouts/${seg(id)}/pause`, { body, ...opts });
  }
  resume(
    id: string,
    body: BodyOf<'resumeRollout'> = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'resumeRollout'>> {
    return this.http.request('POST', `/rollouts/${seg(id)}/resume`, { body, ...opts });
  }
  abort(
    id: string,
    body: BodyOf<'abortRollout'> = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'abortRollout'>> {
    return this.http.request('POST', `/rollouts/${seg(id)}/abort`, { body, ...opts });
  }
  events(id: string, query?: QueryOf<'listRolloutEvents'>): Promise<ResponseOf<'listRolloutEvents'>> {
    return this.http.request('GET', `/rollouts/${seg(id)}/events`, { query });
  }
}

export class Deployments extends ListResource<'listDeployments'> {
  constructor(http: HttpTransport) {
    super(http, '/deployments');
  }
  get(id: string, query?: QueryOf<'getDeployment'>): Promise<ResponseOf<'getDeployment'>> {
    return this.http.request('GET', `/deployments/${seg(id)}`, { query });
  }
  create(
    body: BodyOf<'createDeployment'>,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createDeployment'>> {
    return this.http.request('POST', '/deployments', { body, query, ...opts });
  }
  deploy(
    id: string,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'deployDeployment'>> {
    return this.http.request('POST', `/deployments/${seg(id)}/deploy`, { query, ...opts });
  }
  archive(
    id: string,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'archiveDeployment'>> {
    return this.http.request('POST', `/deployments/${seg(id)}/archive`, { query, ...opts });
  }
  /** Extension beyond tetons (docs/decisions.md #7): drifted → staged. */
  restage(
    id: string,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'restageDeployment'>> {
    return this.http.request('POST', `/deployments/${seg(id)}/restage`, { query, ...opts });
  }
  drifts(id: string, query: ExpandOnly = {}): Promise<ResponseOf<'getDeploymentDrifts'>> {
    return this.http.request('GET', `/deployments/${seg(id)}/drifts`, { query });
  }
  /** Every status change of the deployment (who, when, from, to, message), oldest first. */
  events(id: string, query?: QueryOf<'listDeploymentEvents'>): Promise<ResponseOf<'listDeploymentEvents'>> {
    return this.http.request('GET', `/deployments/${seg(id)}/events`, { query });
  }
  /** Extension (docs/decisions.md #76): deploy an old deployment's config instances again. */
  redeploy(
    id: string,
    body: BodyOf<'redeployDeployment'> = {},
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'redeployDeployment'>> {
    return this.http.request('POST', `/deployments/${seg(id)}/redeploy`, { body, query, ...opts });
  }
  /** Every status change of the deployment, fetched page by page. */
  iterateEvents(id: string) {
    return iteratePages((q: QueryOf<'listDeploymentEvents'>) => this.events(id, q), {});
  }
}

export class GitCommits extends ListResource<'listGitCommits'> {
  constructor(http: HttpTransport) {
    super(http, '/git_commits');
  }
  get(id: string): Promise<ResponseOf<'getGitCommit'>> {
    return this.http.request('GET', `/git_commits/${seg(id)}`);
  }
  /** Idempotent: the same sha in the same repository returns the existing commit. */
  create(body: BodyOf<'createGitCommit'>, opts: PostOptions = {}): Promise<ResponseOf<'createGitCommit'>> {
    return this.http.request('POST', '/git_commits', { body, ...opts });
  }
}

export class Releases extends ListResource<'listReleases'> {
  constructor(http: HttpTransport) {
    super(http, '/releases');
  }
  get(id: string, query?: QueryOf<'getRelease'>): Promise<ResponseOf<'getRelease'>> {
    return this.http.request('GET', `/releases/${seg(id)}`, { query });
  }
  create(
    body: BodyOf<'createRelease'>,
    query: ExpandOnly = {},
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createRelease'>> {
    return this.http.request('POST', '/releases', { body, query, ...opts });
  }
}

/** Extension (docs/decisions.md #19): API keys, scope `api_keys:manage`. */
export class ApiKeys extends ListResource<'listApiKeys'> {
  constructor(http: HttpTransport) {
    super(http, '/api_keys');
  }
  get(id: string): Promise<ResponseOf<'getApiKey'>> {
    return this.http.request('GET', `/api_keys/${seg(id)}`);
  }
  /** The response carries the key's `secret`, the only time it is ever shown. */
  create(body: BodyOf<'createApiKey'>, opts: PostOptions = {}): Promise<ResponseOf<'createApiKey'>> {
    return this.http.request('POST', '/api_keys', { body, ...opts });
  }
  update(id: string, body: BodyOf<'updateApiKey'>): Promise<ResponseOf<'updateApiKey'>> {
    return this.http.request('PATCH', `/api_keys/${seg(id)}`, { body });
  }
  revoke(id: string, opts: PostOptions = {}): Promise<ResponseOf<'revokeApiKey'>> {
    return this.http.request('POST', `/api_keys/${seg(id)}/revoke`, { ...opts });
  }
}

/**
 * Extension: webhook endpoints (scope `webhooks:read|write`), their delivery log, and the custom
 * validation switch of a release (`deployment.validate`, scope `releases:read|write`).
 */
export class WebhookEndpoints extends ListResource<'listWebhookEndpoints'> {
  constructor(http: HttpTransport) {
    super(http, '/webhook_endpoints');
  }
  get(id: string): Promise<ResponseOf<'getWebhookEndpoint'>> {
    return this.http.request('GET', `/webhook_endpoints/${seg(id)}`);
  }
  /** The response carries the signing `secret`, the only time it is shown. */
  create(
    body: BodyOf<'createWebhookEndpoint'>,
    opts: PostOptions = {},
  ): Promise<ResponseOf<'createWebhookEndpoint'>> {
    return this.http.request('POST', '/webhook_endpoints', { body, ...opts });
  }
  update(id: string, body: BodyOf<'updateWebhookEndpoint'>): Promise<ResponseOf<'updateWebhookEndpoint'>> {
    return this.http.request('PATCH', `/webhook_endpoints/${seg(id)}`, { body });
  }
  delete(id: string): Promise<ResponseOf<'deleteWebhookEndpoint'>> {
    return this.http.request('DELETE', `/webhook_endpoints/${seg(id)}`);
  }
  /** A new secret (shown once); the previous one keeps signing for 24 h. */
  rotateSecret(id: string, opts: PostOptions = {}): Promise<ResponseOf<'rotateWebhookEndpointSecret'>> {
    return this.http.request('POST', `/webhook_endpoints/${seg(id)}/rotate_secret`, { ...opts });
  }
  test(id: string, opts: PostOptions = {}): Promise<ResponseOf<'sendWebhookTestEvent'>> {
    return this.http.request('POST', `/webhook_endpoints/${seg(id)}/test`, { ...opts });
  }
  deliveries(
    id: string,
    query?: QueryOf<'listWebhookDeliveries'>,
  ): Promise<ResponseOf<'listWebhookDeliveries'>> {
    return this.http.request('GET', `/webhook_endpoints/${seg(id)}/deliveries`, { query });
  }
  redeliver(id: string, deliveryId: string, opts: PostOptions = {}): Promise<ResponseOf<'redeliverWebhook'>> {
    return this.http.request(
      'POST',
      `/webhook_endpoints/${seg(id)}/deliveries/${seg(deliveryId)}/redeliver`,
      { ...opts },
    );
  }
  releaseValidation(releaseId: string): Promise<ResponseOf<'getReleaseCustomValidation'>> {
    return this.http.request('GET', `/releases/${seg(releaseId)}/custom_validation`);
  }
  setReleaseValidation(
    releaseId: string,
    body: BodyOf<'setReleaseCustomValidation'>,
  ): Promise<ResponseOf<'setReleaseCustomValidation'>> {
    return this.http.request('PUT', `/releases/${seg(releaseId)}/custom_validation`, { body });
  }
}

/**
 * Typed client of the Bosun platform API. Every request sends `Miru-Version` and the API key, every
 * POST a generated `Idempotency-Key`; it retries 429/5xx/network failures with backoff (a POST
 * without a key only a refused connection), and throws `BosunApiError` carrying the error envelope.
 */
export class BosunClient {
  readonly http: HttpTransport;
  readonly configTypes: ConfigTypes;
  readonly configSchemas: ConfigSchemas;
  readonly configInstances: ConfigInstances;
  readonly devices: Devices;
  readonly deployments: Deployments;
  readonly gitCommits: GitCommits;
  readonly releases: Releases;
  readonly apiKeys: ApiKeys;
  readonly webhookEndpoints: WebhookEndpoints;
  readonly groups: Groups;
  readonly rollouts: Rollouts;

  constructor(options: ClientOptions) {
    this.http = new HttpTransport(options);
    this.configTypes = new ConfigTypes(this.http);
    this.configSchemas = new ConfigSchemas(this.http);
    this.configInstances = new ConfigInstances(this.http);
    this.devices = new Devices(this.http);
    this.deployments = new Deployments(this.http);
    this.gitCommits = new GitCommits(this.http);
    this.releases = new Releases(this.http);
    this.apiKeys = new ApiKeys(this.http);
    this.webhookEndpoints = new WebhookEndpoints(this.http);
    this.groups = new Groups(this.http);
    this.rollouts = new Rollouts(this.http);
  }

  /** Who the API key belongs to (`GET /principal`, needs no scope). */
  principal(): Promise<ResponseOf<'getSelf'>> {
    return this.http.request('GET', '/principal');
  }
}
